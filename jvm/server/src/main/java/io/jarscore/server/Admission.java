package io.jarscore.server;

import java.time.Duration;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.BiConsumer;
import java.util.function.Supplier;

import io.jarscore.server.infer.RequestException;

/**
 * Where scoring work runs: a fixed pool of threads behind a bounded queue. At most threads + queue
 * requests hold a place at once; a request that finds none is refused at once (HTTP 429, gRPC
 * RESOURCE_EXHAUSTED), so memory stays bounded however hard clients push. The REST side takes its
 * place as soon as a request's headers arrive ({@link #tryReserve}), before reading its body. A
 * request not answered within the timeout gets a timeout answer (work still queued then is
 * skipped). Every request gets exactly one answer.
 */
public final class Admission implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(Admission.class.getName());

    private final ThreadPoolExecutor pool;
    private final ScheduledThreadPoolExecutor timer;
    private final long timeoutNanos;
    private final int queue;
    private final int capacity;
    /** Places held: requests reserved, queued or running. */
    private final AtomicInteger inFlight = new AtomicInteger();
    private final ServerMetrics metrics;
    private volatile boolean closing;

    public Admission(int threads, int queue, Duration timeout, ServerMetrics metrics) {
        AtomicInteger counter = new AtomicInteger();
        this.capacity = threads + queue;
        // room for every place: a thread that has just released its place may not have taken the next task yet
        this.pool = new ThreadPoolExecutor(threads, threads, 0, TimeUnit.MILLISECONDS, new ArrayBlockingQueue<>(capacity),
            runnable -> {
                Thread thread = new Thread(runnable, "jarscore-score-" + counter.incrementAndGet());
                thread.setDaemon(true);
                return thread;
            });
        this.timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "jarscore-timeouts");
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
        this.timeoutNanos = timeout.toNanos();
        this.queue = queue;
        this.metrics = metrics;
        metrics.gauges(() -> pool.getQueue().size(), inFlight::get);
    }

    /** Takes a place for a request, or says there is none (the request is then refused). */
    public boolean tryReserve() {
        while (true) {
            int held = inFlight.get();
            if (held >= capacity || closing) {
                return false;
            }
            if (inFlight.compareAndSet(held, held + 1)) {
                return true;
            }
        }
    }

    /** Gives back a place taken by {@link #tryReserve} for a request that will not be submitted. */
    public void release() {
        inFlight.decrementAndGet();
    }

    /** The answer to a request that found no place. */
    public RequestException busy(String protocol) {
        metrics.rejected(protocol, closing ? "shutting_down" : "queue_full");
        return closing ? new RequestException(RequestException.Kind.UNAVAILABLE, "the server is shutting down")
            : new RequestException(RequestException.Kind.BUSY, "the server is busy: " + capacity
            + " requests are queued or running (--threads + --queue); retry later");
    }

    /**
     * Runs {@code work} on the pool and hands its value, or the error it threw (as a
     * {@link RequestException}), to {@code answer}, once: on a pool thread, on the timer's thread
     * when the timeout passes first, or on the caller's thread when there is no place for it.
     */
    public <T> void submit(String protocol, Supplier<T> work, BiConsumer<T, RequestException> answer) {
        if (!tryReserve()) {
            answer.accept(null, busy(protocol));
            return;
        }
        submitReserved(protocol, work, answer);
    }

    /** As {@link #submit}, for a request that holds a place already ({@link #tryReserve}). */
    public <T> void submitReserved(String protocol, Supplier<T> work, BiConsumer<T, RequestException> answer) {
        AtomicBoolean answered = new AtomicBoolean();
        ScheduledFuture<?> deadline = timer.schedule(() -> {
            if (answered.compareAndSet(false, true)) {
                metrics.rejected(protocol, "timeout");
                answer.accept(null, new RequestException(RequestException.Kind.TIMEOUT, "the request was not answered"
                    + " within the server's timeout of " + TimeUnit.NANOSECONDS.toMillis(timeoutNanos) + " ms (--timeout)"));
            }
        }, timeoutNanos, TimeUnit.NANOSECONDS);
        try {
            pool.execute(() -> {
                try {
                    if (answered.get()) {
                        return; // timed out while queued
                    }
                    T value = null;
                    RequestException error = null;
                    try {
                        value = work.get();
                    } catch (RequestException e) {
                        error = e;
                    } catch (RuntimeException | Error e) {
                        LOG.log(System.Logger.Level.WARNING, "request failed: " + e, e);
                        error = new RequestException(RequestException.Kind.INTERNAL, "the server failed on this request: "
                            + io.jarscore.runtime.Model.describe(e));
                    }
                    if (answered.compareAndSet(false, true)) {
                        deadline.cancel(false);
                        answer.accept(value, error);
                    }
                } finally {
                    inFlight.decrementAndGet();
                }
            });
        } catch (RejectedExecutionException e) {
            inFlight.decrementAndGet();
            deadline.cancel(false);
            if (answered.compareAndSet(false, true)) {
                answer.accept(null, busy(protocol));
            }
        }
    }

    /** Places held: requests reserved, queued or running. */
    public int inFlight() {
        return inFlight.get();
    }

    /** Waits until no request is queued or running, for at most {@code timeout}; true if none is. */
    public boolean awaitIdle(Duration timeout) throws InterruptedException {
        long end = System.nanoTime() + timeout.toNanos();
        while (inFlight.get() > 0) {
            if (System.nanoTime() - end > 0) {
                return false;
            }
            Thread.sleep(5);
        }
        return true;
    }

    /** From now on, requests without a place are told the server is shutting down. */
    void closing() {
        closing = true;
    }

    @Override
    public void close() {
        closing = true;
        pool.shutdown();
        timer.shutdown();
    }
}
