package io.jarscore.kafka;

import java.nio.charset.StandardCharsets;

import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.registry.VersionPolicy;

/**
 * Reads the control topic as a global store, so that every instance of the app sees every
 * announcement (not only the instance owning a partition) and swaps its own registry. The store keeps
 * the last announcement per model, which an instance applies again when it starts.
 */
final class ControlProcessor implements Processor<byte[], byte[], Void, Void> {

    private static final System.Logger LOG = System.getLogger(ControlProcessor.class.getName());

    private final ModelRegistry registry;
    private final VersionPolicy configured;
    private KeyValueStore<String, byte[]> store;

    ControlProcessor(ModelRegistry registry, VersionPolicy configured) {
        this.registry = registry;
        this.configured = configured;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(ScoringTopology.CONTROL_STORE);
        try (KeyValueIterator<String, byte[]> it = store.all()) {
            it.forEachRemaining(entry -> apply(entry.value));
        }
    }

    @Override
    public void process(Record<byte[], byte[]> record) {
        Announcement announcement = apply(record.value());
        if (announcement != null) {
            store.put(announcement.model(), record.value());
        }
    }

    /** Applies one announcement; a bad or refused one is logged and the serving version stays. */
    private Announcement apply(byte[] value) {
        Announcement announcement;
        try {
            announcement = Announcement.parse(value == null ? new byte[0] : value);
        } catch (IllegalArgumentException e) {
            LOG.log(System.Logger.Level.WARNING, "ignoring control message: " + e.getMessage());
            return null;
        }
        try {
            announcement.applyTo(registry, configured);
            LOG.log(System.Logger.Level.INFO, "control: {0} now serves versions {1}", announcement.model(),
                registry.versions(announcement.model()));
        } catch (RuntimeException | LinkageError e) {
            LOG.log(System.Logger.Level.WARNING, "control message " + new String(value, StandardCharsets.UTF_8)
                + " not applied; " + announcement.model() + " keeps serving versions "
                + registry.versions(announcement.model()) + ": " + e.getMessage());
        }
        return announcement;
    }
}
