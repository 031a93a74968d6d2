package io.jarscore.runtime;

/**
 * Bad input or a model that cannot produce a result for a row. The message names the row, the
 * field and the value, and says what was expected.
 */
public class ScoringException extends RuntimeException {

    public ScoringException(String message) {
        super(message);
    }

    public ScoringException(String message, Throwable cause) {
        super(message, cause);
    }
}
