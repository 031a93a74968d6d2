package io.jarscore.registry;

import io.jarscore.runtime.ArtifactException;

/**
 * An artifact refused because trusted keys are configured and its signature does not vouch for it:
 * unsigned, signed by a key that is not trusted, or a signature that does not match its manifest.
 * The message names the artifact and the reason.
 */
public class ArtifactSignatureException extends ArtifactException {

    public ArtifactSignatureException(String message) {
        super(message);
    }

    public ArtifactSignatureException(String message, Throwable cause) {
        super(message, cause);
    }
}
