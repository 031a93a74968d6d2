"""ModelRegistry: versions, hooks, failures that keep the serving version, routing, shadowing,
metrics and the watcher, on two real converted LightGBM versions."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from jarscore.errors import ModelNotServedError, VersionLoadError
from registry_models import NAME, publish, rewrite_manifest
from jarscore.scorer import ModelRegistry, VersionPolicy
from jarscore.scorer.routing import Router, stable_hash
from zoo import numeric_frame

# Keys, their stable hash and their route under weights {1: 1, 2: 3}. The same table is in
# jvm/compiler/src/test/java/io/jarscore/registry/RouterHashes.java: Python and Java must route every key alike.
ROUTER_HASHES = [
    ("", 17280346270528514342, 2),
    ("a", 9413272369427828315, 2),
    ("customer-1", 12536098675308940762, 2),
    ("customer-2", 6581445007524616435, 2),
    ("user:42", 11063118593313047112, 1),
    ("Z\u00fcrich", 2644220054110733776, 1),
    ("\u65e5\u672c\u8a9e", 16218896763332251880, 1),
    ("0", 13971339156589058860, 1),
    ("a much longer request key with spaces", 10993704802516156708, 1),
    ("customer-1000", 14375663875796455323, 2),
]


@pytest.fixture(scope="module")
def sources(registry_sources):
    return registry_sources


@pytest.fixture(scope="module")
def rows():
    return numeric_frame(rows=50, nan_share=0.05, seed=99)


@pytest.fixture(scope="module")
def expected(sources, rows):
    from jarscore.scorer import Scorer

    outputs = {}
    for version, source in sources.items():
        scorer = Scorer.load(source)
        outputs[version] = scorer.predict(rows)
        scorer.close()
    assert not np.isclose(outputs[1], outputs[2]).any(), "the two versions must differ on every row"
    return outputs


@pytest.fixture
def errors():
    return []


@pytest.fixture
def registry(tmp_path, errors):
    registry = ModelRegistry(tmp_path / "repo")
    (tmp_path / "repo").mkdir()
    registry.on_error(errors.append)
    yield registry
    registry.close()


def assert_scored_by(registry, version, rows, expected):
    result = registry.predict(NAME, rows)
    assert (result.model, result.version) == (NAME, version)
    np.testing.assert_array_equal(result.values, expected[version])


def test_reload_serves_the_latest_complete_version_and_ignores_staging_and_other_dirs(
        registry, sources, rows, expected, errors):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2]).rename(root / NAME / ".price.partial-x")  # the converter's staging name
    (root / NAME / "latest").mkdir()
    (root / NAME / "7").mkdir()  # being copied: the JAR is there, the manifest not yet
    (root / NAME / "7" / "model.jar").write_bytes((sources[2] / "model.jar").read_bytes())
    registry.reload()
    assert registry.versions(NAME) == [1]
    assert_scored_by(registry, 1, rows, expected)
    assert errors == [], "a directory without a manifest is not a version yet, not an error"

    v1 = registry.load(NAME, 1)
    publish(root, 2, sources[2])
    registry.reload()
    assert registry.versions(NAME) == [2]
    assert_scored_by(registry, 2, rows, expected)
    assert v1.retired and v1.closed, "the version the policy dropped is closed"


def test_half_copied_version_is_never_loaded_and_the_serving_version_stays(registry, sources, rows, expected, errors):
    root = registry.repository.root
    publish(root, 1, sources[1])
    registry.reload()
    copy = root / NAME / "2"  # a copy that wrote the manifest first and has half of the JAR so far
    copy.mkdir()
    (copy / "manifest.json").write_bytes((sources[2] / "manifest.json").read_bytes())
    (copy / "model.pmml").write_bytes((sources[2] / "model.pmml").read_bytes())
    jar = (sources[2] / "model.jar").read_bytes()
    (copy / "model.jar").write_bytes(jar[: len(jar) // 2])

    registry.reload()
    assert registry.current_version(NAME) == 1
    assert_scored_by(registry, 1, rows, expected)
    assert len(errors) == 1
    assert isinstance(errors[0], VersionLoadError) and errors[0].version == 2
    assert "does not match its manifest" in str(errors[0]) and str(copy) in str(errors[0])

    registry.reload()
    assert len(errors) == 1, "an unchanged version that fails the same way is reported once"

    (copy / "model.jar").write_bytes(jar)  # the copy finishes
    registry.reload()
    assert registry.current_version(NAME) == 2
    assert_scored_by(registry, 2, rows, expected)
    assert registry.metrics()["models"][NAME]["load_errors"] == 1


def test_corrupt_jar_is_refused_and_the_serving_version_stays(registry, sources, rows, expected, errors):
    from jarscore.scorer.artifact import sha256_of

    root = registry.repository.root
    registry_dir = publish(root, 1, sources[1])
    registry.load(NAME, 1)

    # Garbage whose checksum the manifest agrees with: passes the integrity check, fails to load.
    garbage = publish(root, 2, sources[2])
    (garbage / "model.jar").write_bytes(b"not a zip file")
    rewrite_manifest(garbage, lambda m: m["files"]["model.jar"].update(sha256=sha256_of(garbage / "model.jar"),
                                                                       bytes=(garbage / "model.jar").stat().st_size))
    with pytest.raises(VersionLoadError, match="cannot load its JAR") as caught:
        registry.load(NAME, 2)
    assert errors == [caught.value]
    assert_scored_by(registry, 1, rows, expected)

    # A flipped byte the manifest does not agree with: refused before any class is loaded.
    flipped = publish(root, 3, sources[2])
    data = bytearray((flipped / "model.jar").read_bytes())
    data[len(data) // 2] ^= 0x5A
    (flipped / "model.jar").write_bytes(bytes(data))
    registry.reload()
    assert len(errors) == 2
    assert "version 3" in str(errors[1]) and "sha256" in str(errors[1])
    assert registry.versions(NAME) == [1]
    assert_scored_by(registry, 1, rows, expected)
    assert registry_dir.is_dir()


def test_validator_saying_no_keeps_the_serving_version(registry, sources, rows, expected, errors):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    registry.load(NAME, 1)
    asked = []

    @registry.before_swap
    def no_version_two(candidate):
        asked.append(candidate.version)
        return candidate.version != 2

    with pytest.raises(VersionLoadError, match="no_version_two said no") as caught:
        registry.load(NAME, 2)
    assert errors == [caught.value] and asked == [2]
    assert_scored_by(registry, 1, rows, expected)
    registry.reload()  # the policy wants 2, which is refused and unchanged: 1 keeps serving
    assert registry.current_version(NAME) == 1


def test_default_validator_refuses_a_version_that_does_not_reproduce_its_verification_rows(
        registry, sources, rows, expected, errors):
    root = registry.repository.root
    publish(root, 1, sources[1])
    wrong = publish(root, 2, sources[2])

    def shift_recorded_outputs(manifest):
        for outputs in manifest["verification"]["outputs"]:
            for field in outputs:
                outputs[field] += 0.5

    rewrite_manifest(wrong, shift_recorded_outputs)
    registry.reload()
    assert registry.current_version(NAME) == 1, "falls back to the latest version that loads"
    assert len(errors) == 1 and "verification row" in str(errors[0])
    assert_scored_by(registry, 1, rows, expected)


def test_after_swap_sees_old_and_new_and_unload_closes_the_version(registry, sources, rows):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    swaps = []
    registry.after_swap(lambda old, new: swaps.append(f"{old} -> {new}"))
    v1 = registry.load(NAME, 1)
    v2 = registry.load(NAME, 2)
    assert v1.closed
    assert registry.unload(NAME, 2) and not registry.unload(NAME, 2)
    assert v2.closed
    assert swaps == ["None -> price v1", "price v1 -> price v2", "price v2 -> None"]
    with pytest.raises(ModelNotServedError, match=r"load\('price', version\)"):
        registry.predict(NAME, rows)


def test_retired_version_closes_only_after_its_requests_drain(registry, sources, rows, expected):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    v1 = registry.load(NAME, 1)
    assert v1._try_acquire()  # a request in flight on version 1
    registry.load(NAME, 2)
    assert v1.retired and not v1.closed
    np.testing.assert_array_equal(v1.scorer.predict(rows), expected[1])  # it finishes on version 1
    v1._release()
    assert v1.closed and not v1._try_acquire()


def test_policies_all_and_specific_serve_several_versions(tmp_path, sources, rows, expected):
    root = tmp_path / "repo"
    for version, source in ((1, sources[1]), (2, sources[2]), (3, sources[1])):
        publish(root, version, source)
    with ModelRegistry(root, VersionPolicy.all()) as every, \
            ModelRegistry(root, policies={NAME: VersionPolicy.specific(1, 3)}) as some:
        every.reload()
        some.reload()
        assert every.versions(NAME) == [1, 2, 3] and some.versions(NAME) == [1, 3]
        assert every.current_version(NAME) == 3
        assert every.unload(NAME, 3)
        assert_scored_by(every, 2, rows, expected)


def test_routing_is_weighted_sticky_and_the_same_on_every_instance(tmp_path, sources, rows, expected):
    root = tmp_path / "repo"
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    with ModelRegistry(root, VersionPolicy.all()) as a, ModelRegistry(root, VersionPolicy.all()) as b:
        a.reload()
        b.reload()
        a.route(NAME, {1: 80, 2: 20})
        b.route(NAME, {2: 20, 1: 80})
        keys = [f"customer-{k}" for k in range(2000)]
        to_v2 = 0
        for k, key in enumerate(keys):
            row = rows.iloc[[k % len(rows)]]
            first = a.predict(NAME, row, key=key)
            assert a.predict(NAME, row, key=key).version == first.version, "sticky per key"
            assert b.predict(NAME, row, key=key).version == first.version, "same on every instance"
            assert first.values[0] == expected[first.version][k % len(rows)]
            to_v2 += first.version == 2
        assert 0.17 < to_v2 / len(keys) < 0.23, f"about 20% of keys go to version 2, got {to_v2 / len(keys)}"
        assert a.predict(NAME, rows).version == 2, "no key: the current version"
        a.unload(NAME, 2)  # a routed version that is not served: its traffic goes to the others
        assert a.predict(NAME, rows, key="customer-1").version == 1


def test_routing_hash_matches_the_java_implementation():
    router = Router({1: 1, 2: 3})
    for key, hashed, route in ROUTER_HASHES:
        assert stable_hash(key) == hashed, key
        assert router.pick(key, {1, 2}) == route, key


def test_routing_hash_agrees_with_java_through_the_jvm():
    from jarscore.scorer import jvm

    JavaRouter = jvm.jclass("io.jarscore.registry.Router")
    for k in range(200):
        key = f"key-{k}-\u00e9"
        assert int(JavaRouter.hash(key)) & ((1 << 64) - 1) == stable_hash(key), key


def test_shadow_results_go_to_the_callback_never_to_the_caller(tmp_path, sources, rows, expected):
    root = tmp_path / "repo"
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    with ModelRegistry(root, VersionPolicy.all()) as registry:
        registry.reload()
        pairs, done = [], threading.Semaphore(0)

        def compare(primary, shadow):
            pairs.append((primary.version, shadow.version, float(shadow.values[0])))
            done.release()

        registry.shadow(NAME, 1, compare)
        for r in range(30):
            result = registry.predict(NAME, rows.iloc[[r]])
            assert result.version == 2 and result.values[0] == expected[2][r]
        for _ in range(30):
            assert done.acquire(timeout=30), "the shadow callback ran for every request"
        assert [(p, s) for p, s, _ in pairs] == [(2, 1)] * 30
        assert [value for _, _, value in pairs] == list(expected[1][:30])
        v1 = registry.metrics()["models"][NAME]["versions"][1]
        assert v1["requests"] == 0 and v1["shadow_requests"] == 30


def test_metrics_count_requests_errors_and_latency_per_version(registry, sources, rows):
    root = registry.repository.root
    publish(root, 1, sources[1])
    publish(root, 2, sources[2])
    registry.load(NAME, 1)
    for r in range(7):
        registry.predict_one(NAME, rows.iloc[r].to_dict())
    with pytest.raises(Exception):
        registry.predict_one(NAME, {**rows.iloc[0].to_dict(), "f0": "long"})
    registry.load(NAME, 2)
    registry.predict(NAME, rows)

    metrics = registry.metrics()["models"][NAME]
    v1 = metrics["versions"][1]
    assert (v1["requests"], v1["errors"]) == (8, 1)
    assert v1["latency_seconds"]["count"] == 8 and v1["latency_seconds"]["buckets"]["+Inf"] == 8
    assert metrics["versions"][2]["requests"] == 1 and metrics["current_version"] == 2

    text = registry.prometheus()
    assert "# TYPE jarscore_requests_total counter\n" in text
    assert 'jarscore_requests_total{model="price",version="1"} 8\n' in text
    assert 'jarscore_errors_total{model="price",version="1"} 1\n' in text
    assert 'jarscore_request_duration_seconds_bucket{model="price",version="1",le="0.00025"} ' in text
    assert 'jarscore_request_duration_seconds_count{model="price",version="2"} 1\n' in text
    assert 'jarscore_current_version{model="price"} 2\n' in text


def test_watcher_loads_new_versions_and_unloads_retired_ones(registry, sources, rows, expected):
    root = registry.repository.root
    publish(root, 1, sources[1])
    swapped_to = []
    registry.after_swap(lambda old, new: swapped_to.append(new.version if new else None))
    watcher = registry.watch(interval=0.02)
    wait_for_version(registry, 1)
    publish(root, 2, sources[2])
    wait_for_version(registry, 2)
    assert registry.versions(NAME) == [2]
    assert_scored_by(registry, 2, rows, expected)
    registry.close()
    assert not watcher.running, "close() stops the watcher"
    assert swapped_to == [1, 2]


def wait_for_version(registry, version, timeout=60.0):
    deadline = time.monotonic() + timeout
    while registry.current_version(NAME) != version:
        assert time.monotonic() < deadline, f"the watcher did not load version {version} within {timeout} s"
        time.sleep(0.01)
