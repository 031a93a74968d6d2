"""The kernel's targets as the benchmark report checks them: from a results file's figures to met,
missed by how much, or not measured. Synthetic results, so every branch is exercised whatever
this machine measures."""

from __future__ import annotations

import pytest

from benchmarks import report, targets


def _latency(**p50s: float) -> dict:
    return {shape: {"median_us": us} for shape, us in p50s.items()}


def _run(model: str, engine: str, latency: dict | None = None, big_batch: float | None = None, threads: int = 2) -> dict:
    record = {"model": model, "engine": engine, "latency": latency or {}, "batch_threads": threads}
    if big_batch is not None:
        record["throughput"] = {"10000": {"rows_per_second": 1.0}, "1000000": {"rows_per_second": big_batch}}
    return record


def _results(runs: list[dict], models=("lgbm500", "xgb500"), quick=False) -> dict:
    families = {"lgbm500": "lightgbm", "xgb500": "xgboost", "rf200": "sklearn"}
    return {"quick": quick, "models": {m: {"family": families[m]} for m in models}, "runs": runs}


def test_met_targets_say_met_and_missed_ones_say_how_far_off():
    results = _results([
        _run("lgbm500", "jarscore", _latency(array=4.0, mapping=5.0), big_batch=300_000.0),
        _run("lgbm500", "lightgbm", _latency(array=40.0), big_batch=100_000.0),
        _run("lgbm500", "jpmml_evaluator-transpiled", _latency(mapping=100.0)),
        _run("lgbm500", "jarscore-java", _latency(mapping=3.0)),
        _run("lgbm500", "jpmml-java-transpiled", _latency(mapping=6.0)),
        _run("xgb500", "jarscore", _latency(array=5.0), big_batch=250_000.0),
        _run("xgb500", "xgboost", _latency(array=150.0), big_batch=100_000.0, threads=1),
    ])
    by = {c.target: c for c in targets.checks(results)}
    latency = by["lgbm500 single row from Python: p50 <= 5 us"]
    assert (latency.met, latency.figure) == (True, "4.0 us")
    native = by["lgbm500 single row from Python: >= 8x lightgbm"]
    assert (native.met, native.figure) == (True, "lightgbm 40.0 us / jarscore 4.0 us = 10.0x")
    transpiled = by["lgbm500 single row: >= 40x jpmml_evaluator transpiled (it takes mappings only)"]
    assert (transpiled.met, transpiled.status) == (False, "missed: 1.60x short")  # 25x of 40x
    java = by["lgbm500 inside the JVM (JMH): >= 3x JPMML-Evaluator on the transpiled classes"]
    assert (java.met, java.status) == (False, "missed: 1.50x short")  # 2x of 3x
    assert by["xgb500 single row from Python: >= 20x xgboost"].met is True  # 30x
    lgbm_batch = by["lgbm500 batch of 1,000,000 rows: >= 2x lightgbm's throughput"]
    assert lgbm_batch.met is True and lgbm_batch.figure == "300,000 against 100,000 rows/s = 3.00x (2 threads against 2)"
    xgb_batch = by["xgb500 batch of 1,000,000 rows: >= 2x xgboost's throughput"]
    assert (xgb_batch.met, xgb_batch.figure) == (True, "250,000 against 100,000 rows/s = 2.50x (2 threads against 1)")


def test_a_slow_row_says_how_many_times_too_slow():
    results = _results([_run("lgbm500", "jarscore", _latency(array=7.9)),
                        _run("lgbm500", "lightgbm", _latency(array=52.8))], models=("lgbm500",))
    by = {c.target: c for c in targets.checks(results)}
    assert by["lgbm500 single row from Python: p50 <= 5 us"].status == "missed: 1.58x too slow"
    assert by["lgbm500 single row from Python: >= 8x lightgbm"].status == "missed: 1.20x short"  # 6.68x


def test_a_target_without_its_figures_is_not_measured_not_met():
    results = _results([_run("lgbm500", "jarscore", _latency(array=4.0)),
                        {"model": "lgbm500", "engine": "lightgbm", "failed": "ImportError: lightgbm"}],
                       models=("lgbm500",))
    by = {c.target: c for c in targets.checks(results)}
    assert by["lgbm500 single row from Python: >= 8x the native library"].status == "not measured"
    assert by["lgbm500 batch of 1,000,000 rows: >= 2x the native library's throughput"].met is None
    assert by["lgbm500 inside the JVM (JMH): >= 3x JPMML-Evaluator on the transpiled classes"].met is None
    assert by["lgbm500 single row from Python: p50 <= 5 us"].met is True


@pytest.mark.parametrize("quick", [False, True])
def test_the_report_prints_the_targets_table(quick):
    # (the README's section is checked on a real quick run in test_bench_smoke)
    results = _results([_run("lgbm500", "jarscore", _latency(array=7.9)),
                        _run("lgbm500", "lightgbm", _latency(array=52.8))], models=("lgbm500",), quick=quick)
    section = report._targets_section(results)
    assert section[0] == "## Targets"
    assert "| lgbm500 single row from Python: p50 <= 5 us | 7.9 us | missed: 1.58x too slow |" in section
    assert any("quick run" in line for line in section) == quick


def test_failed_and_timed_out_engines_make_the_run_fail():
    from benchmarks.run import failures

    results = {"runs": [{"engine": "lightgbm", "model": "lgbm500", "median_us": 50.0},
                        {"engine": "pypmml", "model": "rf200", "unavailable": "no such model kind"},
                        {"engine": "xgboost", "model": "xgb500", "failed": "timed out: the worker ran past 600 s\nmore"}],
               "kafka": {"model": "lgbm500", "failed": "broker did not start"}}
    assert failures(results) == ["xgboost on xgb500: timed out: the worker ran past 600 s",
                                 "kafka on lgbm500: broker did not start"]
    assert failures({"runs": results["runs"][:2], "kafka": {"model": "lgbm500", "unavailable": "x"}}) == []


def _cell(protocol: str, rows: int, concurrency: int, rps: float, p99_us: float) -> dict:
    return {"protocol": protocol, "rows": rows, "concurrency": concurrency, "requests_per_second": rps,
            "p50_us": p99_us / 2, "p99_us": p99_us, "failed": 0}


def _serve(jarscore: list[dict], mlserver: list[dict], in_process_us: float | None = 20.0) -> dict:
    serve = {"model": "lgbm500", "plan": {"warmup_seconds": 1, "seconds": 2}, "load_average_before": [1.0, 1.0, 1.0],
             "load_average_after": [1.0, 1.0, 1.0],
             "servers": {"noop": {"cells": [_cell("grpc", 1, 1, 50_000.0, 100.0)]},
                         "jarscore": {"cells": jarscore, "parity": {"rows": 100, "output": "probability(1)", "max_abs_error": 0.0}},
                         "mlserver": {"cells": mlserver, "settings": {"version": "1.7.1"}}}}
    if in_process_us is not None:
        serve["in_process"] = {"p50_us": in_process_us, "p99_us": 2 * in_process_us, "calls": 1000, "how": "score(double[])"}
    return serve


def test_serve_goals_name_the_worst_cell():
    serve = _serve([_cell("grpc", 1, 1, 10_000.0, 200.0), _cell("rest", 100, 64, 900.0, 40_000.0)],
                   [_cell("grpc", 1, 1, 1_000.0, 2_000.0), _cell("rest", 100, 64, 300.0, 80_000.0)], in_process_us=20.0)
    throughput, tail, round_trip = targets.serve_checks(serve)
    assert (throughput.met, throughput.status) == (False, "missed: 1.67x short at REST, 100 rows, concurrency 64")
    assert (tail.met, tail.figure) == (False, "lowest 2.0x (REST, 100 rows, concurrency 64)")
    assert (round_trip.met, round_trip.figure) == (True, "gRPC 100 us - in-process 20.0 us = 80.0 us")


def test_serve_goals_without_mlserver_are_not_measured_and_the_report_shows_the_table():
    serve = _serve([_cell("grpc", 1, 1, 10_000.0, 200.0)], [], in_process_us=None)
    serve["kafka"] = {"plan": {"throughput_records": 2_000, "latency_records": 500, "latency_rate": 250},
                      "embedded": {"throughput": {"records_per_second": 9_000.0}, "latency": {"p50_ms": 4.0, "p99_ms": 9.0}},
                      "failed": "the Kafka benchmark failed (exit 1): broker"}
    assert [c.met for c in targets.serve_checks(serve)] == [None, None, None]
    section = report._serve_section({"serve": serve})
    assert "| embedded | 9,000 | 4 | 9 |" in section
    assert "Did not finish: the Kafka benchmark failed (exit 1): broker" in section
    assert section[0] == "## Model servers: jarscore serve and MLServer (lgbm500)"
    assert "| gRPC | 1 | 1 | 50,000 | 10,000 | 0.10 | 0.20 | - | - | - | - | - |" in section


def _spark(rate_per_cpu: dict[str, float], skipped: set[str] = frozenset()) -> dict:
    """Made-up Spark figures: engine -> rows per CPU-second at 1M rows (the warm-up's at half the rate)."""
    engines = {}
    for engine, rate in rate_per_cpu.items():
        figure = {"rows_per_second": rate, "rows_per_cpu_second": rate, "seconds": 1.0, "cpu_seconds": 1.0}
        warmup = {**figure, "rows_per_cpu_second": rate / 2}
        engines[engine] = {"warmup": warmup, "1000000": {"skipped": "too slow"} if engine in skipped else figure}
    engines["jpmml-evaluator-spark"] = {"unavailable": "does not resolve"}
    return {"spark": {"spark_version": "4.2.0", "master": "local[2]", "partitions": 16, "start_seconds": 5.0,
                      "sizes": [1_000_000], "engines": {}, "models": {"lgbm500": engines}}}


def test_spark_targets_compare_rows_per_cpu_second_and_fall_back_to_the_warm_up():
    from benchmarks import spark_side

    text = "\n".join(spark_side.report_section(_spark(
        {"jarscore-spark": 300_000.0, "mapInPandas-native": 60_000.0, "jarscore-spark-jpmml": 20_000.0},
        skipped={"jarscore-spark-jpmml"})))
    assert "lgbm500: >= 3x mapInPandas-native: 5.0x on 1,000,000 rows" in text and ": met" in text
    # the JPMML run was skipped at 1M: the warm-up jobs compare (150,000 against 10,000 per CPU-second)
    assert ">= 10x jarscore-spark-jpmml: 15.0x on the warm-up job" in text
    assert "10,000*" in text and "does not resolve" in text

    missed = "\n".join(spark_side.report_section(_spark({"jarscore-spark": 100_000.0, "mapInPandas-native": 50_000.0})))
    assert ">= 3x mapInPandas-native: 2.0x on 1,000,000 rows (100,000 against 50,000 rows per CPU-second): " \
           "missed: 1.50x short" in missed
    assert ">= 10x jarscore-spark-jpmml: not measured" in missed
