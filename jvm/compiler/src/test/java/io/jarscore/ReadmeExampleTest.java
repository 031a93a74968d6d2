package io.jarscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

import io.jarscore.registry.TestRepository;

/**
 * The README's Java example, compiled with javax.tools against the runtime module's classes and
 * dependencies (none of the compiler's, no test classes) and run as a plain Java program on a real
 * artifact. {@link RuntimeConsumerTest} builds the same text as a Maven project of its own.
 */
class ReadmeExampleTest {

    /** Jars only the compiler module brings; the example must not need them. */
    private static final List<String> COMPILER_ONLY = List.of("/org/jpmml/pmml-transpiler/", "/org/jpmml/pmml-translator/",
        "/org/jpmml/jpmml-codemodel/", "/org/glassfish/jaxb/codemodel/", "/org/jpmml/pmml-converter/", "/org/slf4j/");

    @Test
    void theReadmeExampleCompilesAndScores() throws Exception {
        Path work = Files.createTempDirectory("jarscore-readme-");
        try {
            Path artifact = TestRepository.publish(work.resolve("artifacts"), 2);
            Path src = Files.createDirectories(work.resolve("src"));
            Path file = Files.writeString(src.resolve(ReadmeExample.CLASS_NAME + ".java"), ReadmeExample.source());
            Path classes = Files.createDirectories(work.resolve("classes"));
            String libraryPath = runtimeClasspath();

            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            int status = javac.run(null, null, null, "-d", classes.toString(), "-cp", libraryPath, file.toString());
            assertEquals(0, status, "the README example does not compile against the runtime");

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process process = new ProcessBuilder(java, "-cp", classes + File.pathSeparator + libraryPath,
                ReadmeExample.CLASS_NAME, artifact.toString()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the example did not finish");
            assertEquals(0, process.exitValue(), output);
            ReadmeExample.assertScored(output);
        } finally {
            TestRepository.deleteTree(work);
        }
    }

    /** The test classpath without this module's classes, test classes, JUnit and the compiler-only jars. */
    private static String runtimeClasspath() {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        String ownClasses = Path.of("target", "classes").toAbsolutePath().toString().replace('\\', '/');
        List<String> kept = new ArrayList<>();
        for (String entry : full.split(File.pathSeparator)) {
            String e = entry.replace('\\', '/');
            boolean excluded = e.equals(ownClasses) || e.endsWith("/test-classes") || e.contains("/org/junit/")
                || e.contains("/org/opentest4j/") || e.contains("/org/apiguardian/")
                || COMPILER_ONLY.stream().anyMatch(e::contains);
            if (!excluded) {
                kept.add(entry);
            }
        }
        assertTrue(kept.stream().anyMatch(e -> e.contains("runtime")), "the runtime is not on " + Arrays.toString(full.split(File.pathSeparator)));
        return String.join(File.pathSeparator, kept);
    }
}
