package io.jarscore.registry;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.InvalidKeyException;
import java.security.KeyFactory;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.regex.Pattern;

import io.jarscore.runtime.ArtifactException;


/**
 * The Ed25519 public keys whose signatures make an artifact loadable ({@code docs/artifact-format.md},
 * "Signature"). An artifact's {@code signature.json} names a key by id (the first 16 hex digits of the
 * SHA-256 of its DER SubjectPublicKeyInfo) and holds its signature over {@code manifest.json}'s exact
 * bytes; the manifest lists every file's size and sha256, so a valid signature covers the whole
 * artifact. The cryptography is the JDK's ({@code java.security}, Ed25519 since Java 15).
 *
 * <p>{@link #none()} checks nothing. {@link #fromEnvironment()} reads the key files listed in the
 * system property {@code jarscore.trustedKeys}, else the environment variable
 * {@code JARSCORE_TRUSTED_KEYS}: the default of {@link io.jarscore.Models#load(Path)} and of
 * {@link ModelRegistry}.
 */
public final class TrustedKeys {

    public static final String SIGNATURE = "signature.json";
    public static final String ALGORITHM = "Ed25519";
    public static final int SIGNATURE_FORMAT = 1;
    public static final String PROPERTY = "jarscore.trustedKeys";
    public static final String ENVIRONMENT = "JARSCORE_TRUSTED_KEYS";
    private static final int KEY_ID_HEX_DIGITS = 16;
    private static final int SIGNATURE_BYTES = 64;
    private static final Pattern PEM = Pattern.compile(
        "-----BEGIN PUBLIC KEY-----([A-Za-z0-9+/=\\s]+)-----END PUBLIC KEY-----");
    private static final TrustedKeys NONE = new TrustedKeys(Map.of(), List.of());

    private final Map<String, PublicKey> keys;
    private final List<Path> files;

    private TrustedKeys(Map<String, PublicKey> keys, List<Path> files) {
        this.keys = keys;
        this.files = files;
    }

    /** No trusted keys: artifacts are checked for integrity only, signed or not. */
    public static TrustedKeys none() {
        return NONE;
    }

    /** The keys of these PEM public key files ({@code jarscore keygen}'s {@code .pub}). */
    public static TrustedKeys of(Path... files) {
        return of(Arrays.asList(files));
    }

    /** The keys of these PEM public key files; none at all checks nothing. */
    public static TrustedKeys of(Collection<Path> files) {
        Map<String, PublicKey> keys = new TreeMap<>();
        for (Path file : files) {
            PublicKey key = read(file);
            keys.put(keyId(key), key);
        }
        return keys.isEmpty() ? NONE : new TrustedKeys(Map.copyOf(keys), List.copyOf(files));
    }

    /**
     * The key files listed in {@code -Djarscore.trustedKeys}, else {@code $JARSCORE_TRUSTED_KEYS},
     * separated by ',' or the path separator; none if neither is set.
     */
    public static TrustedKeys fromEnvironment() {
        String listed = System.getProperty(PROPERTY);
        if (listed == null || listed.isBlank()) {
            listed = System.getenv(ENVIRONMENT);
        }
        return of(parseList(listed));
    }

    /** A list of key files as the property, the environment variable and the Kafka app's config give it. */
    public static List<Path> parseList(String listed) {
        List<Path> files = new ArrayList<>();
        if (listed != null) {
            for (String part : listed.split("[," + Pattern.quote(File.pathSeparator) + "]")) {
                if (!part.isBlank()) {
                    files.add(Path.of(part.strip()));
                }
            }
        }
        return files;
    }

    /** True when artifacts must be signed by one of these keys. */
    public boolean enabled() {
        return !keys.isEmpty();
    }

    /** The ids of the trusted keys. */
    public Set<String> keyIds() {
        return keys.keySet();
    }

    /** The files the keys were read from. */
    public List<Path> files() {
        return files;
    }

    /** A key's id: the first 16 hex digits of the SHA-256 of its DER SubjectPublicKeyInfo. */
    public static String keyId(PublicKey key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key.getEncoded());
            return HexFormat.of().formatHex(digest).substring(0, KEY_ID_HEX_DIGITS);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JVM has no SHA-256", e);
        }
    }

    /**
     * Refuses, with an {@link ArtifactSignatureException} naming the artifact and the reason, unless
     * {@code directory/signature.json} is a signature of {@code manifestBytes} by one of these keys;
     * returns that key's id. Nothing is checked when no key is trusted.
     */
    public String verify(Path directory, byte[] manifestBytes) {
        if (!enabled()) {
            return null;
        }
        Map<String, Object> entry = readSignature(directory);
        String keyId = (String) entry.get("key_id");
        PublicKey key = keys.get(keyId);
        if (key == null) {
            throw refused(directory, "it is signed by key " + keyId + ", which is not one of the trusted keys ("
                + String.join(", ", keys.keySet()) + ")");
        }
        boolean valid;
        try {
            Signature verifier = Signature.getInstance(ALGORITHM);
            verifier.initVerify(key);
            verifier.update(manifestBytes);
            valid = verifier.verify(Base64.getDecoder().decode((String) entry.get("signature")));
        } catch (SignatureException e) {
            valid = false;
        } catch (NoSuchAlgorithmException | InvalidKeyException e) {
            throw new IllegalStateException("this JVM cannot verify " + ALGORITHM + " signatures (Java 15 or newer can)", e);
        }
        if (!valid) {
            throw refused(directory, "its signature by key " + keyId + " does not match " + Artifact.MANIFEST
                + " (the manifest was changed after it was signed, or the signature is not that key's)");
        }
        return keyId;
    }

    private static Map<String, Object> readSignature(Path directory) {
        Path file = directory.resolve(SIGNATURE);
        Object parsed;
        try {
            parsed = io.jarscore.runtime.JsonTree.parse(Files.readAllBytes(file));
        } catch (NoSuchFileException e) {
            throw refused(directory, "it is not signed (" + SIGNATURE + " is missing) and trusted keys are"
                + " configured; sign it with 'jarscore sign'");
        } catch (IOException e) {
            throw refused(directory, "cannot read " + file + ": " + e.getMessage());
        }
        String problem = problem(parsed);
        if (problem != null) {
            throw refused(directory, file + " " + problem);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> entry = (Map<String, Object>) parsed;
        return entry;
    }

    private static String problem(Object parsed) {
        if (!(parsed instanceof Map<?, ?> entry)) {
            return "is not a JSON object";
        }
        if (!Integer.valueOf(SIGNATURE_FORMAT).equals(entry.get("format")) || !ALGORITHM.equals(entry.get("algorithm"))) {
            return "has format " + entry.get("format") + " and algorithm " + entry.get("algorithm")
                + "; expected format " + SIGNATURE_FORMAT + " and algorithm " + ALGORITHM;
        }
        if (!(entry.get("key_id") instanceof String)) {
            return "has no key_id string (got " + entry.get("key_id") + ")";
        }
        if (entry.get("signature") instanceof String signature) {
            try {
                if (Base64.getDecoder().decode(signature).length == SIGNATURE_BYTES) {
                    return null;
                }
            } catch (IllegalArgumentException e) {
                // reported below
            }
        }
        return "has no 64-byte base64 signature";
    }

    private static ArtifactSignatureException refused(Path directory, String reason) {
        return new ArtifactSignatureException("artifact " + directory + " is refused: " + reason);
    }

    /** An Ed25519 public key from a PEM file ({@code -----BEGIN PUBLIC KEY-----}). */
    static PublicKey read(Path file) {
        String text;
        try {
            text = Files.readString(file, StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new ArtifactException("cannot read trusted key " + file + ": " + e, e);
        }
        var pem = PEM.matcher(text);
        if (!pem.find()) {
            throw new ArtifactException("trusted key " + file + " is not a PEM public key (-----BEGIN PUBLIC KEY-----);"
                + " give the .pub file written by 'jarscore keygen'");
        }
        try {
            byte[] der = Base64.getMimeDecoder().decode(pem.group(1));
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(der));
        } catch (IllegalArgumentException | GeneralSecurityException e) {
            throw new ArtifactException("trusted key " + file + " is not an " + ALGORITHM + " public key: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return enabled() ? "trusted keys " + keys.keySet() + " from " + files : "no trusted keys";
    }
}
