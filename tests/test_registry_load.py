"""The registry's guarantees under load, on two real converted LightGBM versions: no failed or mixed
request while versions swap, and no class loader or heap left behind after hundreds of cycles."""

from __future__ import annotations

import gc
import threading
import time
import weakref

import pytest

from registry_models import NAME, build_versions, publish
from jarscore.scorer import ModelRegistry, Scorer, VersionPolicy, jvm
from zoo import numeric_frame

THREADS = 4
MIN_REQUESTS = 50_000
SWAPS = 100
CYCLES = 200


@pytest.fixture(scope="module")
def repository(tmp_path_factory):
    folder = tmp_path_factory.mktemp("registry-load")
    sources = build_versions(folder / "sources")
    for version, source in sources.items():
        publish(folder / "repo", version, source)
    return folder / "repo", sources


def test_requests_never_fail_and_each_sees_exactly_one_version_while_versions_swap(repository):
    root, sources = repository
    rows = numeric_frame(rows=50, nan_share=0.05, seed=99).to_dict(orient="records")
    expected = {}
    for version, source in sources.items():
        scorer = Scorer.load(source)
        expected[version] = [scorer.predict_one(row) for row in rows]
        scorer.close()
    assert all(expected[1][r] != expected[2][r] for r in range(len(rows))), "the versions must differ on every row"

    failures, mismatches, served = [], [], {1: 0, 2: 0}
    requests = [0] * THREADS
    swapping = threading.Event()
    swapping.set()
    with ModelRegistry(root, VersionPolicy.latest()) as registry:
        registry.on_error(failures.append)
        loaded = [registry.load(NAME, 1)]

        def score(t):
            try:
                r = t
                while swapping.is_set() or sum(requests) < MIN_REQUESTS:
                    result = registry.predict_one(NAME, rows[r % len(rows)])
                    if result.values != expected[result.version][r % len(rows)]:
                        mismatches.append((r, result))
                    served[result.version] += 1
                    requests[t] += 1
                    r += 1
            except Exception as exc:  # noqa: BLE001 - any failure is the test's finding
                failures.append(exc)

        workers = [threading.Thread(target=score, args=(t,)) for t in range(THREADS)]
        for worker in workers:
            worker.start()
        # Swaps spread over the run: one every MIN_REQUESTS / SWAPS requests, alternating 2, 1, 2, ...
        for swap in range(SWAPS):
            while sum(requests) < swap * (MIN_REQUESTS // SWAPS) and not failures:
                time.sleep(0.001)
            loaded.append(registry.load(NAME, 2 if swap % 2 == 0 else 1))
        swapping.clear()
        for worker in workers:
            worker.join()
        print(f"swap under load: {sum(requests)} requests (v1 {served[1]}, v2 {served[2]}), {SWAPS} swaps")

        assert failures == []
        assert mismatches == [], "responses that are not their version's output for the row"
        assert sum(requests) >= MIN_REQUESTS and served[1] > 0 and served[2] > 0
        assert all(version.closed for version in loaded[:-1]), "retired versions close once their requests drain"


def test_load_unload_cycles_leave_class_count_and_heap_bounded(repository):
    root, sources = repository
    management = jvm.jclass("java.lang.management.ManagementFactory")
    classes, memory = management.getClassLoadingMXBean(), management.getMemoryMXBean()
    with ModelRegistry(root, VersionPolicy.latest()) as registry:
        for i in range(10):  # warm-up: classes of the runtime itself load once
            cycle(registry, i)
        per_model_heap = heap_per_loaded_model(sources[2], classes, memory)
        settle(classes)
        classes_before, unloaded_before = int(classes.getLoadedClassCount()), int(classes.getUnloadedClassCount())
        total_before, heap_before = int(classes.getTotalLoadedClassCount()), heap_used(memory)

        retired = []
        for i in range(CYCLES):
            retired.append(weakref.ref(cycle(registry, i)))
        per_cycle = (int(classes.getTotalLoadedClassCount()) - total_before) // CYCLES
        settle(classes)
        classes_after, heap_after = int(classes.getLoadedClassCount()), heap_used(memory)
        unloaded = int(classes.getUnloadedClassCount()) - unloaded_before
        print(f"class unloading: {CYCLES} cycles, {per_cycle} classes loaded per cycle; loaded classes "
              f"{classes_before} -> {classes_after}, {unloaded} unloaded; heap used {heap_before / 1e6:.1f} MB "
              f"-> {heap_after / 1e6:.1f} MB (one loaded model holds {per_model_heap / 1e6:.2f} MB)")

        assert per_cycle > 0, "each cycle loads the model's classes afresh"
        assert sum(ref() is not None for ref in retired) == 0, "retired versions are not kept alive in Python"
        # A few of the latest versions may stay reachable in the JVM until later cache activity (see
        # ClassUnloadingTest.java); the bound is a constant, so a leak growing with the cycles fails it.
        assert classes_after - classes_before <= 10 * per_cycle
        assert unloaded >= (CYCLES - 10) * per_cycle
        assert heap_after - heap_before <= 10 * per_model_heap + (4 << 20)


def cycle(registry, i):
    version = registry.load(NAME, 1 + i % 2)
    registry.unload(NAME, version.version)
    assert version.closed
    return version


def heap_per_loaded_model(source, classes, memory) -> int:
    """The JVM heap one loaded model holds: 20 loaded side by side, measured after full GCs."""
    settle(classes)
    before = heap_used(memory)
    scorers = [Scorer.load(source) for _ in range(20)]
    settle(classes)
    footprint = max(0, heap_used(memory) - before) // len(scorers)
    for scorer in scorers:
        scorer.close()
    return footprint


def heap_used(memory) -> int:
    return int(memory.getHeapMemoryUsage().getUsed())


def settle(classes) -> None:
    """Python's GC drops the JPype references, then full JVM GCs until the loaded-class count stops falling."""
    system = jvm.jclass("java.lang.System")
    previous = None
    for _ in range(10):
        gc.collect()
        system.gc()
        count = int(classes.getLoadedClassCount())
        if previous is not None and count >= previous:
            return
        previous = count
