package io.jarscore.registry;

/** A request for a model that has no version serving (never loaded, unloaded, or the registry is closed). */
public class ModelNotServedException extends RuntimeException {

    public ModelNotServedException(String message) {
        super(message);
    }
}
