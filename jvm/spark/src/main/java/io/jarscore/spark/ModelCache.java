package io.jarscore.spark;

import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import io.jarscore.registry.Artifact;
import io.jarscore.runtime.ArtifactException;

/**
 * The artifacts loaded in this JVM, one per manifest: every task of an executor (and the driver)
 * shares one loaded, checked model. The key is the sha256 of {@code manifest.json}, which pins the
 * sha256 of every file of the artifact, so a copy of the same artifact at another path (each
 * executor's own {@code SparkFiles} folder) is the same entry and a changed artifact is a new one.
 * The last {@link #CAPACITY} artifacts stay; an older one is dropped (not closed: a task may still
 * score with it) and its class loader goes with the last reference.
 */
public final class ModelCache {

    static final int CAPACITY = 16;

    private static final Map<String, Slot> SLOTS = new LinkedHashMap<>(16, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Slot> eldest) {
            return size() > CAPACITY;
        }
    };

    private ModelCache() {
    }

    /** The artifact in {@code dir}, loaded and checked on this JVM's first call for its manifest. */
    public static LoadedArtifact get(Path dir, boolean kernel) {
        String sha = manifestSha256(dir);
        String key = sha + (kernel ? "" : " jpmml");
        Slot slot;
        synchronized (SLOTS) {
            slot = SLOTS.computeIfAbsent(key, k -> new Slot());
        }
        try {
            return slot.get(dir, sha, kernel);
        } catch (RuntimeException | Error e) {
            synchronized (SLOTS) {
                SLOTS.remove(key, slot); // a refused artifact is checked again on the next call
            }
            throw e;
        }
    }

    /** The sha256 of the artifact's manifest.json, hex. */
    public static String manifestSha256(Path dir) {
        Path manifest = dir.resolve(Artifact.MANIFEST);
        if (!Files.isRegularFile(manifest)) {
            throw new ArtifactException(dir + " is not a jarscore artifact: " + Artifact.MANIFEST + " is missing"
                + " (an artifact is written by 'jarscore convert')");
        }
        try {
            return Artifact.sha256(manifest);
        } catch (UncheckedIOException e) {
            throw new ArtifactException(e.getMessage(), e.getCause());
        }
    }

    /** One artifact's entry: loaded once, by the first task that asks; the others wait for it. */
    private static final class Slot {
        private LoadedArtifact loaded;

        synchronized LoadedArtifact get(Path dir, String sha, boolean kernel) {
            if (loaded == null) {
                loaded = LoadedArtifact.load(dir, sha, kernel);
            }
            return loaded;
        }
    }
}
