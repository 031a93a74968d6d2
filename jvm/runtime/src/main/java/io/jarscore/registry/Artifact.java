package io.jarscore.registry;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import io.jarscore.runtime.ArtifactException;
import io.jarscore.runtime.Model;


/**
 * An artifact directory checked for completeness as {@code docs/artifact-format.md} says: with trusted
 * keys, its {@code signature.json} signs its manifest with one of them (see {@link TrustedKeys}); its
 * manifest parses with format 2 (or 1), names the folder's model and version when it is a repository's
 * version, lists {@code model.jar} and {@code model.pmml.gz} ({@code model.pmml} in format 1) among plain
 * file names, and every file it lists is there with
 * its size and sha256. The converter writes the manifest last and renames the directory into place, and
 * a copy in any file order fails one of these checks until its last byte is there, so an artifact that
 * passes is whole. Nothing is class-loaded here.
 */
public record Artifact(String name, int version, Path directory, Map<String, Object> manifest) {

    public static final String MANIFEST = "manifest.json";
    public static final String JAR = "model.jar";
    /** The PMML of a format 1 artifact. */
    public static final String PMML = "model.pmml";
    /** The PMML of a format 2 artifact, gzip-compressed. */
    public static final String PMML_GZ = "model.pmml.gz";
    /** The format convert writes; {@link #FORMATS} lists what is read. */
    public static final int FORMAT = 2;
    /** Per format, the files its manifest must list. */
    private static final Map<Integer, List<String>> FORMATS = Map.of(1, List.of(JAR, PMML), 2, List.of(JAR, PMML_GZ));

    public Path jar() {
        return directory.resolve(JAR);
    }

    /**
     * The log, made when a load first has something to say: a load that goes well says nothing, and
     * so does not set up the JDK's logging, 0.06 s of a cold start (the logger finder's search of the
     * class path, java.util.logging's configuration).
     */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(Artifact.class.getName());
    }

    /**
     * Loads the JAR into a class loader of its own and activates its fast kernel when the kernel
     * reproduces JPMML-Evaluator on the manifest's verification rows: in format 2 the outputs recorded
     * there at conversion (no JPMML pass at load), in format 1 JPMML interpreting the PMML. The kernel's
     * status (active, or why not) is logged and readable from {@link Model#kernelStatus()}. That the
     * model as a whole reproduces the recorded outputs is not checked here: see
     * {@link VerificationValidator#checkRecordedOutputs}.
     */
    public Model load() {
        Model model = Model.loadJar(jar());
        checkKernel(model);
        return model;
    }

    /** Verifies the kernel of a freshly loaded {@code model}; true when it reproduced the recorded outputs. */
    private boolean checkKernel(Model model) {
        boolean againstRecorded = false;
        if (manifest.get("verification") instanceof Map<?, ?> verification && verification.get("rows") instanceof List<?> rows) {
            List<Map<String, ?>> named = new ArrayList<>();
            for (Object row : rows) {
                if (row instanceof Map<?, ?> map) {
                    Map<String, Object> copy = new LinkedHashMap<>();
                    map.forEach((k, v) -> copy.put(String.valueOf(k), v));
                    named.add(copy);
                }
            }
            List<Map<String, ?>> recorded = new ArrayList<>();
            // Format 2 records the outputs of this JAR's kernel, checked against JPMML interpreting the
            // PMML at conversion; format 1 recorded the transpiled classes', whose float32 sums (XGBoost)
            // may be an ulp away: its kernel is checked against JPMML here, as when it was written.
            if (isInteger(manifest.get("format")) && ((Number) manifest.get("format")).intValue() >= 2
                && verification.get("outputs") instanceof List<?> outputs) {
                for (Object output : outputs) {
                    Map<String, Object> copy = new LinkedHashMap<>();
                    if (output instanceof Map<?, ?> map) {
                        map.forEach((k, v) -> copy.put(String.valueOf(k), v));
                    }
                    recorded.add(copy);
                }
            }
            againstRecorded = !named.isEmpty() && recorded.size() == named.size();
            model.verifyKernel(named, againstRecorded ? recorded : null);
        }
        // Quiet when all is well: an active kernel is not logged (kernelStatus() says so), a model
        // without one is logged at INFO, a refused kernel at WARNING.
        String status = model.kernelStatus();
        if (!status.equals("active")) {
            Log.LOG.log(status.startsWith("absent") ? System.Logger.Level.INFO : System.Logger.Level.WARNING,
                "{0} v{1}: fast kernel {2}", name, version, status);
        }
        return againstRecorded && status.equals("active");
    }

    /**
     * {@link #load} and then {@link VerificationValidator#checkRecordedOutputs} (unless the kernel became
     * active by reproducing those outputs): the model must reproduce
     * the outputs recorded for the manifest's verification rows, else it is closed and refused with an
     * {@link ArtifactException}. What {@link io.jarscore.Models#load} and the Spark stage run.
     */
    public Model loadChecked() {
        Model model = Model.loadJar(jar());
        try {
            // A kernel that became active by reproducing every recorded output of every verification
            // row has shown what the check would: the rows are not scored a second time.
            if (!checkKernel(model)) {
                VerificationValidator.checkRecordedOutputs(model, manifest, "artifact " + directory);
            }
        } catch (RuntimeException | Error e) {
            model.close();
            throw e;
        }
        return model;
    }

    /**
     * Reads and checks a repository's version directory {@code ROOT/name/version}: as {@link #read}, and
     * the manifest must name that model and version. Throws {@link VersionLoadException} saying what is wrong.
     */
    public static Artifact verify(String name, int version, Path directory, TrustedKeys trusted) {
        Path manifestFile = directory.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new VersionLoadException(name, version, directory, MANIFEST + " is missing: the version is"
                + " incomplete (still being written or copied?); it is loaded once its manifest is there", null);
        }
        try {
            return check(directory, name, version, trusted);
        } catch (ArtifactSignatureException e) {
            throw new VersionLoadException(name, version, directory, e.getMessage(), e);
        } catch (ArtifactException e) {
            throw new VersionLoadException(name, version, directory, e.getMessage(), e.getCause());
        }
    }

    /** {@link #verify(String, int, Path, TrustedKeys)} without a signature check. */
    public static Artifact verify(String name, int version, Path directory) {
        return verify(name, version, directory, TrustedKeys.none());
    }

    /**
     * Reads and checks a lone artifact directory (its folder names are not checked); the name and
     * version are the manifest's. With trusted keys, it must be signed by one of them
     * ({@link ArtifactSignatureException} if not). Throws {@link ArtifactException} saying what is wrong.
     */
    public static Artifact read(Path directory, TrustedKeys trusted) {
        return check(directory, null, 0, trusted);
    }

    /** {@link #read(Path, TrustedKeys)} without a signature check. */
    public static Artifact read(Path directory) {
        return read(directory, TrustedKeys.none());
    }

    private static Artifact check(Path directory, String expectedName, int expectedVersion, TrustedKeys trusted) {
        Path manifestFile = directory.resolve(MANIFEST);
        if (!Files.isRegularFile(manifestFile)) {
            throw new ArtifactException(directory + " is not a jarscore artifact: " + MANIFEST + " is missing"
                + " (an artifact is written by 'jarscore convert')");
        }
        byte[] manifestBytes;
        try {
            manifestBytes = Files.readAllBytes(manifestFile);
        } catch (IOException e) {
            throw new ArtifactException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        // The bytes checked are the bytes parsed: the manifest is read once.
        trusted.verify(directory, manifestBytes);
        Object parsed;
        try {
            parsed = io.jarscore.runtime.JsonTree.parse(manifestBytes);
        } catch (IOException e) {
            throw new ArtifactException("cannot read " + manifestFile + ": " + e.getMessage(), e);
        }
        if (!(parsed instanceof Map<?, ?> map) || !isInteger(map.get("format"))
            || !FORMATS.containsKey((int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, ((Number) map.get("format")).longValue())))) {
            throw new ArtifactException(manifestFile + ": unsupported manifest (expected format 1 or 2, got "
                + (parsed instanceof Map<?, ?> m ? describe(m.get("format")) : describe(parsed)) + "); an artifact of"
                + " another format is read by the jarscore that wrote it, or converted again");
        }
        List<String> required = FORMATS.get(((Number) map.get("format")).intValue());
        @SuppressWarnings("unchecked")
        Map<String, Object> manifest = (Map<String, Object>) map;
        if (expectedName != null) {
            expect(manifestFile, manifest, "name", expectedName, expectedName.equals(manifest.get("name")));
            Object version = manifest.get("version");
            expect(manifestFile, manifest, "version", expectedVersion,
                isInteger(version) && ((Number) version).longValue() == expectedVersion);
        }
        for (Map.Entry<String, Map<?, ?>> file : listedFiles(manifest, manifestFile, required).entrySet()) {
            checkFile(directory.resolve(file.getKey()), file.getValue());
        }
        if (expectedName != null) {
            return new Artifact(expectedName, expectedVersion, directory, manifest);
        }
        // A lone folder: the manifest's name and version, else what its folder names suggest (ROOT/name/version).
        Integer folderVersion = directory.getFileName() == null ? null
            : Repository.versionNumber(directory.getFileName().toString());
        Path parent = directory.getParent();
        String name = manifest.get("name") instanceof String s ? s
            : folderVersion != null && parent != null && parent.getFileName() != null ? parent.getFileName().toString()
            : String.valueOf(directory.getFileName());
        int version = isInteger(manifest.get("version")) ? ((Number) manifest.get("version")).intValue()
            : folderVersion != null ? folderVersion : 0;
        return new Artifact(name, version, directory, manifest);
    }

    private static void expect(Path manifestFile, Map<String, Object> manifest, String key, Object wanted, boolean same) {
        if (!same) {
            throw new ArtifactException(manifestFile + " says " + key + " " + describe(manifest.get(key))
                + ", but the folder holds " + key + " " + describe(wanted)
                + ": a copy of another version or model, refusing to load it");
        }
    }

    /** The manifest's {@code files}, each key a plain file name and each entry with a sha256 and a size. */
    private static Map<String, Map<?, ?>> listedFiles(Map<String, Object> manifest, Path manifestFile, List<String> required) {
        if (!(manifest.get("files") instanceof Map<?, ?> files)) {
            throw new ArtifactException(manifestFile + ": 'files' must map each file name to its sha256 and bytes");
        }
        for (String file : required) {
            if (!files.containsKey(file)) {
                throw new ArtifactException(manifestFile + ": 'files' does not list " + file);
            }
        }
        Map<String, Map<?, ?>> listed = new LinkedHashMap<>();
        for (Map.Entry<?, ?> file : files.entrySet()) {
            String fileName = String.valueOf(file.getKey());
            if (fileName.isEmpty() || fileName.equals(".") || fileName.equals("..") || fileName.contains("/")
                || fileName.contains("\\")) {
                throw new ArtifactException(manifestFile + ": 'files' names '" + fileName
                    + "', which is not a file of the artifact");
            }
            if (!(file.getValue() instanceof Map<?, ?> entry && entry.get("sha256") instanceof String
                && isInteger(entry.get("bytes")))) {
                throw new ArtifactException(manifestFile + ": the entry of " + fileName + " needs a 'sha256' string"
                    + " and a 'bytes' integer, got " + describe(file.getValue()));
            }
            listed.put(fileName, entry);
        }
        return listed;
    }

    /** Size first (a file still being copied fails at once), then the sha256. */
    private static void checkFile(Path file, Map<?, ?> entry) {
        BasicFileAttributes attributes;
        try {
            attributes = Files.readAttributes(file, BasicFileAttributes.class);
        } catch (NoSuchFileException e) {
            throw new ArtifactException(file + " is missing; the artifact is incomplete");
        } catch (IOException e) {
            throw new ArtifactException("cannot read " + file + ": " + e, e);
        }
        if (!attributes.isRegularFile()) {
            throw new ArtifactException(file + " is not a regular file; the artifact is incomplete");
        }
        Number bytes = (Number) entry.get("bytes");
        if (!BigInteger.valueOf(attributes.size()).equals(new BigInteger(bytes.toString()))) {
            throw new ArtifactException(file + " does not match its manifest (" + attributes.size() + " bytes, manifest says "
                + bytes + "); it is incomplete (still being copied?), modified or replaced, refusing to load it");
        }
        String actual;
        try {
            actual = sha256(file);
        } catch (java.io.UncheckedIOException e) {
            throw new ArtifactException(e.getMessage(), e.getCause());
        }
        if (!actual.equals(entry.get("sha256"))) {
            throw new ArtifactException(file + " does not match its manifest (sha256 " + actual + ", manifest says "
                + entry.get("sha256") + "); it was modified or replaced, refusing to load it");
        }
    }

    private static boolean isInteger(Object value) {
        return value instanceof Integer || value instanceof Long || value instanceof BigInteger
            || value instanceof Short || value instanceof Byte;
    }

    /** A value as the message shows it: strings quoted. */
    private static String describe(Object value) {
        return value instanceof String s ? "'" + s + "'" : String.valueOf(value);
    }

    /** The file's sha256, hex; an {@link java.io.UncheckedIOException} when it cannot be read. */
    public static String sha256(Path file) {
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
