"""A bounded soak: 1 000 000 predictions through the registry with a version swap every 50 000, on
4 threads, then checks that resident memory, JVM loaded classes and open file handles came back to
where they started (within fixed bounds: a leak that grows with the run fails)."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import numpy as np
import pytest

from registry_models import NAME
from jarscore.scorer import ModelRegistry, VersionPolicy, jvm
from test_registry_load import repository as published_versions  # noqa: F401 (a fixture)
from test_registry_load import settle
from zoo import numeric_frame

PREDICTIONS = 1_000_000
BATCH = 500
SWAP_EVERY = 50_000
THREADS = 4


def open_files() -> int:
    return len(os.listdir("/proc/self/fd"))


def resident_bytes() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS in /proc/self/status")


@pytest.fixture(scope="module")
def repository(published_versions):
    root, _ = published_versions
    return root


def test_a_million_predictions_with_swaps_leave_memory_classes_and_files_bounded(repository):
    rows = numeric_frame(rows=BATCH, nan_share=0.05, seed=99).to_numpy()
    classes = jvm.jclass("java.lang.management.ManagementFactory").getClassLoadingMXBean()
    with ModelRegistry(repository, VersionPolicy.latest()) as registry:
        registry.load(NAME, 1)
        expected = {v: None for v in (1, 2)}
        for version in (1, 2):                  # warm-up, and each version's answers for the batch
            registry.load(NAME, version)
            expected[version] = registry.predict(NAME, rows).values
        settle(classes)
        start = {"files": open_files(), "rss": resident_bytes(), "classes": int(classes.getLoadedClassCount())}

        done = [0]
        lock = threading.Lock()
        failures: list[BaseException] = []

        def score() -> None:
            try:
                while True:
                    with lock:
                        if done[0] >= PREDICTIONS:
                            return
                        done[0] += BATCH
                        swap_due = done[0] % SWAP_EVERY == 0
                    if swap_due:
                        registry.load(NAME, 1 + (done[0] // SWAP_EVERY) % 2)
                    result = registry.predict(NAME, rows)
                    np.testing.assert_array_equal(result.values, expected[result.version])
            except BaseException as exc:  # reported below
                failures.append(exc)

        threads = [threading.Thread(target=score) for _ in range(THREADS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not failures, failures[:3]
        served = registry.metrics()
        settle(classes)
        end = {"files": open_files(), "rss": resident_bytes(), "classes": int(classes.getLoadedClassCount())}

    requests = sum(v["requests"] for v in served["models"][NAME]["versions"].values())
    print(f"soak: {requests * BATCH:,} predictions in {requests:,} batches, {PREDICTIONS // SWAP_EVERY} swaps; "
          f"open files {start['files']} -> {end['files']}, resident {start['rss'] / 2**20:.0f} -> "
          f"{end['rss'] / 2**20:.0f} MiB, JVM loaded classes {start['classes']} -> {end['classes']}")
    assert requests * BATCH >= PREDICTIONS
    assert end["files"] - start["files"] <= 2, "file handles leak"
    assert end["classes"] - start["classes"] <= 200, "classes of retired versions stay loaded"
    assert end["rss"] - start["rss"] <= 256 * 2**20, "resident memory grew with the run"
