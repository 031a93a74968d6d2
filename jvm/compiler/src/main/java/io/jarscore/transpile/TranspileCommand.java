package io.jarscore.transpile;

import io.jarscore.runtime.Model;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;

import com.sun.codemodel.JCodeModel;
import org.dmg.pmml.PMML;
import org.jpmml.model.PMMLUtil;
import org.jpmml.transpiler.TranspilerUtil;

/**
 * PMML file to JAR, through JPMML-Transpiler. The JAR holds the PMML class model as compiled Java
 * classes plus a service entry, and is loaded by {@link io.jarscore.runtime.Model#loadJar}. Beside them
 * it holds the fast kernel ({@link KernelBuild}) when the model is one the kernel compiler supports.
 *
 * <pre>java -cp "jvm/bundle/target/jars/*" io.jarscore.transpile.TranspileCommand --pmml model.pmml --jar model.jar --class-name pkg.Name [--sources DIR]</pre>
 */
public final class TranspileCommand {

    private TranspileCommand() {
    }

    public static void main(String[] args) {
        try {
            Options options = Options.parse(args);
            transpile(options.pmml, options.jar, options.className, options.sources);
        } catch (UsageException e) {
            System.err.println("jarscore transpile: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
        } catch (Exception | LinkageError e) {
            System.err.println("jarscore transpile: failed: " + Model.describe(e));
            System.exit(1);
        }
    }

    /**
     * Transpiles {@code pmmlFile} into {@code jarFile}. The JAR is written next to its destination and
     * moved into place only when complete. When {@code sourcesDir} is not null the generated Java sources
     * are kept there for debugging.
     */
    public static void transpile(Path pmmlFile, Path jarFile, String className, Path sourcesDir) throws Exception {
        PMML pmml;
        try (InputStream in = Files.newInputStream(pmmlFile)) {
            pmml = PMMLUtil.unmarshal(in);
        }
        JCodeModel codeModel = TranspilerUtil.translate(pmml, className);
        if (sourcesDir != null) {
            Files.createDirectories(sourcesDir);
            codeModel.build(sourcesDir.toFile(), (java.io.PrintStream) null);
        }
        TranspilerUtil.compile(codeModel, new java.io.PrintStream(java.io.OutputStream.nullOutputStream()));
        Path absolute = jarFile.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path partial = Files.createTempFile(absolute.getParent(), ".transpile-", ".jar.partial");
        try {
            // createTempFile makes the file owner-only; an artifact is meant to be read by services too.
            Files.setPosixFilePermissions(partial, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            java.io.ByteArrayOutputStream archive = new java.io.ByteArrayOutputStream();
            TranspilerUtil.archive(codeModel, archive);
            try (OutputStream out = Files.newOutputStream(partial)) {
                // JPMML-Transpiler rewrites the PMML object in place, so the kernel reads the file afresh.
                KernelBuild.addTo(pmmlFile, className + "Kernel", archive.toByteArray(), out, sourcesDir);
            }
            Files.move(partial, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static final class Options {
        static final String USAGE =
            "usage: --pmml FILE --jar FILE --class-name NAME [--sources DIR]";

        Path pmml;
        Path jar;
        String className;
        Path sources;

        static Options parse(String[] args) throws UsageException {
            Options options = new Options();
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (i + 1 >= args.length) {
                    throw new UsageException("option " + flag + " needs a value");
                }
                String value = args[++i];
                switch (flag) {
                    case "--pmml" -> options.pmml = Path.of(value);
                    case "--jar" -> options.jar = Path.of(value);
                    case "--class-name" -> options.className = value;
                    case "--sources" -> options.sources = Path.of(value);
                    default -> throw new UsageException("unknown option " + flag);
                }
            }
            if (options.pmml == null || options.jar == null || options.className == null) {
                throw new UsageException("--pmml, --jar and --class-name are required");
            }
            if (!Files.isRegularFile(options.pmml)) {
                throw new UsageException("PMML file not found: " + options.pmml);
            }
            return options;
        }
    }
}
