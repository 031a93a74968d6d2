package io.jarscore.registry;

import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.DoubleAdder;
import java.util.concurrent.atomic.LongAdder;

/**
 * Per model and version: requests, errors, a latency histogram, shadow scoring; per model: load
 * failures and the current version. Read as a map or in Prometheus text format.
 */
public final class Metrics {

    /** Histogram bucket upper bounds in seconds (the same in Python's {@code scorer.metrics}). */
    public static final double[] BUCKETS = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
        0.1, 0.25, 0.5, 1.0, 2.5};

    private final Map<String, Map<Integer, Series>> series = new ConcurrentHashMap<>();
    private final Map<String, LongAdder> loadErrors = new ConcurrentHashMap<>();

    static final class Series {
        final LongAdder requests = new LongAdder();
        final LongAdder errors = new LongAdder();
        final LongAdder[] buckets = new LongAdder[BUCKETS.length];
        final DoubleAdder seconds = new DoubleAdder();
        final LongAdder shadowRequests = new LongAdder();
        final LongAdder shadowErrors = new LongAdder();
        final LongAdder shadowDropped = new LongAdder();

        Series() {
            for (int i = 0; i < buckets.length; i++) {
                buckets[i] = new LongAdder();
            }
        }

        void observe(long nanos) {
            double s = nanos / 1e9;
            seconds.add(s);
            for (int i = 0; i < BUCKETS.length; i++) {
                if (s <= BUCKETS[i]) {
                    buckets[i].increment();
                    break;
                }
            }
        }

        Map<String, Object> snapshot() {
            Map<String, Object> latency = new java.util.LinkedHashMap<>();
            Map<String, Long> cumulative = new java.util.LinkedHashMap<>();
            long running = 0;
            for (int i = 0; i < BUCKETS.length; i++) {
                running += buckets[i].sum();
                cumulative.put(label(BUCKETS[i]), running);
            }
            long count = requests.sum();
            cumulative.put("+Inf", count);
            latency.put("buckets", cumulative);
            latency.put("sum", seconds.sum());
            latency.put("count", count);
            Map<String, Object> out = new java.util.LinkedHashMap<>();
            out.put("requests", count);
            out.put("errors", errors.sum());
            out.put("latency_seconds", latency);
            out.put("shadow_requests", shadowRequests.sum());
            out.put("shadow_errors", shadowErrors.sum());
            out.put("shadow_dropped", shadowDropped.sum());
            return out;
        }
    }

    Series of(String model, int version) {
        return series.computeIfAbsent(model, m -> new ConcurrentHashMap<>()).computeIfAbsent(version, v -> new Series());
    }

    void recordRequest(String model, int version, long nanos, boolean failed) {
        Series s = of(model, version);
        s.requests.increment();
        if (failed) {
            s.errors.increment();
        }
        s.observe(nanos);
    }

    void recordLoadError(String model) {
        loadErrors.computeIfAbsent(model, m -> new LongAdder()).increment();
    }

    /**
     * {"models": {name: {"current_version": v or null, "load_errors": n, "versions": {version: {"requests",
     * "errors", "latency_seconds": {"buckets": {le: cumulative count}, "sum", "count"}, "shadow_requests",
     * "shadow_errors", "shadow_dropped"}}}}}
     */
    Map<String, Object> snapshot(Map<String, Integer> currentVersions) {
        Map<String, Object> models = new TreeMap<>();
        java.util.Set<String> names = new java.util.TreeSet<>(series.keySet());
        names.addAll(currentVersions.keySet());
        names.addAll(loadErrors.keySet());
        for (String name : names) {
            Map<Integer, Object> versions = new TreeMap<>();
            series.getOrDefault(name, Map.of()).forEach((version, s) -> versions.put(version, s.snapshot()));
            Map<String, Object> model = new java.util.LinkedHashMap<>();
            model.put("current_version", currentVersions.get(name));
            LongAdder errors = loadErrors.get(name);
            model.put("load_errors", errors == null ? 0L : errors.sum());
            model.put("versions", versions);
            models.put(name, model);
        }
        return Map.of("models", models);
    }

    /** The snapshot in the Prometheus text exposition format (version 0.0.4). */
    @SuppressWarnings("unchecked")
    static String prometheus(Map<String, Object> snapshot) {
        Map<String, Map<String, Object>> models = (Map<String, Map<String, Object>>) snapshot.get("models");
        StringBuilder out = new StringBuilder();
        header(out, "jarscore_requests_total", "counter", "Scoring requests per model and version.");
        eachVersion(models, (labels, v) -> sample(out, "jarscore_requests_total", labels, v.get("requests")));
        header(out, "jarscore_errors_total", "counter", "Scoring requests that raised an error.");
        eachVersion(models, (labels, v) -> sample(out, "jarscore_errors_total", labels, v.get("errors")));
        header(out, "jarscore_request_duration_seconds", "histogram", "Scoring latency in seconds.");
        eachVersion(models, (labels, v) -> {
            Map<String, Object> latency = (Map<String, Object>) v.get("latency_seconds");
            ((Map<String, Long>) latency.get("buckets")).forEach((le, count) ->
                sample(out, "jarscore_request_duration_seconds_bucket", labels + ",le=\"" + le + "\"", count));
            sample(out, "jarscore_request_duration_seconds_sum", labels, latency.get("sum"));
            sample(out, "jarscore_request_duration_seconds_count", labels, latency.get("count"));
        });
        header(out, "jarscore_shadow_requests_total", "counter", "Shadow scorings per model and version.");
        eachVersion(models, (labels, v) -> sample(out, "jarscore_shadow_requests_total", labels, v.get("shadow_requests")));
        header(out, "jarscore_shadow_errors_total", "counter", "Shadow scorings that raised an error.");
        eachVersion(models, (labels, v) -> sample(out, "jarscore_shadow_errors_total", labels, v.get("shadow_errors")));
        header(out, "jarscore_shadow_dropped_total", "counter", "Shadow scorings dropped because the queue was full.");
        eachVersion(models, (labels, v) -> sample(out, "jarscore_shadow_dropped_total", labels, v.get("shadow_dropped")));
        header(out, "jarscore_current_version", "gauge", "The version that serves requests without a routing key.");
        models.forEach((name, m) -> {
            if (m.get("current_version") != null) {
                sample(out, "jarscore_current_version", "model=\"" + escape(name) + "\"", m.get("current_version"));
            }
        });
        header(out, "jarscore_load_errors_total", "counter", "Versions that failed to load or were refused.");
        models.forEach((name, m) -> sample(out, "jarscore_load_errors_total", "model=\"" + escape(name) + "\"",
            m.get("load_errors")));
        return out.toString();
    }

    @SuppressWarnings("unchecked")
    private static void eachVersion(Map<String, Map<String, Object>> models,
                                    java.util.function.BiConsumer<String, Map<String, Object>> action) {
        models.forEach((name, m) -> ((Map<Integer, Map<String, Object>>) m.get("versions")).forEach((version, v) ->
            action.accept("model=\"" + escape(name) + "\",version=\"" + version + "\"", v)));
    }

    private static void header(StringBuilder out, String metric, String type, String help) {
        out.append("# HELP ").append(metric).append(' ').append(help).append('\n');
        out.append("# TYPE ").append(metric).append(' ').append(type).append('\n');
    }

    private static void sample(StringBuilder out, String metric, String labels, Object value) {
        out.append(metric).append('{').append(labels).append("} ").append(number(value)).append('\n');
    }

    private static String number(Object value) {
        if (value instanceof Double d) {
            return Double.toString(d);
        }
        return String.valueOf(value);
    }

    static String label(double bound) {
        return java.math.BigDecimal.valueOf(bound).toPlainString(); // 0.00025, 1.0: as Python's str()
    }

    private static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }
}
