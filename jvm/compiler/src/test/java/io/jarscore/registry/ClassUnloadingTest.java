package io.jarscore.registry;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.management.ClassLoadingMXBean;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.nio.file.Path;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * 200 load/unload cycles: each loads a version in a class loader of its own and unloads it; after a
 * full GC the loaded-class count and the heap are back near where they started, so retired versions'
 * class loaders and classes were collected, not leaked.
 */
class ClassUnloadingTest {

    private static final int CYCLES = 200;
    /** Heap noise allowed on top of the leak bound (JIT, metrics, logging buffers). */
    private static final long HEAP_SLACK = 4L << 20;

    @TempDir
    Path root;

    @Test
    void loadUnloadCyclesLeaveClassCountAndHeapBounded() throws Exception {
        TestRepository.publish(root, 1, 3); // a random forest and gradient boosting: many classes, some heap
        TestRepository.publish(root, 2, 4);
        ClassLoadingMXBean classes = ManagementFactory.getClassLoadingMXBean();
        MemoryMXBean memory = ManagementFactory.getMemoryMXBean();
        try (ModelRegistry registry = new ModelRegistry(root, VersionPolicy.latest())) {
            for (int i = 0; i < 10; i++) { // warm-up: classes of the runtime itself load once
                cycle(registry, i);
            }
            long perModelHeap = heapPerLoadedModel(memory, classes);
            settle(classes);
            long classesBefore = classes.getLoadedClassCount();
            long unloadedBefore = classes.getUnloadedClassCount();
            long heapBefore = memory.getHeapMemoryUsage().getUsed();
            long totalBefore = classes.getTotalLoadedClassCount();

            for (int i = 0; i < CYCLES; i++) {
                cycle(registry, i);
            }
            long perCycle = (classes.getTotalLoadedClassCount() - totalBefore) / CYCLES;
            settle(classes);
            long classesAfter = classes.getLoadedClassCount();
            long unloaded = classes.getUnloadedClassCount() - unloadedBefore;
            long heapAfter = memory.getHeapMemoryUsage().getUsed();
            System.out.printf("class unloading: %d cycles, %d classes loaded per cycle; loaded classes %d -> %d,"
                    + " %d unloaded; heap used %.1f MB -> %.1f MB (one loaded model holds %.2f MB)%n", CYCLES, perCycle,
                classesBefore, classesAfter, unloaded, heapBefore / 1e6, heapAfter / 1e6, perModelHeap / 1e6);

            assertTrue(perCycle > 0, "each cycle loads the model's classes afresh");
            // A few of the latest versions may still be reachable after the GCs (observed: up to 4, depending on
            // the tests run before), most likely through JPMML-Evaluator's weak-key Guava caches, which drop an entry
            // whose key was collected only on later cache activity. The bound is a constant: a leak that grows with
            // the cycles fails it.
            long classBound = 10 * perCycle;
            assertTrue(classesAfter - classesBefore <= classBound, "loaded classes grew from " + classesBefore
                + " to " + classesAfter + " (bound +" + classBound + "): retired versions' classes were not unloaded");
            assertTrue(unloaded >= (CYCLES - 10) * perCycle, "only " + unloaded + " classes unloaded over " + CYCLES
                + " cycles of " + perCycle);
            long heapBound = 10 * perModelHeap + HEAP_SLACK; // 200 leaked versions would hold about twice this
            assertTrue(heapAfter - heapBefore <= heapBound, "heap used grew from " + heapBefore + " to " + heapAfter
                + " (bound +" + heapBound + ")");
        }
    }

    /** The heap one loaded model holds: 20 loaded side by side, measured after full GCs. */
    private static long heapPerLoadedModel(MemoryMXBean memory, ClassLoadingMXBean classes) throws Exception {
        settle(classes);
        long before = memory.getHeapMemoryUsage().getUsed();
        java.util.List<io.jarscore.runtime.Model> models = new java.util.ArrayList<>();
        for (int i = 0; i < 20; i++) {
            models.add(io.jarscore.runtime.Model.loadJar(TestRepository.transpiled(4).resolve(Artifact.JAR)));
            models.get(i).loadJpmml();
        }
        settle(classes);
        long footprint = Math.max(0, memory.getHeapMemoryUsage().getUsed() - before) / models.size();
        models.forEach(io.jarscore.runtime.Model::close);
        return footprint;
    }

    private static void cycle(ModelRegistry registry, int i) {
        int version = 1 + i % 2;
        // the JPMML side too (a kernel JAR loads it later), so that its classes are counted as well
        registry.load(TestRepository.NAME, version).model().loadJpmml();
        registry.unload(TestRepository.NAME, version);
    }

    /** Full GCs until the loaded-class count stops falling (System.gc() unloads classes on HotSpot's collectors). */
    static void settle(ClassLoadingMXBean classes) {
        long previous = Long.MAX_VALUE;
        for (int i = 0; i < 10 && classes.getLoadedClassCount() < previous; i++) {
            previous = classes.getLoadedClassCount();
            System.gc();
        }
    }
}
