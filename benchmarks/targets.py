"""The fast kernel's performance targets, checked against one results file: for each, the figure
this run measured, whether it meets the target, and if not by how much. Nothing here measures; the
report and the README print what ``checks`` finds."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.report import _us, native_of, p50, ran, runs

#: Rows in the batch the throughput targets are about.
BIG_BATCH = "1000000"


@dataclass(frozen=True)
class Check:
    target: str
    figure: str         # what this run measured, with the figures it was computed from
    met: bool | None    # None: the run lacks a figure the target needs
    gap: str            # how far off a missed target is ("" when met or not measured)

    @property
    def status(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else f"missed: {self.gap}"


def checks(results: dict) -> list[Check]:
    """Every target the run's models allow, in the order of the issue that set them."""
    models = results["models"]
    found = []
    if "lgbm500" in models:
        found += _single_row_lgbm500(results)
    if "xgb500" in models:
        found.append(_faster_than_native(results, "xgb500", 20.0))
    found += [_java_against_transpiled(results, model) for model in models]
    found += [_batch_against_native(results, model) for model in models]
    if "serve" in results:
        found += serve_checks(results["serve"])
    return found


#: jarscore serve against MLServer, every protocol, request size and concurrency (issue 22).
SERVE_TIMES = 5.0
ROUND_TRIP_US = 100.0


def serve_checks(serve: dict) -> list[Check]:
    model = serve.get("model", "lgbm500")
    throughput = Check(f"{model} served: >= {SERVE_TIMES:g}x MLServer's requests/s, every protocol, size and concurrency",
                       "-", None, "")
    tail = Check(f"{model} served: p99 <= 1/{SERVE_TIMES:g} of MLServer's, every protocol, size and concurrency",
                 "-", None, "")
    round_trip = Check(f"{model} single-row gRPC round trip (concurrency 1, p50) within {ROUND_TRIP_US:g} us of the "
                       "in-process call", "-", None, "")
    pairs = serve_pairs(serve)
    if pairs:
        speedups = [(ours["requests_per_second"] / theirs["requests_per_second"], key)
                    for key, ours, theirs in pairs if theirs["requests_per_second"] > 0]
        tails = [(theirs["p99_us"] / ours["p99_us"], key) for key, ours, theirs in pairs if ours["p99_us"] > 0]
        if speedups:
            worst, where = min(speedups)
            throughput = Check(throughput.target, f"lowest {worst:.1f}x ({_cell(where)})", worst >= SERVE_TIMES,
                               f"{SERVE_TIMES / worst:.2f}x short at {_cell(where)}")
        if tails:
            worst, where = min(tails)
            tail = Check(tail.target, f"lowest {worst:.1f}x ({_cell(where)})", worst >= SERVE_TIMES,
                         f"{SERVE_TIMES / worst:.2f}x short at {_cell(where)}")
    grpc = next((c for c in serve_cells(serve, "jarscore") if (c["protocol"], c["rows"], c["concurrency"]) == ("grpc", 1, 1)),
                None)
    in_process = serve.get("in_process", {})
    if grpc and "p50_us" in in_process:
        gap = grpc["p50_us"] - in_process["p50_us"]
        round_trip = Check(round_trip.target, f"gRPC {_us(grpc['p50_us'])} us - in-process {_us(in_process['p50_us'])} us"
                           f" = {_us(gap)} us", gap <= ROUND_TRIP_US, f"{_us(gap - ROUND_TRIP_US)} us over")
    return [throughput, tail, round_trip]


def serve_cells(serve: dict, server: str) -> list[dict]:
    return serve.get("servers", {}).get(server, {}).get("cells", [])


def serve_pairs(serve: dict) -> list[tuple[tuple, dict, dict]]:
    """(protocol, rows, concurrency), jarscore's cell, MLServer's cell: each measured cell both servers answered."""
    theirs = {(c["protocol"], c["rows"], c["concurrency"]): c for c in serve_cells(serve, "mlserver")}
    return [((c["protocol"], c["rows"], c["concurrency"]), c, theirs[(c["protocol"], c["rows"], c["concurrency"])])
            for c in serve_cells(serve, "jarscore") if (c["protocol"], c["rows"], c["concurrency"]) in theirs]


def _cell(key: tuple) -> str:
    protocol, rows, concurrency = key
    return f"{'gRPC' if protocol == 'grpc' else 'REST'}, {rows} row{'s' if rows != 1 else ''}, concurrency {concurrency}"


def _single_row_lgbm500(results: dict) -> list[Check]:
    target = "lgbm500 single row from Python: p50 <= 5 us"
    ours = p50(_record(results, "lgbm500", "jarscore"), "array")
    latency = Check(target, "-", None, "") if ours is None \
        else Check(target, f"{_us(ours)} us", ours <= 5.0, f"{ours / 5.0:.2f}x too slow")
    transpiled = p50(_record(results, "lgbm500", "jpmml_evaluator-transpiled"), "mapping")
    return [latency, _faster_than_native(results, "lgbm500", 8.0),
            _ratio_check("lgbm500 single row: >= 40x jpmml_evaluator transpiled (it takes mappings only)",
                         transpiled, ours, 40.0, "jpmml_evaluator transpiled", "jarscore")]


def _faster_than_native(results: dict, model: str, times: float) -> Check:
    native = native_of(results, model)
    name = native["engine"] if native else "the native library"
    return _ratio_check(f"{model} single row from Python: >= {times:g}x {name}", p50(native, "array"),
                        p50(_record(results, model, "jarscore"), "array"), times, name, "jarscore")


def _java_against_transpiled(results: dict, model: str) -> Check:
    return _ratio_check(f"{model} inside the JVM (JMH): >= 3x JPMML-Evaluator on the transpiled classes",
                        p50(_record(results, model, "jpmml-java-transpiled"), "mapping"),
                        p50(_record(results, model, "jarscore-java"), "mapping"), 3.0, "JPMML transpiled",
                        "jarscore")


def _batch_against_native(results: dict, model: str) -> Check:
    native = native_of(results, model)
    ours = _record(results, model, "jarscore")
    theirs, mine = _rows_per_second(native), _rows_per_second(ours)
    name = native["engine"] if native else "the native library"
    target = f"{model} batch of 1,000,000 rows: >= 2x {name}'s throughput"
    if theirs is None or mine is None:
        return Check(target, "-", None, "")
    threads = f" ({ours.get('batch_threads', '?')} threads against {native.get('batch_threads', '?')})"
    speedup = mine / theirs
    return Check(target, f"{mine:,.0f} against {theirs:,.0f} rows/s = {speedup:.2f}x{threads}", speedup >= 2.0,
                 f"{2.0 / speedup:.2f}x short")


def _ratio_check(target: str, their_us: float | None, our_us: float | None, times: float, them: str,
                 us: str) -> Check:
    """At least ``times`` faster: their p50 over ours."""
    if their_us is None or our_us is None:
        return Check(target, "-", None, "")
    speedup = their_us / our_us
    return Check(target, f"{them} {_us(their_us)} us / {us} {_us(our_us)} us = {speedup:.1f}x", speedup >= times,
                 f"{times / speedup:.2f}x short")


def _record(results: dict, model: str, engine: str) -> dict | None:
    return next((r for r in runs(results, model) if r["engine"] == engine and ran(r)), None)


def _rows_per_second(record: dict | None) -> float | None:
    figure = (record or {}).get("throughput", {}).get(BIG_BATCH)
    return figure["rows_per_second"] if figure else None


def table(results: dict) -> list[str]:
    """The checks as a Markdown table."""
    lines = ["| target | this run | status |", "|---|---|---|"]
    lines += [f"| {c.target} | {c.figure} | {c.status} |" for c in checks(results)]
    return lines
