package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The hot-reload guarantee under load: 4 threads score at least 50 000 requests while 100 swaps
 * alternate between two versions whose outputs differ. No request fails, and every response is
 * exactly the output of the version it says produced it.
 */
class SwapUnderLoadTest {

    private static final int THREADS = 4;
    private static final int MIN_REQUESTS = 50_000;
    private static final int SWAPS = 100;

    @TempDir
    Path root;

    @Test
    void requestsNeverFailAndEachSeesExactlyOneVersionWhileVersionsSwap() throws Exception {
        List<Map<String, Object>> rows = TestRepository.irisRows();
        Map<Integer, List<Map<String, Object>>> expected =
            Map.of(1, TestRepository.expectedOutputs(1), 2, TestRepository.expectedOutputs(2));
        List<Integer> distinct = new ArrayList<>(); // rows on which the two versions disagree
        for (int r = 0; r < rows.size(); r++) {
            if (!expected.get(1).get(r).equals(expected.get(2).get(r))) {
                distinct.add(r);
            }
        }
        assertTrue(distinct.size() > 100, "the two versions must differ on most rows, differ on " + distinct.size());
        TestRepository.publish(root, 1);
        TestRepository.publish(root, 2);

        ConcurrentLinkedQueue<Throwable> failures = new ConcurrentLinkedQueue<>();
        LongAdder requests = new LongAdder();
        LongAdder[] byVersion = {new LongAdder(), new LongAdder(), new LongAdder()};
        AtomicBoolean swapping = new AtomicBoolean(true);
        AtomicLong mismatches = new AtomicLong();
        List<ModelVersion> loaded = new ArrayList<>();
        try (ModelRegistry registry = new ModelRegistry(root, VersionPolicy.latest()).onError(failures::add)) {
            loaded.add(registry.load(TestRepository.NAME, 1));
            CountDownLatch start = new CountDownLatch(1);
            List<Thread> workers = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int offset = t;
                Thread worker = new Thread(() -> {
                    try {
                        start.await();
                        int i = offset;
                        while (swapping.get() || requests.sum() < MIN_REQUESTS) {
                            int r = distinct.get(i++ % distinct.size());
                            Result<Map<String, Object>> result = registry.score(TestRepository.NAME, rows.get(r));
                            if (!expected.get(result.version()).get(r).equals(result.values())) {
                                mismatches.incrementAndGet();
                            }
                            byVersion[result.version()].increment();
                            requests.increment();
                        }
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }, "scorer-" + t);
                worker.start();
                workers.add(worker);
            }
            start.countDown();
            for (int swap = 0; swap < SWAPS; swap++) {
                loaded.add(registry.load(TestRepository.NAME, swap % 2 == 0 ? 2 : 1));
            }
            swapping.set(false);
            for (Thread worker : workers) {
                worker.join();
            }
            System.out.printf("swap under load: %d requests (v1 %d, v2 %d), %d swaps%n", requests.sum(),
                byVersion[1].sum(), byVersion[2].sum(), SWAPS);

            assertEquals(List.of(), List.copyOf(failures));
            assertEquals(0, mismatches.get(), "responses that are not their version's output for the row");
            assertTrue(requests.sum() >= MIN_REQUESTS);
            assertNotEquals(0, byVersion[1].sum());
            assertNotEquals(0, byVersion[2].sum());
            for (ModelVersion version : loaded.subList(0, loaded.size() - 1)) {
                assertTrue(version.isClosed(), version + " was retired: closed once its requests drained");
            }
        }
    }
}
