package io.jarscore.kafka;

import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.api.RecordMetadata;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.Result;

/**
 * Scores each input record with the version serving now and forwards the JSON result (same key) to
 * the output sink; a record that cannot be parsed or scored goes to the dead-letter sink with the
 * error and its original bytes. Nothing here throws on bad input, so no record is dropped or stops the app.
 */
final class ScoreProcessor implements Processor<byte[], byte[], byte[], byte[]> {

    private static final System.Logger LOG = System.getLogger(ScoreProcessor.class.getName());

    private final ModelRegistry registry;
    private final ServingModel serving;
    private ProcessorContext<byte[], byte[]> context;

    ScoreProcessor(ModelRegistry registry, ServingModel serving) {
        this.registry = registry;
        this.serving = serving;
    }

    @Override
    public void init(ProcessorContext<byte[], byte[]> context) {
        this.context = context;
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        byte[] scored;
        try {
            Map<String, Object> row = RecordCodec.parseRow(record.value(), serving.inputs());
            String routingKey = record.key() == null ? null : new String(record.key(), StandardCharsets.UTF_8);
            Result<Map<String, Object>> result = registry.score(serving.name(), routingKey, row);
            scored = RecordCodec.result(result, serving.targets());
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
