package io.jarscore.transpile;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.function.Supplier;
import java.util.zip.ZipEntry;
import java.util.zip.ZipInputStream;
import java.util.zip.ZipOutputStream;

import io.jarscore.kernel.KernelCompiler;
import io.jarscore.kernel.SourceCompiler;
import io.jarscore.kernel.UnsupportedPmmlException;
import io.jarscore.runtime.ModelFields;
import org.dmg.pmml.PMML;

/**
 * The fast kernel of a JAR: its classes, its tree tables, {@value #KERNEL_ENTRY} naming the kernel
 * class and the model's fields ({@link ModelFields#ENTRY}), or {@value #ABSENT_ENTRY} saying why there
 * is none, added to the JPMML-Transpiler JAR.
 */
public final class KernelBuild {

    public static final String KERNEL_ENTRY = "META-INF/jarscore-kernel";
    public static final String ABSENT_ENTRY = "META-INF/jarscore-kernel-absent";

    /** The kernel's JAR entries (path to bytes), or why there is no kernel. */
    record Built(Map<String, byte[]> entries, String reason) {
    }

    private KernelBuild() {
    }

    /**
     * Generates the kernel's sources from {@code pmml} now (keeping them in {@code sourcesDir}),
     * before JPMML-Transpiler rewrites the PMML object in place, and returns the rest of the build,
     * compiling them, to run while the transpiled classes compile.
     */
    static Callable<Built> prepare(PMML pmml, String kernelClass, Path sourcesDir, Supplier<ModelFields> fields)
            throws IOException {
        KernelCompiler.Result result;
        try {
            result = KernelCompiler.compile(pmml, kernelClass);
        } catch (UnsupportedPmmlException e) {
            return () -> new Built(null, e.getMessage());
        } catch (RuntimeException e) {
            return () -> new Built(null, "kernel compiler failed: " + e);
        }
        if (sourcesDir != null) {
            for (Map.Entry<String, String> e : result.sources().entrySet()) {
                Path file = sourcesDir.resolve(e.getKey().replace('.', '/') + ".java");
                Files.createDirectories(file.getParent());
                Files.writeString(file, e.getValue());
            }
        }
        return () -> {
            try {
                Map<String, byte[]> entries = new LinkedHashMap<>(SourceCompiler.compile(result.sources()));
                entries.putAll(result.resources());
                entries.put(KERNEL_ENTRY, kernelClass.getBytes(StandardCharsets.UTF_8));
                ModelFields recorded = fields.get();
                if (recorded != null) {
                    entries.put(ModelFields.ENTRY, recorded.toJson());
                }
                return new Built(entries, null);
            } catch (UnsupportedPmmlException e) {
                return new Built(null, e.getMessage());
            } catch (RuntimeException e) {
                return new Built(null, "kernel compiler failed: " + e);
            }
        };
    }

    /**
     * Writes {@code transpiled} (JPMML-Transpiler's JAR, without its sources; null for a kernel-only
     * JAR) plus the kernel to {@code out}.
     */
    static void write(Built kernel, byte[] transpiled, OutputStream out) throws IOException {
        try (ZipOutputStream zip = new ZipOutputStream(out);
             ZipInputStream in = new ZipInputStream(new ByteArrayInputStream(transpiled == null ? new byte[0] : transpiled))) {
            for (ZipEntry entry = in.getNextEntry(); entry != null; entry = in.getNextEntry()) {
                if (entry.getName().endsWith(".java")) {
                    // JPMML-Transpiler archives its Java sources beside the classes; nothing reads
                    // them at run time, and for a large forest they were a third of the JAR
                    // (--keep-sources keeps them in a folder of their own).
                    continue;
                }
                zip.putNextEntry(new ZipEntry(entry.getName()));
                in.transferTo(zip);
                zip.closeEntry();
            }
            Map<String, byte[]> entries = kernel.entries() != null ? kernel.entries()
                : Map.of(ABSENT_ENTRY, kernel.reason().getBytes(StandardCharsets.UTF_8));
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
                zip.closeEntry();
            }
        }
    }
}
