package io.jarscore.kafka;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AppArgumentsTest {

    @TempDir
    Path dir;

    @Test
    void helpWinsOverEverythingElse() throws Exception {
        assertTrue(AppArguments.parse("--help").help());
        assertTrue(AppArguments.parse("-h").help());
        assertTrue(AppArguments.parse("--bogus", "--help").help());
    }

    @Test
    void theConfigFileComesAsAnOptionOrAlone() throws Exception {
        Path file = Files.writeString(dir.resolve("app.properties"), "bootstrap.servers=b:9092\n");
        assertEquals(file, AppArguments.parse("--config", file.toString()).config());
        assertEquals(file, AppArguments.parse("--config=" + file).config());
        assertEquals(file, AppArguments.parse(file.toString()).config());
        AppArguments none = AppArguments.parse();
        assertNull(none.config(), "the environment alone is a valid config");
        assertFalse(none.help());
    }

    @Test
    void mistakesAreOneLineEach() {
        assertMessage("unknown option --bogus", "--bogus");
        assertMessage("option --config needs a file", "--config");
        assertMessage("config file not found: " + dir.resolve("absent.properties"),
            "--config", dir.resolve("absent.properties").toString());
        assertMessage("more than one config file: a and b", "a", "b");
    }

    private static void assertMessage(String expected, String... args) {
        AppArguments.UsageException e = assertThrows(AppArguments.UsageException.class, () -> AppArguments.parse(args));
        assertEquals(expected, e.getMessage());
        assertFalse(e.getMessage().contains("\n"));
    }
}
