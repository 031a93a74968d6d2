package io.jarscore.bench.serve;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.Recorder;

/**
 * Closed-loop load: {@code concurrency} requests always in flight, each lane sending its next
 * request as soon as its last one is answered. After a warm-up, every request sent and answered
 * inside the measured window is counted and its latency (send to full response) recorded in an
 * HdrHistogram, in microseconds. Requests are sent asynchronously, so a lane costs no thread.
 */
final class ClosedLoop {

    /** Sends request {@code index} and calls {@code done} when it is answered (null) or failed (the reason). */
    interface Sender {
        void send(int index, java.util.function.Consumer<String> done);
    }

    // A failure can come back on the sending thread; the lane goes on from another, not recursively.
    private static final Executor AFTER_FAILURE = Executors.newSingleThreadExecutor(r -> {
        Thread thread = new Thread(r, "after-failure");
        thread.setDaemon(true);
        return thread;
    });

    private ClosedLoop() {
    }

    static Map<String, Object> run(Sender sender, int requests, int concurrency, Duration warmup, Duration measured)
        throws InterruptedException {
        Recorder recorder = new Recorder(TimeUnit.MINUTES.toMicros(1), 3);
        AtomicLong next = new AtomicLong();
        AtomicLong failures = new AtomicLong();
        AtomicReference<String> firstFailure = new AtomicReference<>();
        long start = System.nanoTime();
        long from = start + warmup.toNanos();
        long until = from + measured.toNanos();
        CountDownLatch lanes = new CountDownLatch(concurrency);
        Runnable[] lane = new Runnable[concurrency];
        for (int l = 0; l < concurrency; l++) {
            lane[l] = new Runnable() {
                @Override
                public void run() {
                    long sent = System.nanoTime();
                    if (sent >= until) {
                        lanes.countDown();
                        return;
                    }
                    sender.send((int) (next.getAndIncrement() % requests), failure -> {
                        long answered = System.nanoTime();
                        boolean inWindow = sent >= from && answered <= until;
                        if (failure == null) {
                            if (inWindow) {
                                recorder.recordValue(Math.max(1, (answered - sent) / 1_000));
                            }
                            run();
                        } else {
                            if (inWindow) {
                                failures.incrementAndGet();
                                firstFailure.compareAndSet(null, failure);
                            }
                            AFTER_FAILURE.execute(this);
                        }
                    });
                }
            };
        }
        for (Runnable l : lane) {
            l.run();
        }
        if (!lanes.await(until - System.nanoTime() + TimeUnit.SECONDS.toNanos(60), TimeUnit.NANOSECONDS)) {
            throw new IllegalStateException("requests still unanswered a minute after the measured window");
        }
        Histogram latencies = recorder.getIntervalHistogram();
        double seconds = measured.toNanos() / 1e9;
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("requests", latencies.getTotalCount());
        out.put("failed", failures.get());
        if (firstFailure.get() != null) {
            out.put("first_failure", firstFailure.get());
        }
        out.put("seconds", seconds);
        out.put("requests_per_second", latencies.getTotalCount() / seconds);
        out.put("mean_us", latencies.getMean());
        out.put("p50_us", latencies.getValueAtPercentile(50));
        out.put("p90_us", latencies.getValueAtPercentile(90));
        out.put("p99_us", latencies.getValueAtPercentile(99));
        out.put("p99.9_us", latencies.getValueAtPercentile(99.9));
        out.put("max_us", latencies.getMaxValue());
        return out;
    }
}
