package io.jarscore.transpile;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import io.jarscore.kernel.KernelCompiler;
import io.jarscore.kernel.SourceCompiler;
import io.jarscore.kernel.UnsupportedPmmlException;
import org.dmg.pmml.PMML;

/**
 * Copies the JPMML-Transpiler JAR and adds the fast kernel: its classes, its tree tables and
 * {@value #KERNEL_ENTRY} naming the kernel class, or {@value #ABSENT_ENTRY} saying why there is none.
 */
public final class KernelBuild {

    public static final String KERNEL_ENTRY = "META-INF/jarscore-kernel";
    public static final String ABSENT_ENTRY = "META-INF/jarscore-kernel-absent";

    private KernelBuild() {
    }

    /** Writes {@code transpiled} plus the kernel to {@code out}; keeps the kernel sources in {@code sourcesDir}. */
    static void addTo(Path pmmlFile, String kernelClass, byte[] transpiled, OutputStream out, Path sourcesDir) throws IOException {
        Map<String, byte[]> classes = null;
        String reason = null;
        try {
            PMML pmml;
            try (java.io.InputStream pmmlIn = Files.newInputStream(pmmlFile)) {
                pmml = org.jpmml.model.PMMLUtil.unmarshal(pmmlIn);
            } catch (Exception e) {
                throw new IOException("cannot read " + pmmlFile + ": " + e.getMessage(), e);
            }
            KernelCompiler.Result result = KernelCompiler.compile(pmml, kernelClass);
            if (sourcesDir != null) {
                for (Map.Entry<String, String> e : result.sources().entrySet()) {
                    Path file = sourcesDir.resolve(e.getKey().replace('.', '/') + ".java");
                    Files.createDirectories(file.getParent());
                    Files.writeString(file, e.getValue());
                }
            }
            classes = new java.util.LinkedHashMap<>(SourceCompiler.compile(result.sources()));
            classes.putAll(result.resources());
        } catch (UnsupportedPmmlException e) {
            reason = e.getMessage();
        } catch (RuntimeException e) {
            reason = "kernel compiler failed: " + e;
        }
        try (ZipOutputStream zip = new ZipOutputStream(out);
             ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(transpiled))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                zip.putNextEntry(new ZipEntry(entry.getName()));
                in.transferTo(zip);
                zip.closeEntry();
            }
            if (classes != null) {
                for (Map.Entry<String, byte[]> e : classes.entrySet()) {
                    zip.putNextEntry(new ZipEntry(e.getKey()));
                    zip.write(e.getValue());
                    zip.closeEntry();
                }
                zip.putNextEntry(new ZipEntry(KERNEL_ENTRY));
                zip.write(kernelClass.getBytes(StandardCharsets.UTF_8));
            } else {
                zip.putNextEntry(new ZipEntry(ABSENT_ENTRY));
                zip.write(reason.getBytes(StandardCharsets.UTF_8));
            }
            zip.closeEntry();
        }
    }
}
