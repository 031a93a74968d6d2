package io.jarscore;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.jarscore.registry.TestRepository;

/**
 * A Java service that declares only {@code io.jarscore:jarscore-runtime} builds and scores: a
 * throwaway Maven project holding the README's example, built by the {@code mvn} on PATH against
 * the local repository this build uses (Maven Central for what it lacks), then run with {@code java -cp} on a real artifact.
 * It needs the runtime installed there first ({@value #INSTALL}); without it the test fails.
 */
class RuntimeConsumerTest {

    static final String INSTALL = "cd jvm && mvn -q -B -DskipTests install";

    @Test
    void aProjectDependingOnTheRuntimeAloneBuildsAndScores() throws Exception {
        String version = property("jarscore.version");
        Path repository = Path.of(property("jarscore.localRepository"));
        requireInstalled(repository, version);
        Path work = Files.createTempDirectory("jarscore-consumer-");
        try {
            Path artifact = TestRepository.publish(work.resolve("artifacts"), 2);
            Path project = Files.createDirectories(work.resolve("iris-service"));
            Files.writeString(project.resolve("pom.xml"), ConsumerPom.text(version));
            Path sources = Files.createDirectories(project.resolve("src/main/java"));
            Files.writeString(sources.resolve(ReadmeExample.CLASS_NAME + ".java"), ReadmeExample.source());

            Path classpathFile = work.resolve("classpath.txt");
            // Online, as a service's own build is: pmml-model asks for jackson-annotations by a version
            // range, and a local repository that this build filled holds no metadata to resolve it from.
            run(project, List.of(maven(), "-B", "-q", "-Dmaven.repo.local=" + repository, "-Dmaven.test.skip=true",
                "package", "dependency:build-classpath", "-Dmdep.outputFile=" + classpathFile), "mvn package");
            String dependencies = Files.readString(classpathFile).strip();
            assertTrue(dependencies.contains("jarscore-runtime-" + version + ".jar"), dependencies);
            assertTrue(!dependencies.contains("pmml-transpiler") && !dependencies.contains("py4j")
                && !dependencies.contains("kafka"), "the runtime brings more than it needs: " + dependencies);

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Path jar = project.resolve("target/iris-service-1.jar");
            String output = run(project, List.of(java, "-cp", jar + File.pathSeparator + dependencies,
                ReadmeExample.CLASS_NAME, artifact.toString()), "the example");
            ReadmeExample.assertScored(output);
        } finally {
            TestRepository.deleteTree(work);
        }
    }

    private static void requireInstalled(Path repository, String version) {
        Path jar = repository.resolve("io/jarscore/jarscore-runtime/" + version + "/jarscore-runtime-" + version + ".jar");
        Path parent = repository.resolve("io/jarscore/jarscore-parent/" + version + "/jarscore-parent-" + version + ".pom");
        if (!Files.isRegularFile(jar) || !Files.isRegularFile(parent)) {
            fail("io.jarscore:jarscore-runtime:" + version + " is not installed in " + repository
                + "; run `" + INSTALL + "` before `mvn test`");
        }
    }

    /** The mvn on PATH: the one a developer building a service would use. */
    private static String maven() {
        String name = System.getProperty("os.name").startsWith("Windows") ? "mvn.cmd" : "mvn";
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path candidate = Path.of(dir, name);
            if (!dir.isEmpty() && Files.isExecutable(candidate)) {
                return candidate.toString();
            }
        }
        return fail("no mvn on PATH; this test builds a Maven project");
    }

    /** Runs {@code command} in {@code dir} with this JVM's Java; returns its output, fails on a non-zero exit. */
    private static String run(Path dir, List<String> command, String what) throws IOException, InterruptedException {
        ProcessBuilder builder = new ProcessBuilder(new ArrayList<>(command)).directory(dir.toFile()).redirectErrorStream(true);
        builder.environment().put("JAVA_HOME", System.getProperty("java.home"));
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!process.waitFor(5, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            fail(what + " did not finish in 5 minutes:\n" + output);
        }
        assertEquals(0, process.exitValue(), what + " failed: " + command + "\n" + output);
        return output;
    }

    private static String property(String name) {
        String value = System.getProperty(name);
        if (value == null || value.isBlank()) {
            fail("system property " + name + " is not set; run the tests through Maven (the parent pom sets it)");
        }
        return value;
    }
}
