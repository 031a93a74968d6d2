package io.jarscore.registry;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.jarscore.runtime.Model;

import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;

/**
 * One version directory checked for completeness: its manifest parses and the JAR's sha256 matches
 * the manifest. The converter writes the manifest last and renames the directory into place, and a
 * copy in any file order fails one of these checks until its last byte is there, so a version that
 * passes is whole. Nothing is class-loaded here.
 */
public record Artifact(String name, int version, Path directory, Map<String, Object> manifest) {

    public static final String MANIFEST = "manifest.json";
    public static final String JAR = "model.jar";
    public static final String PMML = "model.pmml";
    private static final ObjectMapper JSON = new ObjectMapper();

    public Path jar() {
        return directory.resolve(JAR);
    }

    private static final System.Logger LOG = System.getLogger(Artifact.class.getName());

    /**
     * Loads the JAR into a class loader of its own and activates its fast kernel when the kernel
     * reproduces JPMML-Evaluator on the manifest's verification rows; the kernel's status (active,
     * or why not) is logged and readable from {@link Model#kernelStatus()}.
     */
    public Model load() {
        Model model = Model.loadJar(jar());
        if (manifest.get("verification") instanceof Map<?, ?> verification && verification.get("rows") instanceof List<?> rows) {
            List<Map<String, ?>> named = new ArrayList<>();
            for (Object row : rows) {
                if (row instanceof Map<?, ?> map) {
                    Map<String, Object> copy = new LinkedHashMap<>();
                    map.forEach((k, v) -> copy.put(String.valueOf(k), v));
                    named.add(copy);
                }
            }
            model.verifyKernel(named);
        }
        String status = model.kernelStatus();
        LOG.log(status.equals("active") || status.startsWith("absent") ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
            "{0} v{1}: fast kernel {2}", name, version, status);
        return model;
    }

    /** Reads and checks {@code directory}; throws {@link VersionLoadException} saying what is wrong. */
    public static Artifact verify(String name, int version, Path directory) {
        Path manifestFile = directory.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new VersionLoadException(name, version, directory, MANIFEST + " is missing: the version is"
                + " incomplete (still being written or copied?); it is loaded once its manifest is there", null);
        }
        Map<String, Object> manifest;
        try {
            manifest = JSON.readValue(manifestFile.toFile(), new TypeReference<Map<String, Object>>() { });
        } catch (IOException e) {
            throw new VersionLoadException(name, version, directory, "cannot read " + MANIFEST + ": "
                + e.getMessage(), e);
        }
        Path jar = directory.resolve(JAR);
        if (!Files.isRegularFile(jar)) {
            throw new VersionLoadException(name, version, directory, JAR + " is missing: the version is incomplete",
                null);
        }
        String expected = expectedSha256(manifest);
        String actual;
        try {
            actual = sha256(jar);
        } catch (java.io.UncheckedIOException e) {
            throw new VersionLoadException(name, version, directory, e.getMessage(), e);
        }
        if (!actual.equals(expected)) {
            throw new VersionLoadException(name, version, directory, JAR + " does not match its manifest (sha256 "
                + actual + ", manifest says " + expected + "): the JAR is incomplete, modified or corrupt;"
                + " refusing to load it", null);
        }
        return new Artifact(name, version, directory, manifest);
    }

    @SuppressWarnings("unchecked")
    private static String expectedSha256(Map<String, Object> manifest) {
        if (manifest.get("files") instanceof Map<?, ?> files && files.get(JAR) instanceof Map<?, ?> entry) {
            return String.valueOf(((Map<String, Object>) entry).get("sha256"));
        }
        return "(no files.model.jar.sha256 entry)";
    }

    static String sha256(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 16];
            for (int n = in.read(buffer); n > 0; n = in.read(buffer)) {
                digest.update(buffer, 0, n);
            }
            return HexFormat.of().formatHex(digest.digest());
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }
}
