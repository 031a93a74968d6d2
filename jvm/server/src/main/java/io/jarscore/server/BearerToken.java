package io.jarscore.server;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;

/**
 * The bearer token clients must send ({@code Authorization: Bearer <token>}, over HTTP and as gRPC
 * metadata). Tokens are compared as SHA-256 digests with {@link MessageDigest#isEqual}, which takes
 * the same time wherever two digests differ, and digests of any token have the same length, so the
 * time a refusal takes tells nothing of the token.
 */
public final class BearerToken {

    private final byte[] digest;

    private BearerToken(String token) {
        this.digest = sha256(token);
    }

    /** The token in {@code file} (its first line, surrounding whitespace trimmed). */
    public static BearerToken fromFile(Path file) throws IOException {
        String text = Files.readString(file, StandardCharsets.UTF_8).strip();
        int newline = text.indexOf('\n');
        String token = newline < 0 ? text : text.substring(0, newline).strip();
        if (token.isEmpty()) {
            throw new IOException("the token file " + file + " is empty");
        }
        return new BearerToken(token);
    }

    public static BearerToken of(String token) {
        return new BearerToken(token);
    }

    /** Whether an Authorization header (or gRPC metadata) value carries the token; null is refused. */
    public boolean accepts(String authorization) {
        if (authorization == null || authorization.length() < 7
            || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return false;
        }
        return MessageDigest.isEqual(digest, sha256(authorization.substring(7).strip()));
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }
}
