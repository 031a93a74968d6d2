"""The performance targets, checked against one results file: for each, the figure this run
measured, whether it meets the target, and if not by how much. Nothing here measures; the report,
the README and docs/benchmarks.md print what ``checks`` finds.

Three groups: the targets of the issue that put the peers in the suite ("peers": speed against the
runtimes users would pick instead, cold start, size, conversion time), the fast kernel's earlier
ones ("kernel"), and the model server's against MLServer ("serve")."""

from __future__ import annotations

from dataclasses import dataclass

from benchmarks.engines import NATIVE
from benchmarks.report import (_kb, _us, best_peer, cold_start_of, compare_shape, native_of, no_peer_reason, p50,
                               record_of)

#: Rows in the batch the throughput targets are about.
BIG_BATCH = "1000000"
#: The models the batch targets name.
TREE_MODELS = ("lgbm500", "xgb500", "rf200")
PEERS, KERNEL, SERVE = "peers", "kernel", "serve"


@dataclass(frozen=True)
class Check:
    target: str
    figure: str         # what this run measured, with the figures it was computed from
    met: bool | None    # None: the run lacks a figure the target needs
    gap: str            # how far off a missed target is ("" when met or not measured)
    group: str = PEERS

    @property
    def status(self) -> str:
        return "not measured" if self.met is None else "met" if self.met else f"missed: {self.gap}"


def checks(results: dict) -> list[Check]:
    """Every target the run's models allow: the peers group first, then the kernel's, then the server's."""
    models = results["models"]
    tree_models = [m for m in TREE_MODELS if m in models]
    found = [_batch_against_native(results, m) for m in tree_models]
    found += [_batch_against_peer(results, m) for m in tree_models]
    if "lgbm500" in models:
        found.append(_ns_per_tree(results, "lgbm500", 3.0))
    found += [_row_against_peer(results, m) for m in models]
    if "lgbm500" in models:
        found.append(_single_row_p50(results, "lgbm500", 5.0))
    found += [_cold_against_native(results, m) for m in models]
    found += [_cold_java(results, m, 0.5) for m in models]
    found += [check for m in models for check in _sizes(results, m)]
    if "rf200" in models:
        found.append(_conversion(results, "rf200", 20.0))
    found += _kernel_checks(results)
    if "serve" in results:
        found += serve_checks(results["serve"])
    return found


# the peers group ----------------------------------------------------------------------------------
def _batch_against_native(results: dict, model: str, group: str = PEERS) -> Check:
    native = native_of(results, model)
    ours = record_of(results, model, "jarscore")
    theirs, mine = _rows_per_second(native), _rows_per_second(ours)
    name = native["engine"] if native else "the native library"
    target = f"{model} batch of 1,000,000 rows: >= 2x {name}'s throughput"
    if theirs is None or mine is None:
        return Check(target, "-", None, "", group)
    threads = f" ({ours.get('batch_threads', '?')} threads against {native.get('batch_threads', '?')})"
    speedup = mine / theirs
    return Check(target, f"{mine:,.0f} against {theirs:,.0f} rows/s = {speedup:.2f}x{threads}", speedup >= 2.0,
                 f"{2.0 / speedup:.2f}x short", group)


def _batch_against_peer(results: dict, model: str) -> Check:
    peer = best_peer(results, model, "batch", BIG_BATCH)
    ours = record_of(results, model, "jarscore")
    theirs, mine = _rows_per_second(peer), _rows_per_second(ours)
    target = f"{model} batch of 1,000,000 rows: >= 1.5x the best peer's throughput"
    if mine is not None and theirs is None:
        return Check(target, f"{mine:,.0f} rows/s; no peer: {no_peer_reason(results, model, f'batch-{BIG_BATCH}')}",
                     None, "")
    if theirs is None or mine is None:
        return Check(target, "-", None, "")
    speedup = mine / theirs
    threads = f" ({ours.get('batch_threads', '?')} threads against {peer.get('batch_threads', '?')})"
    return Check(target, f"{mine:,.0f} against {peer['engine']}'s {theirs:,.0f} rows/s = {speedup:.2f}x{threads}",
                 speedup >= 1.5, f"{1.5 / speedup:.2f}x short")


def _ns_per_tree(results: dict, model: str, most: float) -> Check:
    """Core time per tree per row from the million-row batch: wall time per row times the threads
    it ran on (which assumes the threads scale perfectly, so it never flatters), over the trees."""
    ours = record_of(results, model, "jarscore")
    rate, trees = _rows_per_second(ours), results["models"][model].get("trees")
    target = f"{model} batch: <= {most:g} ns per tree per row on one core"
    if rate is None or not trees:
        return Check(target, "-", None, "")
    threads = ours.get("batch_threads") or 1
    ns = 1e9 * threads / rate / trees
    return Check(target, f"{ns:.1f} ns ({rate:,.0f} rows/s on {threads} threads, {trees} trees)", ns <= most,
                 f"{ns / most:.2f}x too slow")


def _row_against_peer(results: dict, model: str) -> Check:
    ours = record_of(results, model, "jarscore")
    shape = compare_shape(results, model)
    peer = best_peer(results, model, "row", shape)
    target = f"{model} single row from Python: >= 3x the best peer"
    if peer is None or shape is None:
        return Check(target, "-", None, "")
    return _ratio_check(target, p50(peer, shape), p50(ours, shape), 3.0, f"{peer['engine']} ({shape})", "jarscore")


def _single_row_p50(results: dict, model: str, most: float) -> Check:
    target = f"{model} single row from Python: p50 <= {most:g} us"
    ours = p50(record_of(results, model, "jarscore"), "array")
    if ours is None:
        return Check(target, "-", None, "")
    return Check(target, f"{_us(ours)} us", ours <= most, f"{ours / most:.2f}x too slow")


def _cold_against_native(results: dict, model: str) -> Check:
    name = NATIVE[results["models"][model]["family"]]
    ours = cold_start_of(results, model, "jarscore")
    theirs = cold_start_of(results, model, name)
    target = f"{model} cold start from Python: no slower than {name}'s own"
    if ours is None or theirs is None:
        return Check(target, "-", None, "")
    return Check(target, f"jarscore {ours:.2f} s, {name} {theirs:.2f} s (medians)", ours <= theirs,
                 f"{ours / theirs:.2f}x slower")


def _cold_java(results: dict, model: str, most: float) -> Check:
    """Met with class-data sharing when the run has that figure (a Java service turns it on with two
    JVM flags, docs/kernel.md); both figures are shown."""
    target = f"{model} cold start from Java: <= {most:g} s"
    plain = cold_start_of(results, model, "jarscore-java")
    shared = cold_start_of(results, model, "jarscore-java-cds")
    judged = shared if shared is not None else plain
    if judged is None:
        return Check(target, "-", None, "")
    shown = [f"{plain:.2f} s" if plain is not None else None,
             f"{shared:.2f} s with AppCDS" if shared is not None else None]
    return Check(target, ", ".join(x for x in shown if x) + " (medians)", judged <= most,
                 f"{judged / most:.2f}x too slow")


def _sizes(results: dict, model: str) -> list[Check]:
    sizes = results["models"][model].get("sizes_bytes", {})
    pickle, folder, jar = sizes.get("pickle"), sizes.get("artifact_folder"), sizes.get("jar")
    found = []
    target = f"{model} artifact folder: no larger than the pickle"
    found.append(Check(target, "-", None, "") if not (pickle and folder) else
                 Check(target, f"{_kb(folder)} against {_kb(pickle)}", folder <= pickle, f"{folder / pickle:.2f}x too large"))
    target = f"{model} model.jar: at least 3x smaller than the pickle"
    found.append(Check(target, "-", None, "") if not (pickle and jar) else
                 Check(target, f"{_kb(jar)} against {_kb(pickle)} = {pickle / jar:.2f}x smaller", pickle / jar >= 3.0,
                       f"{3.0 * jar / pickle:.2f}x too large"))
    return found


def _conversion(results: dict, model: str, most: float) -> Check:
    seconds = results["models"][model].get("build", {}).get("convert_seconds")
    target = f"{model} conversion: <= {most:g} s"
    if seconds is None:
        return Check(target, "-", None, "")
    return Check(target, f"{seconds:.1f} s", seconds <= most, f"{seconds / most:.2f}x too slow")


# the kernel's earlier targets ---------------------------------------------------------------------
def _kernel_checks(results: dict) -> list[Check]:
    models = results["models"]
    found = []
    if "lgbm500" in models:
        ours = p50(record_of(results, "lgbm500", "jarscore"), "array")
        transpiled = p50(record_of(results, "lgbm500", "jpmml_evaluator-transpiled"), "mapping")
        found += [_faster_than_native(results, "lgbm500", 8.0),
                  _ratio_check("lgbm500 single row: >= 40x jpmml_evaluator transpiled (it takes mappings only)",
                               transpiled, ours, 40.0, "jpmml_evaluator transpiled", "jarscore", KERNEL)]
    if "xgb500" in models:
        found.append(_faster_than_native(results, "xgb500", 20.0))
    found += [_java_against_transpiled(results, model) for model in models]
    found += [_batch_against_native(results, model, KERNEL) for model in models if model not in TREE_MODELS]
    return found


def _faster_than_native(results: dict, model: str, times: float) -> Check:
    native = native_of(results, model)
    name = native["engine"] if native else "the native library"
    return _ratio_check(f"{model} single row from Python: >= {times:g}x {name}", p50(native, "array"),
                        p50(record_of(results, model, "jarscore"), "array"), times, name, "jarscore", KERNEL)


def _java_against_transpiled(results: dict, model: str) -> Check:
    return _ratio_check(f"{model} inside the JVM (JMH): >= 3x JPMML-Evaluator on the transpiled classes",
                        p50(record_of(results, model, "jpmml-java-transpiled"), "mapping"),
                        p50(record_of(results, model, "jarscore-java"), "mapping"), 3.0, "JPMML transpiled",
                        "jarscore", KERNEL)


# the model server against MLServer ---------------------------------------------------------------
#: jarscore serve against MLServer, every protocol, request size and concurrency (issue 22).
SERVE_TIMES = 5.0
ROUND_TRIP_US = 100.0


def serve_checks(serve: dict) -> list[Check]:
    model = serve.get("model", "lgbm500")
    throughput = Check(f"{model} served: >= {SERVE_TIMES:g}x MLServer's requests/s, every protocol, size and concurrency",
                       "-", None, "", SERVE)
    tail = Check(f"{model} served: p99 <= 1/{SERVE_TIMES:g} of MLServer's, every protocol, size and concurrency",
                 "-", None, "", SERVE)
    round_trip = Check(f"{model} single-row gRPC round trip (concurrency 1, p50) within {ROUND_TRIP_US:g} us of the "
                       "in-process call", "-", None, "", SERVE)
    pairs = serve_pairs(serve)
    if pairs:
        speedups = [(ours["requests_per_second"] / theirs["requests_per_second"], key)
                    for key, ours, theirs in pairs if theirs["requests_per_second"] > 0]
        tails = [(theirs["p99_us"] / ours["p99_us"], key) for key, ours, theirs in pairs if ours["p99_us"] > 0]
        if speedups:
            worst, where = min(speedups)
            throughput = Check(throughput.target, f"lowest {worst:.1f}x ({_cell(where)})", worst >= SERVE_TIMES,
                               f"{SERVE_TIMES / worst:.2f}x short at {_cell(where)}", SERVE)
        if tails:
            worst, where = min(tails)
            tail = Check(tail.target, f"lowest {worst:.1f}x ({_cell(where)})", worst >= SERVE_TIMES,
                         f"{SERVE_TIMES / worst:.2f}x short at {_cell(where)}", SERVE)
    grpc = next((c for c in serve_cells(serve, "jarscore") if (c["protocol"], c["rows"], c["concurrency"]) == ("grpc", 1, 1)),
                None)
    in_process = serve.get("in_process", {})
    if grpc and "p50_us" in in_process:
        gap = grpc["p50_us"] - in_process["p50_us"]
        round_trip = Check(round_trip.target, f"gRPC {_us(grpc['p50_us'])} us - in-process {_us(in_process['p50_us'])} us"
                           f" = {_us(gap)} us", gap <= ROUND_TRIP_US, f"{_us(gap - ROUND_TRIP_US)} us over", SERVE)
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


# helpers ------------------------------------------------------------------------------------------
def _ratio_check(target: str, their_us: float | None, our_us: float | None, times: float, them: str,
                 us: str, group: str = PEERS) -> Check:
    """At least ``times`` faster: their p50 over ours."""
    if their_us is None or our_us is None:
        return Check(target, "-", None, "", group)
    speedup = their_us / our_us
    return Check(target, f"{them} {_us(their_us)} us / {us} {_us(our_us)} us = {speedup:.1f}x", speedup >= times,
                 f"{times / speedup:.2f}x short", group)


def _rows_per_second(record: dict | None) -> float | None:
    figure = (record or {}).get("throughput", {}).get(BIG_BATCH)
    return figure["rows_per_second"] if figure else None


def table(results: dict, group: str | None = None) -> list[str]:
    """The checks (of one group, or all) as a Markdown table."""
    lines = ["| target | this run | status |", "|---|---|---|"]
    lines += [f"| {c.target} | {c.figure} | {c.status} |" for c in checks(results) if group in (None, c.group)]
    return lines
