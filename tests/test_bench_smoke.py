"""The benchmark suite's quick run as a smoke test: every engine ran on every model after its parity
check, or says why it cannot (a quick run gives each peer one model); each engine's cold start was
measured once and verified; the results file is well-formed, and the report and plots were generated
from it. How fast anything was is not tested here; that is what the full run reports."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest

from benchmarks import report
from benchmarks.engines import ENGINES
from benchmarks.jvm_side import JAVA_NAMES
from benchmarks.peers import PEERS
from benchmarks.suite import standard_specs
from conftest import QUICK_BENCH_MODELS

# rf200 is the slowest model to build and score and exercises no engine the others leave out (the
# sklearn family runs on pipeline); the full run covers it.
MODELS = [name for name in standard_specs(quick=True) if name != "rf200"]
assert MODELS == QUICK_BENCH_MODELS, "conftest.py starts the quick run on these"


@pytest.fixture(scope="module")
def quick_run(quick_bench) -> Path:
    """The results file of `python -m benchmarks --quick --models MODELS`, which conftest.py starts
    when the tests are collected."""
    return quick_bench


@pytest.fixture(scope="module")
def results(quick_run) -> dict:
    return json.loads(quick_run.read_text())


def _figure_ok(fig: dict) -> None:
    assert fig["median_us"] > 0 and math.isfinite(fig["median_us"])
    if fig.get("p99_us") is not None:
        assert fig["p99_us"] >= fig["median_us"]


def test_results_file_describes_the_run(results):
    assert results["format"] == 1 and results["quick"] is True
    assert results["command"].startswith("jarscore bench")
    assert set(results["models"]) == set(MODELS)
    for info in results["models"].values():
        assert info["build"]["parity"]["passed"] is True
        assert all(size > 0 for size in info["sizes_bytes"].values())
        assert info["inputs"] > 0


@pytest.mark.parametrize("model", MODELS)
def test_every_python_engine_ran_or_says_why(results, model):
    family = standard_specs(quick=True)[model].family
    records = {r["engine"]: r for r in results["runs"] if r["model"] == model}
    peer_builds = results["models"][model]["peers"]
    for engine in ENGINES:
        record = records[engine]
        assert "failed" not in record, f"{model} x {engine}: {record.get('failed')}"
        if record.get("unavailable", "").startswith("not in quick runs"):
            continue   # test_every_python_engine_ran_once below
        if family not in ENGINES[engine].families or "unavailable" in peer_builds.get(engine, {}):
            assert record["unavailable"], f"{engine} should not claim to score a {family} model"
            assert not record["unavailable"].startswith("refused"), record["unavailable"]
            continue
        assert "unavailable" not in record, f"{model} x {engine} did not run: {record['unavailable']}"
        assert record["parity"]["mismatches"] == 0 and record["parity"]["rows"] == 1000
        assert record["latency"], f"{model} x {engine} has no single-row figures"
        for fig in record["latency"].values():
            _figure_ok(fig)
        assert "1" in record["throughput"], f"{model} x {engine}: {record['skipped']}"
        for size in results["plan"]["batch_sizes"]:
            # A batch too slow for the quick plan's per-call limit is skipped, and says so.
            assert str(size) in record["throughput"] or record["skipped"][f"batch-{size}"].startswith("skipped: ")
        for size, fig in record["throughput"].items():
            assert fig["rows"] == int(size) and fig["rows_per_second"] > 0
        assert record["cold_start_seconds"] >= record["load_seconds"] > 0
        assert record["rss_after_load_bytes"] > 0


def test_every_python_engine_ran_once_and_jarscore_and_the_native_libraries_on_every_model(results):
    ran = {}
    for record in results["runs"]:
        if record["engine"] in ENGINES and "latency" in record:
            ran.setdefault(record["engine"], set()).add(record["model"])
    assert set(ran) == set(ENGINES), f"never ran: {set(ENGINES) - set(ran)}"
    assert ran["jarscore"] == set(MODELS)
    assert ran["lightgbm"] == {"lgbm500"} and ran["xgboost"] == {"xgb500"} and ran["sklearn-api"] == {"pipeline"}
    assert ran["jarscore-pmml"] == ran["pypmml"] == {"pipeline"}


@pytest.mark.parametrize("model", MODELS)
def test_every_java_engine_ran_on_the_pipeline_and_says_why_not_elsewhere(results, model):
    records = {r["engine"]: r for r in results["runs"] if r["model"] == model}
    for engine in JAVA_NAMES.values():
        record = records[engine]
        assert "failed" not in record, f"{model} x {engine}: {record.get('failed')}"
        if model != "pipeline":
            assert record["unavailable"] == "not in quick runs, which run JMH on pipeline only"
            continue
        fig = record["latency"]["mapping"]
        _figure_ok(fig)
        assert fig["rounds"] > 0


def test_peers_converted_or_say_why(results):
    builds = {model: info["peers"] for model, info in results["models"].items()}
    assert builds["lgbm500"]["lleaves"]["seconds"] > 0 and builds["lgbm500"]["lleaves"]["files"]["model.o"] > 0
    assert builds["xgb500"]["tl2cgen"]["files"]["model.so"] > 0
    assert builds["pipeline"]["onnxruntime"]["files"]["model.onnx"] > 0
    assert builds["xgb500"]["lleaves"]["unavailable"].startswith("lleaves compiles LightGBM models only")
    assert builds["pipeline"]["tl2cgen"]["unavailable"].startswith("treelite imports tree ensembles only")
    # A quick run gives each peer one model; on the others it says so.
    for name, peer in PEERS.items():
        assert builds[peer.quick_model][name]["seconds"] > 0
        assert all(builds[model][name]["unavailable"] for model in MODELS if model != peer.quick_model)
    assert builds["lgbm500"]["onnxruntime"]["unavailable"] == "not in quick runs, which run onnxruntime on pipeline only"


def test_every_engine_started_cold_once_and_was_verified(results):
    records = {(r["engine"], r["language"]): r for r in results["cold_start"]}
    python = {"jarscore", "lightgbm", "xgboost", "sklearn-api", *PEERS}
    assert set(records) == {(engine, "python") for engine in python} | {("jarscore-java", "java"),
                                                                        ("jarscore-java-cds", "java")}
    assert len(results["cold_start"]) == len(records)
    for key, record in records.items():
        assert "failed" not in record, f"{key}: {record.get('failed')}"
        assert record["median_seconds"] > 0 and len(record["seconds"]) == record["runs"] == 1
    # on the pipeline where the engine takes it: a row of numbers and strings
    on_pipeline = {engine for (engine, _), record in records.items() if record["model"] == "pipeline"}
    assert on_pipeline == {"jarscore", "sklearn-api", "onnxruntime", "jarscore-java", "jarscore-java-cds"}


def test_report_and_plots_come_from_the_results_file(quick_run, results):
    markdown = quick_run.with_suffix(".md").read_text()
    assert "Quick run" in markdown and results["command"] in markdown
    assert "## Targets" in markdown and "| lgbm500 single row from Python: p50 <= 5 us |" in markdown
    assert "## jarscore against the native library and the best peer" in markdown
    assert "## Peers: conversion and compile time" in markdown and "## Cold start" in markdown
    assert "- xgb500 x lleaves: n/a: lleaves compiles LightGBM models only" in markdown
    for model in MODELS:
        assert f"## {model}: single-row latency" in markdown
        assert f"## {model}: batch throughput" in markdown
    for suffix in ("-latency.png", "-throughput.png"):
        png = quick_run.with_name(quick_run.stem + suffix)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    section = report.readme_section(results, quick_run)
    assert section.startswith(report.README_START) and section.endswith(report.README_END)
    assert all(f"| {model} |" in section for model in MODELS)
    assert "Targets: " in section and "docs/benchmarks.md" in section
    docs = report.docs_section(results, quick_run)
    assert docs.startswith(report.DOCS_START) and "### Targets" in docs


def test_ratios_say_which_way():
    assert report.ratio_text(100.0, 10.0) == "10.0x faster"
    assert report.ratio_text(10.0, 40.0) == "4.0x slower"
    assert report.ratio_text(None, 40.0) == ""


def test_kafka_section_comes_from_the_results():
    kafka = {"model": "lgbm500", "broker_start_seconds": 8.3,
             "throughput": {"records": 200_000, "seconds": 64.2, "records_per_second": 3115.2},
             "latency": {"records": 20_000, "rate_per_second": 2000, "p50_ms": 10.0, "p90_ms": 13.0, "p99_ms": 34.0,
                         "max_ms": 82},
             "setup": {"model": "lgbm500", "version": 1, "partitions": 2, "stream_threads": 1,
                       "processing_guarantee": "at_least_once", "broker": "KRaft single node, child JVM",
                       "app": "in the benchmark JVM", "producer": "acks=all, linger.ms=5"}}
    lines = report._kafka_section({"kafka": kafka})
    assert lines[0] == "## Kafka Streams app (lgbm500, real broker)"
    assert "| 3,115 | 200,000 | 10 | 13 | 34 | 82 | 2,000/s |" in lines
    assert report._kafka_section({}) == []
    failed = report._kafka_section({"kafka": {"model": "lgbm500", "failed": "mvn test-compile failed\nmore"}})
    assert failed[-2] == "Did not run: mvn test-compile failed"


def test_the_jmh_build_installs_jvm_unless_make_installed_these_sources(tmp_path):
    from benchmarks.jvm_side import jvm_installed

    source = tmp_path / "jvm" / "runtime" / "src" / "main" / "java" / "Model.java"
    source.parent.mkdir(parents=True)
    source.write_text("class Model {}")
    (tmp_path / "jvm" / "pom.xml").write_text("<project/>")
    stamp = tmp_path / ".setup-stamps" / "jvm"
    assert not jvm_installed(stamp), "never installed"
    stamp.parent.mkdir()
    stamp.touch()
    os.utime(stamp, (source.stat().st_mtime + 10,) * 2)
    assert jvm_installed(stamp)
    os.utime(source, (stamp.stat().st_mtime + 10,) * 2)
    assert not jvm_installed(stamp), "a source changed after the install"



def test_a_batch_size_is_skipped_only_when_even_the_smaller_sizes_fastest_call_is_too_slow(monkeypatch):
    """The probe of the smaller batch starts cold: its first calls, or all of them, must not skip a
    size that its warm calls would score within --max-call-seconds."""
    import time

    from benchmarks import micro_cases, worker

    class ColdFirst:
        """Takes 0.2 s per 1 000 rows for its first ``cold`` calls, then 0.1 ms."""
        def __init__(self, cold=2):
            self.calls = 0
            self.cold = cold

        def batch_input(self, rows):
            return rows

        def score_batch(self, rows):
            self.calls += 1
            time.sleep((0.2 if self.calls <= self.cold else 0.0001) * len(rows) / 1000)

    class Model:
        def rows(self, size, seed_offset):
            return range(size)

    monkeypatch.setattr(micro_cases, "CASES", [])
    plan = {"batch_sizes": [1_000, 100_000, 1_000_000], "max_call_seconds": 15, "batch_seconds": 2.5,
            "batch_rounds_min": 3, "batch_rounds_max": 50, "warm_recheck_seconds": 3.0}
    skipped = {}
    worker._add_batch_cases(ColdFirst(), Model(), plan, skipped)
    # the median of the three calls of 1 000 rows is 0.2 s: by it, 100 000 rows would take 20 s
    assert skipped == {}
    assert [case.id for case in micro_cases.CASES] == ["batch-1000", "batch-100000", "batch-1000000"]

    # every call of the probe cold: the smaller batch is called again, warm, before a size is skipped
    monkeypatch.setattr(micro_cases, "CASES", [])
    engine = ColdFirst(cold=3)
    skipped = {}
    worker._add_batch_cases(engine, Model(), plan, skipped)
    assert skipped == {}
    assert [case.id for case in micro_cases.CASES] == ["batch-1000", "batch-100000", "batch-1000000"]
    # the probe's three, one warm call of the recheck (it stops at the first call that fits), then
    # one each for the big sizes
    assert engine.calls == 3 + 1 + 1 + 1

    # cold for longer: the recheck goes on until a call fits
    monkeypatch.setattr(micro_cases, "CASES", [])
    engine = ColdFirst(cold=8)
    skipped = {}
    worker._add_batch_cases(engine, Model(), plan, skipped)
    assert skipped == {}
    assert engine.calls == 8 + 1 + 1 + 1

    # a size that even the fastest call puts over the limit is skipped, and says so
    plan["max_call_seconds"] = 0.005
    skipped = {}
    worker._add_batch_cases(ColdFirst(), Model(), plan, skipped)
    assert set(skipped) == {"batch-100000", "batch-1000000"}
    assert "over --max-call-seconds 0.005" in skipped["batch-100000"]
