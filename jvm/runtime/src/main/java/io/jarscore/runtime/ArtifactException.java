package io.jarscore.runtime;

/** An artifact (PMML file, JAR, manifest) that cannot be read or loaded. */
public class ArtifactException extends RuntimeException {

    public ArtifactException(String message) {
        super(message);
    }

    public ArtifactException(String message, Throwable cause) {
        super(message, cause);
    }
}
