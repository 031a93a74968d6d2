package io.jarscore.kafka;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

/**
 * Scores each input record ({@link RecordScorer}: embedded or remote) and forwards the JSON result
 * (same key) to the output sink; a record that cannot be parsed or scored goes to the dead-letter
 * sink with the error and its original bytes. Nothing here throws on bad input, so no record is
 * dropped or stops the app. Only a scorer that could not score at all (a remote server out of reach
 * past its retries) throws: the stream thread fails and its replacement resumes from the last
 * committed offsets, so the record is scored later rather than lost or dead-lettered.
 */
final class ScoreProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private static final System.Logger LOG = System.getLogger(ScoreProcessor.class.getName());

    private final RecordScorer scorer;
    private ProcessorContext<byte[], byte[]> context;

    ScoreProcessor(RecordScorer scorer) {
        this.scorer = scorer;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        byte[] scored;
        try {
            scored = scorer.score(record.key(), record.value());
        } catch (RecordScorer.ScoringUnavailableException e) {
            throw e;
        } catch (RuntimeException | LinkageError e) {
            RecordMetadata where = context.recordMetadata().orElse(null);
            LOG.log(System.Logger.Level.DEBUG, "dead letter: {0}", e.getMessage());
            byte[] letter = RecordCodec.deadLetter(e, record.value(), where == null ? null : where.topic(),
                where == null ? -1 : where.partition(), where == null ? -1 : where.offset());
            context.forward(record.withValue(letter), ScoringTopology.DEAD_LETTERS);
            return;
        }
        context.forward(record.withValue(scored), ScoringTopology.SCORES);
    }
}
