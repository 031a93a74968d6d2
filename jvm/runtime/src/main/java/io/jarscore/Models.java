package io.jarscore;

import java.nio.file.Files;
import java.nio.file.Path;

import io.jarscore.registry.Artifact;
import io.jarscore.registry.TrustedKeys;
import io.jarscore.runtime.ArtifactException;

/**
 * The entry point of the scoring library: {@code ScoringModel m = Models.load(Path.of("artifacts/churn/3"))}.
 * For versions that change while a service runs, use {@link io.jarscore.registry.ModelRegistry}.
 */
public final class Models {

    private Models() {
    }

    /**
     * Loads an artifact directory ({@code manifest.json}, {@code model.jar}, {@code model.pmml}) written
     * by {@code jarscore convert}, as {@code docs/artifact-format.md} says: every file the manifest lists
     * is checked against its size and sha256 before any class of the JAR loads, and the loaded model
     * must reproduce the outputs recorded for the manifest's verification rows. A modified, incomplete
     * or misbehaving artifact is refused with an {@link ArtifactException}. The folder's own name is not
     * checked (that is the repository's rule, see {@link io.jarscore.registry.ModelRegistry}). The trusted
     * keys are those of {@link TrustedKeys#fromEnvironment()} ({@code -Djarscore.trustedKeys} or
     * {@code $JARSCORE_TRUSTED_KEYS}); without any, signatures are not checked.
     */
    public static ScoringModel load(Path artifactDir) {
        return load(artifactDir, TrustedKeys.fromEnvironment());
    }

    /**
     * {@link #load(Path)} with these trusted keys: when there are any, an artifact loads only if one of
     * them signed its manifest; an unsigned one, one signed by another key or one changed after it was
     * signed is refused with an {@link io.jarscore.registry.ArtifactSignatureException} before any class
     * of it loads.
     */
    public static ScoringModel load(Path artifactDir, TrustedKeys trusted) {
        Path dir = artifactDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new ArtifactException("artifact directory not found: " + dir
                + " (expected ROOT/<name>/<version>/ written by 'jarscore convert')");
        }
        Artifact artifact = Artifact.read(dir, trusted);
        return new ArtifactModel(artifact.name(), artifact.version(), artifact.loadChecked());
    }
}
