package io.jarscore.registry;

/**
 * A {@code beforeSwap} check on a loaded candidate version before it serves. Returning false or
 * throwing refuses it, and the versions already serving stay.
 */
@FunctionalInterface
public interface Validator {

    boolean accept(ModelVersion candidate) throws Exception;
}
