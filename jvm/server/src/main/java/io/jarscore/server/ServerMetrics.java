package io.jarscore.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.function.IntSupplier;

import io.jarscore.registry.Metrics;
import io.jarscore.registry.ModelRegistry;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

/**
 * The server's own metrics (requests by protocol, endpoint, model and status; end-to-end latency
 * per model and version; refusals; the queue), exposed with the registry's scoring metrics at
 * {@code GET /metrics} in Prometheus text. A model label only ever names a model the server serves
 * (else it is empty), so clients sending made-up names cannot grow the series without bound.
 */
public final class ServerMetrics {

    private final PrometheusRegistry prometheus = new PrometheusRegistry();
    private final Counter requests = Counter.builder().name("jarscore_server_requests_total")
        .help("Requests answered, by protocol, endpoint, model and status (HTTP status or gRPC code).")
        .labelNames("protocol", "endpoint", "model", "code").register(prometheus);
    private final Histogram latency = Histogram.builder().name("jarscore_server_request_duration_seconds")
        .help("Scoring requests from arrival to answer, in seconds, per model and the version that scored them.")
        .labelNames("protocol", "endpoint", "model", "version").classicOnly().classicUpperBounds(Metrics.BUCKETS)
        .register(prometheus);
    private final Counter rejected = Counter.builder().name("jarscore_server_rejected_total")
        .help("Requests refused by the server's protection: queue_full, timeout, too_large, unauthorized, shutting_down.")
        .labelNames("protocol", "reason").register(prometheus);
    private final Counter shadowDisagreements = Counter.builder().name("jarscore_server_shadow_disagreements_total")
        .help("Shadow scorings whose outputs differ from the primary version's.")
        .labelNames("model", "version").register(prometheus);
    private final PrometheusTextFormatWriter writer = PrometheusTextFormatWriter.create();
    private volatile ModelRegistry registry;

    void gauges(IntSupplier queued, IntSupplier inFlight) {
        GaugeWithCallback.builder().name("jarscore_server_queue_depth").help("Scoring requests waiting for a thread.")
            .callback(callback -> callback.call(queued.getAsInt())).register(prometheus);
        GaugeWithCallback.builder().name("jarscore_server_in_flight").help("Scoring requests queued or running.")
            .callback(callback -> callback.call(inFlight.getAsInt())).register(prometheus);
    }

    void registry(ModelRegistry registry) {
        this.registry = registry;
    }

    /** A model name as a label value: itself if the server serves it, else empty. */
    private String model(String name) {
        ModelRegistry served = registry;
        return name == null || served == null || served.versions(name).isEmpty() ? "" : name;
    }

    public void request(String protocol, String endpoint, String model, String code) {
        requests.labelValues(protocol, endpoint, model(model), code).inc();
    }

    public void latency(String protocol, String endpoint, String model, int version, long nanos) {
        latency.labelValues(protocol, endpoint, model(model), version > 0 ? Integer.toString(version) : "")
            .observe(nanos / 1e9);
    }

    public void rejected(String protocol, String reason) {
        rejected.labelValues(protocol, reason).inc();
    }

    void shadowDisagreement(String model, int version) {
        shadowDisagreements.labelValues(model(model), Integer.toString(version)).inc();
    }

    /** Every metric in the Prometheus text format: the server's, then the registry's. */
    public String text() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            writer.write(out, prometheus.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        ModelRegistry served = registry;
        return out.toString(StandardCharsets.UTF_8) + (served == null ? "" : served.prometheus());
    }
}
