package io.jarscore.registry;

import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import io.jarscore.runtime.Model;

/**
 * One loaded version of a model, reference-counted: the registry holds one reference while the
 * version serves and every request holds one while it scores. {@link #retire()} drops the
 * registry's reference; the model (and its class loader) is closed when the last request releases.
 */
public final class ModelVersion {

    private final Artifact artifact;
    private final Model model;
    /** 1 for the registry while serving, +1 per request in flight; 0 means closed for good. */
    private final AtomicInteger references = new AtomicInteger(1);
    private final AtomicBoolean retired = new AtomicBoolean();
    private final CountDownLatch closed = new CountDownLatch(1);

    ModelVersion(Artifact artifact, Model model) {
        this.artifact = artifact;
        this.model = model;
    }

    public String name() {
        return artifact.name();
    }

    public int version() {
        return artifact.version();
    }

    public Path directory() {
        return artifact.directory();
    }

    public Map<String, Object> manifest() {
        return artifact.manifest();
    }

    /** The loaded model. Score through the registry, which keeps the version open meanwhile. */
    public Model model() {
        return model;
    }

    /** Takes a reference for one request; false once the version has closed. */
    boolean tryAcquire() {
        while (true) {
            int count = references.get();
            if (count == 0) {
                return false;
            }
            if (references.compareAndSet(count, count + 1)) {
                return true;
            }
        }
    }

    void release() {
        if (references.decrementAndGet() == 0) {
            model.close();
            closed.countDown();
        }
    }

    /** Stops serving: closes now if idle, else when the last request in flight releases. */
    void retire() {
        if (retired.compareAndSet(false, true)) {
            release();
        }
    }

    public boolean isRetired() {
        return retired.get();
    }

    public boolean isClosed() {
        return closed.getCount() == 0;
    }

    /** Waits until the version has closed (its requests drained); true if it did within the timeout. */
    public boolean awaitClosed(long timeout, TimeUnit unit) throws InterruptedException {
        return closed.await(timeout, unit);
    }

    @Override
    public String toString() {
        return name() + " v" + version();
    }
}
