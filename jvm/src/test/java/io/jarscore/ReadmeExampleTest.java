package io.jarscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;

import io.jarscore.registry.TestRepository;

/**
 * The README's Java example, taken from between its markers, compiled with javax.tools against the
 * library alone (no test classes, no Kafka) and run as a plain Java program on a real artifact.
 */
class ReadmeExampleTest {

    private static final String START = "<!-- java-example:start -->";
    private static final String END = "<!-- java-example:end -->";

    @Test
    void theReadmeExampleCompilesAndScores() throws Exception {
        String source = example();
        Path work = Files.createTempDirectory("jarscore-readme-");
        try {
            Path root = work.resolve("artifacts");
            Path artifact = TestRepository.publish(root, 2);
            Path src = Files.createDirectories(work.resolve("src"));
            Files.writeString(src.resolve("IrisService.java"), source);
            Path classes = Files.createDirectories(work.resolve("classes"));
            String libraryPath = libraryClasspath();

            JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
            int status = javac.run(null, null, null, "-d", classes.toString(), "-cp", libraryPath,
                src.resolve("IrisService.java").toString());
            assertEquals(0, status, "the README example does not compile against the library");

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process process = new ProcessBuilder(java, "-cp", classes + File.pathSeparator + libraryPath,
                "IrisService", artifact.toString()).redirectErrorStream(true).start();
            String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(process.waitFor(2, TimeUnit.MINUTES), "the example did not finish");
            assertEquals(0, process.exitValue(), output);
            assertTrue(output.contains("iris v2 inputs"), output);
            assertTrue(output.contains("prediction setosa {Species=setosa, probability(setosa)="), output);
            assertTrue(output.contains("same from double[]: true"), output);
        } finally {
            TestRepository.deleteTree(work);
        }
    }

    private static String example() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("jarscore.readme", "../README.md")));
        int start = readme.indexOf(START);
        int end = readme.indexOf(END);
        if (start < 0 || end < start) {
            fail("README.md has no " + START + " ... " + END + " block");
        }
        String block = readme.substring(start + START.length(), end).strip();
        if (!block.startsWith("```java") || !block.endsWith("```")) {
            fail("the README example block must be one ```java fence, got:\n" + block);
        }
        return block.substring("```java".length(), block.length() - 3);
    }

    /** The test classpath without test classes, test-only jars and the optional Kafka jars. */
    private static String libraryClasspath() {
        String full = System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"));
        List<String> kept = new ArrayList<>();
        for (String entry : full.split(File.pathSeparator)) {
            String e = entry.replace('\\', '/');
            boolean excluded = e.endsWith("/test-classes") || e.contains("/org/junit/") || e.contains("/org/apache/kafka/")
                || e.contains("/org/scala-lang/") || e.contains("/org/rocksdb/") || e.contains("/org/opentest4j/")
                || e.contains("/org/apiguardian/");
            if (!excluded) {
                kept.add(entry);
            }
        }
        assertTrue(kept.stream().anyMatch(e -> e.endsWith("classes")), "library classes not on " + Arrays.toString(full.split(File.pathSeparator)));
        return kept.stream().collect(Collectors.joining(File.pathSeparator));
    }
}
