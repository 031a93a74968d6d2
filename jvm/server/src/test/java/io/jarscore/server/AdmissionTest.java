package io.jarscore.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.jarscore.server.infer.RequestException;

/** The scoring queue: refuses beyond its bound at once, times out, answers each request exactly once. */
class AdmissionTest {

    @Test
    void aFullQueueRefusesAtOnceAndEveryRequestGetsOneAnswer() throws Exception {
        ServerMetrics metrics = new ServerMetrics();
        try (Admission admission = new Admission(1, 2, Duration.ofSeconds(30), metrics)) {
            CountDownLatch release = new CountDownLatch(1);
            List<Object> answers = new CopyOnWriteArrayList<>();
            AtomicInteger answered = new AtomicInteger();
            for (int i = 0; i < 10; i++) {
                int n = i;
                admission.submit("test", () -> {
                    await(release);
                    return n;
                }, (value, error) -> {
                    answers.add(error != null ? error.kind() : value);
                    answered.incrementAndGet();
                });
            }
            // one running, two queued: the other seven were refused while submitting
            assertEquals(7, answers.stream().filter(a -> a == RequestException.Kind.BUSY).count(), answers.toString());
            release.countDown();
            assertTrue(admission.awaitIdle(Duration.ofSeconds(30)));
            assertEquals(10, answered.get());
            assertEquals(List.of(0, 1, 2), answers.stream().filter(a -> a instanceof Integer).toList());
            assertTrue(metrics.text().contains("jarscore_server_rejected_total{protocol=\"test\",reason=\"queue_full\"} 7"),
                metrics.text());
        }
    }

    @Test
    void aRequestPastTheTimeoutIsAnsweredOnceAndQueuedWorkIsSkipped() throws Exception {
        try (Admission admission = new Admission(1, 4, Duration.ofMillis(200), new ServerMetrics())) {
            CountDownLatch release = new CountDownLatch(1);
            AtomicInteger ran = new AtomicInteger();
            List<Object> answers = new CopyOnWriteArrayList<>();
            CountDownLatch both = new CountDownLatch(2);
            for (int i = 0; i < 2; i++) {
                admission.submit("test", () -> {
                    ran.incrementAndGet();
                    await(release);
                    return "done";
                }, (value, error) -> {
                    answers.add(error != null ? error.kind() : value);
                    both.countDown();
                });
            }
            assertTrue(both.await(30, TimeUnit.SECONDS), "both timed out");
            release.countDown();
            assertTrue(admission.awaitIdle(Duration.ofSeconds(30)));
            assertEquals(List.of(RequestException.Kind.TIMEOUT, RequestException.Kind.TIMEOUT), answers);
            assertEquals(1, ran.get(), "the queued request was skipped once it had timed out");
        }
    }

    @Test
    void aFailingRequestIsAnInternalErrorAndTheQueueGoesOn() throws Exception {
        try (Admission admission = new Admission(1, 4, Duration.ofSeconds(30), new ServerMetrics())) {
            List<Object> answers = new CopyOnWriteArrayList<>();
            admission.submit("test", () -> {
                throw new IllegalStateException("boom");
            }, (value, error) -> answers.add(error.kind() + ": " + error.getMessage()));
            admission.submit("test", () -> "fine", (value, error) -> answers.add(value));
            assertTrue(admission.awaitIdle(Duration.ofSeconds(30)));
            assertEquals(List.of("INTERNAL: the server failed on this request: IllegalStateException: boom", "fine"), answers);
        }
    }

    private static void await(CountDownLatch latch) {
        try {
            latch.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
