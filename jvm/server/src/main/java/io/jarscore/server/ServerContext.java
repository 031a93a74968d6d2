package io.jarscore.server;

import io.jarscore.registry.ModelRegistry;
import io.jarscore.server.infer.Inference;

/** What both protocols' handlers share: the scoring, the protection and the server's state. */
public final class ServerContext {

    public static final String NAME = "jarscore";

    private final Inference inference;
    private final Admission admission;
    private final ServerMetrics metrics;
    private final BearerToken token;
    private final boolean accessLog;
    private volatile boolean draining;

    ServerContext(Inference inference, Admission admission, ServerMetrics metrics, BearerToken token, boolean accessLog) {
        this.inference = inference;
        this.admission = admission;
        this.metrics = metrics;
        this.token = token;
        this.accessLog = accessLog;
    }

    public Inference inference() {
        return inference;
    }

    public ModelRegistry registry() {
        return inference.registry();
    }

    public Admission admission() {
        return admission;
    }

    public ServerMetrics metrics() {
        return metrics;
    }

    /** The token clients must present, or null when none is required. */
    public BearerToken token() {
        return token;
    }

    public boolean accessLog() {
        return accessLog;
    }

    /** Ready to score: not shutting down, and at least one model serves. */
    public boolean ready() {
        return !draining && !registry().modelNames().isEmpty();
    }

    void drain() {
        draining = true;
    }

    /** jarscore's version, from the server jar's manifest. */
    public static String version() {
        String version = ServerContext.class.getPackage().getImplementationVersion();
        return version == null ? "development" : version;
    }
}
