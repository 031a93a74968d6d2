package io.jarscore.transpile;

import io.jarscore.runtime.Model;
import io.jarscore.runtime.ModelFields;
import io.jarscore.runtime.PmmlLimits;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.FutureTask;
import java.util.concurrent.atomic.AtomicReference;

import com.sun.codemodel.JCodeModel;
import org.dmg.pmml.PMML;
import org.jpmml.model.PMMLUtil;
import org.jpmml.transpiler.TranspilerUtil;

/**
 * PMML file to JAR, loaded by {@link io.jarscore.runtime.Model#loadJar}. When the kernel compiler
 * supports the model, the JAR holds the fast kernel ({@link KernelBuild}) and the fields it records,
 * and JPMML-Evaluator interprets the PMML beside the JAR for the rows the kernel leaves to it; with
 * {@code --transpiled-classes}, or when there is no kernel, it also holds JPMML-Transpiler's classes
 * (the PMML class model compiled, plus a service entry), which then take those rows.
 *
 * <pre>java -cp "jvm/bundle/target/jars/*" io.jarscore.transpile.TranspileCommand --pmml model.pmml --jar model.jar --class-name pkg.Name [--transpiled-classes] [--sources DIR]</pre>
 */
public final class TranspileCommand {

    private TranspileCommand() {
    }

    public static void main(String[] args) {
        try {
            Options options = Options.parse(args);
            transpile(options.pmml, options.jar, options.className, options.sources, options.transpiledClasses);
        } catch (UsageException e) {
            System.err.println("jarscore transpile: " + e.getMessage());
            System.err.println(Options.USAGE);
            System.exit(2);
        } catch (Exception | LinkageError e) {
            System.err.println("jarscore transpile: failed: " + failure(e));
            System.exit(1);
        }
    }

    /** Why {@link #transpile} failed, in one message: for this command's stderr and for callers in-process. */
    public static String failure(Throwable e) {
        // javac's diagnostics are bounded already and would be cut short by describe.
        return e instanceof CompileFailedException ? e.getMessage() : Model.describe(e);
    }

    /**
     * Writes {@code pmmlFile}'s JAR to {@code jarFile}: the kernel alone when it builds (and records the
     * model's fields) unless {@code transpiledClasses}, else the kernel, or why there is none, beside
     * JPMML-Transpiler's classes. The JAR is written next to its destination and moved into place only
     * when complete. When {@code sourcesDir} is not null the generated Java sources are kept there for
     * debugging. Returns whether the JAR holds JPMML-Transpiler's classes.
     */
    public static boolean transpile(Path pmmlFile, Path jarFile, String className, Path sourcesDir,
                                    boolean transpiledClasses) throws Exception {
        // Limits before JAXB: a hostile file is refused in one streaming pass, not after a gigabyte of heap.
        PmmlLimits.check(pmmlFile);
        PMML pmml;
        try (InputStream in = PmmlLimits.open(pmmlFile)) {
            pmml = PMMLUtil.unmarshal(in);
        }
        // One parse for both: the kernel's sources first, as JPMML-Transpiler rewrites the PMML in place;
        // javac then compiles the kernel on another thread while the transpiled classes compile here.
        ModelFields fields = recordedFields(pmml, pmmlFile);
        Callable<KernelBuild.Built> kernelBuild = KernelBuild.prepare(pmml, className + "Kernel", sourcesDir, () -> fields);
        if (!transpiledClasses && fields != null) {
            KernelBuild.Built kernel = kernelBuild.call();
            if (kernel.entries() != null) {
                writeAtomically(jarFile, out -> KernelBuild.write(kernel, null, out));
                return false;
            }
            kernelBuild = () -> kernel;   // no kernel: JPMML-Transpiler's classes take every row
        }
        ExecutorService background = Executors.newSingleThreadExecutor(r -> {
            Thread thread = new Thread(r, "jarscore-kernel-javac");
            thread.setDaemon(true);
            return thread;
        });
        try {
            Future<KernelBuild.Built> kernel = background.submit(kernelBuild);
            JCodeModel codeModel = TranspilerUtil.translate(pmml, className);
            if (sourcesDir != null) {
                Files.createDirectories(sourcesDir);
                codeModel.build(sourcesDir.toFile(), (java.io.PrintStream) null);
            }
            compile(codeModel);
            java.io.ByteArrayOutputStream archive = new java.io.ByteArrayOutputStream();
            TranspilerUtil.archive(codeModel, archive);
            writeAtomically(jarFile, out -> KernelBuild.write(kernel.get(), archive.toByteArray(), out));
            return true;
        } finally {
            background.shutdownNow();
        }
    }

    /**
     * Starts writing {@code pmmlFile}'s JAR as {@link #transpile} does without transpiled classes,
     * and returns with JPMML-Evaluator interpreting the PMML, both from one parse of it: for
     * conversion, which checks the JAR against that model and scores with it while the JAR is made.
     * The kernel's sources are generated from the document as parsed; javac then compiles them on a
     * thread of its own while JPMML-Evaluator's optimizers change the document and its model is
     * built, and nothing else reads the document. A failure to read the PMML is
     * {@link Model#loadPmml(Path)}'s. Where there is no kernel, JPMML-Transpiler's classes take every
     * row, from a second parse (it rewrites the document it reads).
     */
    public static OneParse startFromOneParse(Path pmmlFile, Path jarFile, String className, Path sourcesDir)
            throws Exception {
        AtomicReference<Callable<KernelBuild.Built>> kernel = new AtomicReference<>();
        CompletableFuture<ModelFields> fields = new CompletableFuture<>();
        FutureTask<Void> jar = new FutureTask<>(() -> {
            // The kernel alone when it compiles and the model's fields are recorded with it, else
            // (inputs JPMML-Transpiler folds into lists, or no kernel) JPMML-Transpiler's classes.
            KernelBuild.Built built = kernel.get().call();
            if (built.entries() != null && fields.join() != null) {
                writeAtomically(jarFile, out -> KernelBuild.write(built, null, out));
            } else {
                transpile(pmmlFile, jarFile, className, sourcesDir, false);
            }
            return null;
        });
        Thread writer = new Thread(jar, "jarscore-kernel-javac");
        writer.setDaemon(true);
        Model interpreted = null;
        try {
            interpreted = Model.loadPmml(pmmlFile, pmml -> {
                kernel.set(KernelBuild.prepare(pmml, className + "Kernel", sourcesDir, fields::join));
                writer.start();
            });
            fields.complete(Model.describe(interpreted, pmmlFile));
        } catch (Exception | Error e) {
            fields.completeExceptionally(e);   // before the join: the writer may be waiting for them
            stop(jar, writer);
            if (interpreted != null) {
                interpreted.close();
            }
            throw e;
        }
        return new OneParse(interpreted, jar, writer);
    }

    /** Interrupts {@code jar} and returns when {@code writer} has ended (at once if it never started). */
    private static void stop(FutureTask<Void> jar, Thread writer) throws InterruptedException {
        jar.cancel(true);
        writer.join();
    }

    /** What {@link #startFromOneParse} started: the interpreted model now, the JAR when written. */
    public static final class OneParse {
        private final Model interpreted;
        private final FutureTask<Void> jar;
        private final Thread writer;

        OneParse(Model interpreted, FutureTask<Void> jar, Thread writer) {
            this.interpreted = interpreted;
            this.jar = jar;
            this.writer = writer;
        }

        /** JPMML-Evaluator interpreting the PMML; the caller closes it. */
        public Model interpreted() {
            return interpreted;
        }

        /** Waits until the JAR is written; throws what writing it threw. */
        public void awaitJar() throws Exception {
            try {
                jar.get();
            } catch (ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception exception) {
                    throw exception;
                }
                throw (Error) cause;
            }
        }

        /**
         * Interrupts the JAR's writing and returns when its thread has ended, so that nothing writes
         * into the JAR's folder after this (a failed conversion then removes that folder whole).
         */
        public void cancel() throws InterruptedException {
            stop(jar, writer);
        }
    }

    /**
     * The fields callers see, recorded with the kernel so that a load scores without the transpiled
     * classes; null (the JAR then loads them first) when JPMML-Evaluator cannot describe the model.
     */
    private static ModelFields recordedFields(PMML pmml, Path pmmlFile) {
        try {
            return Model.describe(pmml, pmmlFile);
        } catch (RuntimeException e) {
            return null;
        }
    }

    interface Writer {
        void write(OutputStream out) throws Exception;
    }

    /** Writes {@code file} next to its destination and moves it into place only when complete. */
    static void writeAtomically(Path file, Writer writer) throws Exception {
        Path absolute = file.toAbsolutePath();
        Files.createDirectories(absolute.getParent());
        Path partial = Files.createTempFile(absolute.getParent(), ".transpile-", ".jar.partial");
        try {
            // createTempFile makes the file owner-only; an artifact is meant to be read by services too.
            Files.setPosixFilePermissions(partial, java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
            try (OutputStream out = Files.newOutputStream(partial)) {
                writer.write(out);
            }
            Files.move(partial, absolute, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(partial);
        }
    }

    static final int MAX_DIAGNOSTIC_LINES = 20;
    static final int MAX_DIAGNOSTIC_CHARS = 4096;

    /**
     * Compiles the transpiled classes. javac's diagnostics go to a buffer (bounded: a model that fails
     * to compile can produce thousands of them), and their first lines are the failure's message.
     */
    static void compile(JCodeModel codeModel) throws IOException {
        BoundedBuffer diagnostics = new BoundedBuffer(4 * MAX_DIAGNOSTIC_CHARS);
        try (PrintStream out = new PrintStream(diagnostics, true, StandardCharsets.UTF_8)) {
            try {
                TranspilerUtil.compile(codeModel, out);
            } catch (IOException e) {
                out.flush();
                throw new CompileFailedException(firstLines(diagnostics.text()), e);
            }
        }
    }

    /** The first {@link #MAX_DIAGNOSTIC_LINES} lines of {@code text}, at most {@link #MAX_DIAGNOSTIC_CHARS} characters. */
    static String firstLines(String text) {
        String trimmed = text.strip();
        if (trimmed.isEmpty()) {
            return "(javac reported nothing)";
        }
        String[] lines = trimmed.split("\\R");
        StringBuilder kept = new StringBuilder();
        int count = 0;
        for (String line : lines) {
            if (count == MAX_DIAGNOSTIC_LINES || kept.length() + line.length() > MAX_DIAGNOSTIC_CHARS) {
                break;
            }
            if (count > 0) {
                kept.append('\n');
            }
            kept.append(line);
            count++;
        }
        if (count == 0) {
            kept.append(lines[0], 0, MAX_DIAGNOSTIC_CHARS);
            count = 1;
        }
        if (count < lines.length) {
            kept.append("\n... (").append(lines.length - count).append(" more lines)");
        }
        return kept.toString();
    }

    /** javac failed on the transpiled code; the message holds its first diagnostics. */
    static final class CompileFailedException extends IOException {
        CompileFailedException(String diagnostics, Throwable cause) {
            super("javac failed on the transpiled code:\n" + diagnostics, cause);
        }
    }

    /** Keeps the first {@code capacity} bytes written and counts, but drops, the rest. */
    static final class BoundedBuffer extends OutputStream {
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private final int capacity;

        BoundedBuffer(int capacity) {
            this.capacity = capacity;
        }

        @Override
        public void write(int b) {
            if (kept.size() < capacity) {
                kept.write(b);
            }
        }

        @Override
        public void write(byte[] b, int off, int len) {
            int room = Math.min(len, capacity - kept.size());
            if (room > 0) {
                kept.write(b, off, room);
            }
        }

        String text() {
            return kept.toString(StandardCharsets.UTF_8);
        }
    }

    static final class UsageException extends Exception {
        UsageException(String message) {
            super(message);
        }
    }

    static final class Options {
        static final String USAGE =
            "usage: --pmml FILE --jar FILE --class-name NAME [--transpiled-classes] [--sources DIR]";

        Path pmml;
        Path jar;
        String className;
        Path sources;
        boolean transpiledClasses;

        static Options parse(String[] args) throws UsageException {
            Options options = new Options();
            for (int i = 0; i < args.length; i++) {
                String flag = args[i];
                if (flag.equals("--transpiled-classes")) {
                    options.transpiledClasses = true;
                    continue;
                }
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
