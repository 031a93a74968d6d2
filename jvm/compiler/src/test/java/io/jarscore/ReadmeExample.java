package io.jarscore;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.nio.file.Files;
import java.nio.file.Path;

/** The README's Java example (between its markers) and what it must print for Iris model version 2. */
final class ReadmeExample {

    static final String CLASS_NAME = "IrisService";
    private static final String START = "<!-- java-example:start -->";
    private static final String END = "<!-- java-example:end -->";

    private ReadmeExample() {
    }

    /** The Java source of the example; fails when the README has no such block. */
    static String source() throws Exception {
        String readme = Files.readString(Path.of(System.getProperty("jarscore.readme", "../../README.md")));
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

    /** Checks what the example printed when it scored the Iris artifact of TestRepository version 2. */
    static void assertScored(String output) {
        assertTrue(output.contains("iris v2 inputs"), output);
        assertTrue(output.contains("prediction setosa {Species=setosa, probability(setosa)="), output);
        assertTrue(output.contains("same from double[]: true"), output);
    }
}
