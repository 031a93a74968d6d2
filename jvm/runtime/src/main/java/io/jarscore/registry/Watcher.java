package io.jarscore.registry;

import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * Polls the repository: every {@code interval} (measured from the end of the previous poll) it calls
 * {@link ModelRegistry#poll()}, which loads new complete versions under the version policy and
 * unloads retired ones. The poll runs on one daemon thread that sleeps in between.
 */
public final class Watcher implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Watcher.class.getName());

    private final ModelRegistry registry;
    private final Duration interval;
    private ScheduledExecutorService executor;
    private volatile Thread thread;

    public Watcher(ModelRegistry registry, Duration interval) {
        if (interval.isNegative() || interval.isZero()) {
            throw new IllegalArgumentException("the watcher's interval must be positive, got " + interval);
        }
        this.registry = registry;
        this.interval = interval;
    }

    public Duration interval() {
        return interval;
    }

    public synchronized boolean isRunning() {
        return executor != null;
    }

    public synchronized void start() {
        if (executor != null) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(runnable -> {
            thread = new Thread(runnable, "jarscore-watcher " + registry.repository().root());
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(this::poll, 0, interval.toNanos(), TimeUnit.NANOSECONDS);
    }

    /** Stops polling; waits for a reload in progress to finish (it is not interrupted mid-load). */
    public synchronized void stop() {
        if (executor == null) {
            return;
        }
        executor.shutdown();
        if (Thread.currentThread() == thread) {
            executor = null; // called from a callback during a poll: that poll is the last one
            return;
        }
        try {
            if (!executor.awaitTermination(5, TimeUnit.MINUTES)) {
                LOG.log(System.Logger.Level.WARNING, "the watcher's reload did not finish within 5 minutes");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        executor = null;
    }

    @Override
    public void close() {
        stop();
    }

    private void poll() {
        try {
            registry.poll();
        } catch (RuntimeException | LinkageError e) {
            // An exception would cancel the schedule; poll() has reported it already.
            LOG.log(System.Logger.Level.WARNING, "poll failed: " + e, e);
        }
    }
}
