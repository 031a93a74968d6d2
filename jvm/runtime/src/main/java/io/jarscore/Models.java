package io.jarscore;

import java.nio.file.Files;
import java.nio.file.Path;

import io.jarscore.registry.Artifact;
import io.jarscore.registry.Repository;
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
     * by {@code jarscore convert}. The JAR is checked against the manifest's sha256 before any of
     * its classes load; a modified or incomplete artifact is refused with an {@link ArtifactException}.
     */
    public static ScoringModel load(Path artifactDir) {
        Path dir = artifactDir.toAbsolutePath().normalize();
        if (!Files.isDirectory(dir)) {
            throw new ArtifactException("artifact directory not found: " + dir
                + " (expected ROOT/<name>/<version>/ written by 'jarscore convert')");
        }
        String dirName = dir.getFileName().toString();
        Integer dirVersion = dir.getParent() == null ? null : Repository.versionNumber(dirName);
        String guessedName = dirVersion == null || dir.getParent().getFileName() == null
            ? dirName : dir.getParent().getFileName().toString();
        Artifact artifact;
        try {
            artifact = Artifact.verify(guessedName, dirVersion == null ? 0 : dirVersion, dir);
        } catch (RuntimeException e) {
            throw new ArtifactException(e.getMessage(), e);
        }
        String name = artifact.manifest().get("name") instanceof String s ? s : guessedName;
        int version = artifact.manifest().get("version") instanceof Number n ? n.intValue()
            : dirVersion == null ? 0 : dirVersion;
        return new ArtifactModel(name, version, artifact.load());
    }
}
