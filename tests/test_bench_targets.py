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


def test_runs_of_one_day_never_share_a_results_file(tmp_path):
    import datetime as dt
    import socket

    from benchmarks.run import default_engines, results_path

    now, day = dt.datetime(2026, 11, 30, 14, 5, 9), f"2026-11-30-{socket.gethostname()}"
    name = lambda quick, named: results_path(tmp_path, quick, named, now).name
    assert name(False, None) == name(False, default_engines(False)[::-1]) == f"{day}.json"
    assert name(True, None) == f"{day}-quick.json"
    assert name(False, ["serve"]) == f"{day}-serve.json"
    assert name(True, ["jarscore", "lightgbm", "java"]) == f"{day}-quick-jarscore-lightgbm-java.json"
    assert name(False, ["jarscore", "lightgbm", "onnxruntime", "cold-start"]) == f"{day}-partial.json"
    (tmp_path / f"{day}-serve.json").write_text("{}")
    assert name(False, ["serve"]) == f"{day}-serve-140509.json"


def _peer(model: str, engine: str, latency: dict | None = None, big_batch: float | None = None) -> dict:
    return {**_run(model, engine, latency, big_batch), "kind": "peer"}


def _cold(model: str, engine: str, seconds: float, language: str = "python") -> dict:
    return {"model": model, "engine": engine, "language": language, "median_seconds": seconds, "seconds": [seconds]}


def test_peer_targets_name_the_best_peer_for_each_figure():
    results = _results([
        _run("lgbm500", "jarscore", _latency(array=4.0), big_batch=400_000.0),
        _run("lgbm500", "lightgbm", _latency(array=60.0), big_batch=60_000.0),
        _peer("lgbm500", "lleaves", _latency(array=20.0), big_batch=300_000.0),
        _peer("lgbm500", "onnxruntime", _latency(array=10.0), big_batch=90_000.0),
        {"model": "lgbm500", "engine": "tl2cgen", "kind": "peer", "unavailable": "refused: 3 of 1000 rows differ"},
    ], models=("lgbm500",))
    results["models"]["lgbm500"]["trees"] = 500
    by = {c.target: c for c in targets.checks(results)}
    row = by["lgbm500 single row from Python: >= 3x the best peer"]
    assert (row.met, row.figure) == (False, "onnxruntime (array) 10.0 us / jarscore 4.0 us = 2.5x")
    assert row.status == "missed: 1.20x short"
    batch = by["lgbm500 batch of 1,000,000 rows: >= 1.5x the best peer's throughput"]
    assert batch.met is False and batch.figure.startswith("400,000 against lleaves's 300,000 rows/s = 1.33x")
    ns = by["lgbm500 batch: <= 3 ns per tree per row on one core"]
    assert (ns.met, ns.figure) == (False, "10.0 ns (400,000 rows/s on 2 threads, 500 trees)")  # 1e9 * 2 / 4e5 / 500
    summary = "\n".join(report.summary_section(results))
    assert "| lgbm500 | single row p50, array (us) | 4.0 | 60.0 | onnxruntime 10.0 | 15.0x faster | 2.5x faster |" in summary
    assert "| lgbm500 | batch of 1,000,000 (rows/s) | 400,000 | 60,000 | lleaves 300,000 | 6.7x faster | 1.3x faster |" in summary


def test_a_model_no_peer_takes_says_why():
    results = _results([_run("lgbm500", "jarscore", _latency(array=4.0)),
                        {"model": "lgbm500", "engine": "lleaves", "kind": "peer", "unavailable": "no compiler"}],
                       models=("lgbm500",))
    by = {c.target: c for c in targets.checks(results)}
    assert by["lgbm500 single row from Python: >= 3x the best peer"].status == "not measured"
    assert "n/a (lleaves: no compiler)" in "\n".join(report.summary_section(results))


def test_peers_that_skipped_the_million_rows_say_so_before_peers_that_cannot_take_the_model():
    slow = {**_peer("rf200", "onnxruntime", _latency(array=200.0)),
            "throughput": {"10000": {"rows_per_second": 30_000.0}},
            "skipped": {"batch-1000000": "skipped: one call would take about 33 s"}}
    results = _results([_run("rf200", "jarscore", _latency(array=90.0), big_batch=52_000.0), slow,
                        {"model": "rf200", "engine": "lleaves", "kind": "peer", "unavailable": "LightGBM only"}],
                       models=("rf200",))
    batch = {c.target: c for c in targets.checks(results)}["rf200 batch of 1,000,000 rows: >= 1.5x the best peer's throughput"]
    assert batch.status == "not measured"
    assert batch.figure == ("52,000 rows/s; no peer: n/a (onnxruntime: skipped: one call would take about 33 s; "
                            "lleaves: LightGBM only)")
    summary = "\n".join(report.summary_section(results))
    assert ("| rf200 | batch of 1,000,000 (rows/s) | 52,000 | - | n/a (onnxruntime: skipped: one call would take "
            "about 33 s; lleaves: LightGBM only) |") in summary
    # where the peer has the figure it is named, and a skip of another figure is not reported
    assert "| rf200 | batch of 10,000 (rows/s) | 1 | - | onnxruntime 30,000 |" in summary


def test_cold_start_size_and_conversion_targets():
    results = _results([], models=("lgbm500", "rf200"))
    results["models"]["lgbm500"].update(sizes_bytes={"pickle": 3_000_000, "artifact_folder": 2_000_000, "jar": 900_000},
                                        build={"convert_seconds": 9.0})
    results["models"]["rf200"].update(sizes_bytes={"pickle": 30 * 2**20, "artifact_folder": 96 * 2**20, "jar": 15 * 2**20},
                                      build={"convert_seconds": 85.0})
    results["cold_start"] = [_cold("lgbm500", "jarscore", 1.9), _cold("lgbm500", "lightgbm", 1.2),
                             _cold("lgbm500", "jarscore-java", 0.4, "java"), _cold("rf200", "jarscore", 2.0),
                             _cold("rf200", "sklearn-api", 2.5), _cold("rf200", "jarscore-java", 0.8, "java"),
                             _cold("rf200", "jarscore-java-cds", 0.6, "java")]
    by = {c.target: c for c in targets.checks(results)}
    assert by["lgbm500 cold start from Python: no slower than lightgbm's own"].status == "missed: 1.58x slower"
    assert by["rf200 cold start from Python: no slower than sklearn-api's own"].met is True
    assert by["lgbm500 cold start from Java: <= 0.5 s"].met is True
    # judged with class-data sharing where the run has that figure, both shown
    assert by["rf200 cold start from Java: <= 0.5 s"].status == "missed: 1.20x too slow"
    assert by["rf200 cold start from Java: <= 0.5 s"].figure == "0.80 s, 0.60 s with AppCDS (medians)"
    assert by["lgbm500 artifact folder: no larger than the pickle"].met is True
    assert by["lgbm500 model.jar: at least 3x smaller than the pickle"].met is True
    assert by["rf200 artifact folder: no larger than the pickle"].status == "missed: 3.20x too large"
    assert by["rf200 model.jar: at least 3x smaller than the pickle"].status == "missed: 1.50x too large"
    assert by["rf200 conversion: <= 20 s"].status == "missed: 4.25x too slow"
    assert all(c.group == targets.PEERS for c in by.values() if "cold start" in c.target)


def test_the_docs_section_sits_between_its_markers(tmp_path):
    results = _results([_run("lgbm500", "jarscore", _latency(array=4.0)),
                        _run("lgbm500", "lightgbm", _latency(array=60.0))], models=("lgbm500",))
    results.update(command="jarscore bench", started="2026-11-30T00:00:00+00:00",
                   machine={"cpu": "test cpu", "cores": 2})
    results["models"]["lgbm500"].update(describe="d", inputs=50, sizes_bytes={"pickle": 10}, build={"convert_seconds": 1.0})
    section = report.docs_section(results, report.ROOT / "benchmarks" / "results" / "x.json")
    assert section.startswith(report.DOCS_START) and section.endswith(report.DOCS_END)
    assert "[`x.json`](../benchmarks/results/x.json)" in section
    assert "### jarscore against the native library and the best peer" in section
    assert "### Targets" in section and "#### The fast kernel's earlier targets" in section


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
