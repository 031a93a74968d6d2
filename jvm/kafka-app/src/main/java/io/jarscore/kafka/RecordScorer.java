package io.jarscore.kafka;

/**
 * How the app turns one input record into its result record: {@link ServingModel} scores with the
 * model in the app, {@link RemoteModel} through an Open Inference Protocol server. Both give the
 * same result record for the same model version.
 */
interface RecordScorer {

    /**
     * The result record (JSON) of one input record; {@code key} (may be null) routes A/B. A record
     * that cannot be scored throws a RuntimeException naming what is wrong, and goes to the dead
     * letters; {@link ScoringUnavailableException} means nothing was judged and the record must not
     * be passed over.
     */
    byte[] score(byte[] key, byte[] value);

    /** Scoring could not be attempted (a server out of reach): the record stays unprocessed. */
    final class ScoringUnavailableException extends RuntimeException {
        ScoringUnavailableException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
