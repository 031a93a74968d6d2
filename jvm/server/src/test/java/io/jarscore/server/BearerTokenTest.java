package io.jarscore.server;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BearerTokenTest {

    @TempDir
    Path dir;

    @Test
    void acceptsOnlyTheTokenFromTheFileAsABearerCredential() throws IOException {
        BearerToken token = BearerToken.fromFile(Files.writeString(dir.resolve("token"), "s3cret-token\n"));
        assertTrue(token.accepts("Bearer s3cret-token"));
        assertTrue(token.accepts("bearer s3cret-token "), "the scheme is case-insensitive (RFC 6750)");
        assertFalse(token.accepts("Bearer s3cret-tokem"));
        assertFalse(token.accepts("Bearer s3cret-token-and-more"));
        assertFalse(token.accepts("Basic s3cret-token"));
        assertFalse(token.accepts("s3cret-token"));
        assertFalse(token.accepts(null));
        assertFalse(token.accepts("Bearer "));
    }

    @Test
    void anEmptyTokenFileIsRefused() throws IOException {
        Path empty = Files.writeString(dir.resolve("empty"), "  \n");
        assertThrows(IOException.class, () -> BearerToken.fromFile(empty));
    }
}
