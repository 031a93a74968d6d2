"""One engine on one model, in a process of its own: cold start, load time, memory, the parity check
on the held-out rows (an engine that fails it is not timed), then the pytest-benchmark microbenchmarks (single-row latency, batch throughput). Prints one JSON document.

A process per engine keeps the runtimes apart (each JVM bridge starts its own JVM with its own
classpath) and makes cold start and resident memory mean what they say."""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
import time
import traceback
from pathlib import Path

import numpy as np

from benchmarks import micro_cases
from benchmarks.engines import ENGINES
from benchmarks.interface import NotApplicable, ParityError, check_parity
from benchmarks.suite import build, standard_specs

PERCENTILES = (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9)
ROW_POOL = 1000


def _rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            pass
    return found


def tree_rss_bytes() -> int:
    """Resident memory of this process and its children (pypmml's Py4J gateway is a child JVM)."""
    pending, total = [os.getpid()], 0
    while pending:
        pid = pending.pop()
        total += _rss_bytes(pid)
        pending += _children(pid)
    return total


def _estimate(call, args, seconds: float = 0.2, limit: int = 200, least: int = 3) -> float:
    """Median seconds per call from a short probe outside pytest-benchmark (it also warms the
    engine, so a first cold call does not decide the plan)."""
    return float(np.median(_probe(call, args, seconds, limit, least)))


def _probe(call, args, seconds: float, limit: int, least: int, enough=None) -> list[float]:
    """Seconds of each call: at least ``least`` calls, more until ``seconds`` or ``limit``, or until
    a call's seconds are ``enough`` (a predicate) when one is given."""
    times = []
    deadline = time.perf_counter() + seconds
    while len(times) < limit and (len(times) < least or time.perf_counter() < deadline):
        started = time.perf_counter()
        call(*args)
        times.append(time.perf_counter() - started)
        if enough is not None and enough(times[-1]):
            break
    return times


def _rounds(per_call: float, budget: float, least: int, most: int) -> int:
    return int(min(most, max(least, budget / max(per_call, 1e-9))))


def _cycle(items):
    iterator = itertools.cycle(items)
    return lambda: (next(iterator),)


def _add_row_cases(engine, rows, plan, skipped):
    mappings = [{k: (float(v) if isinstance(v, (float, np.floating)) else v) for k, v in r.items()}
                for r in rows.to_dict(orient="records")]
    arrays = [np.asarray(r, dtype=np.float64 if rows.dtypes.map(lambda d: d.kind == "f").all() else object)
              for r in rows.to_numpy()]
    arrays = [engine.row_input(a) for a in arrays]    # float32 or its own matrix type, where it wants it
    for shape, call, pool in (("mapping", engine.score_mapping, mappings), ("array", engine.score_array, arrays)):
        try:
            per_call = _estimate(call, (pool[0],))
        except NotApplicable as reason:
            skipped[f"row-{shape}"] = str(reason)
            continue
        rounds = _rounds(per_call, plan["row_seconds"], plan["row_rounds_min"], plan["row_rounds_max"])
        micro_cases.CASES.append(micro_cases.Case(f"row-{shape}", call, _cycle(pool), rounds,
                                                  warmup=min(rounds, plan["row_warmup"])))


def _add_batch_cases(engine, model, plan, skipped):
    per_row = None
    smaller = None      # (the last probed batch, its rows), while one call of it takes under a second
    for size in sorted(plan["batch_sizes"]):
        case_id = f"batch-{size}"
        if per_row is not None and per_row * size > plan["max_call_seconds"] and smaller is not None:
            # Every call of the probe can come before the JIT has settled on the engine's batch path
            # (rf200's 10 000 rows on jarscore: 20-35 k rows/s for calls 10 to 50, about 15 s, then
            # 50-100 k): the smaller batch again, until one call fits or the recheck's time is up.
            fits = lambda seconds, rows=smaller[1]: seconds / rows * size <= plan["max_call_seconds"]  # noqa: E731
            warm = _probe(engine.score_batch, (smaller[0],), seconds=plan["warm_recheck_seconds"], limit=10_000,
                          least=1, enough=fits)
            per_row = min(per_row, min(warm) / smaller[1])
        if per_row is not None and per_row * size > plan["max_call_seconds"]:
            skipped[case_id] = (f"skipped: one call would take about {per_row * size:.0f} s (from the smaller "
                                f"batch's {1 / per_row:,.0f} rows/s), over --max-call-seconds "
                                f"{plan['max_call_seconds']:g}")
            continue
        batch = engine.batch_input(model.rows(size, seed_offset=size % 97))
        try:
            big = size >= 100_000      # already gated by the smaller batch's warm rate
            times = _probe(engine.score_batch, (batch,), seconds=0.0 if big else 0.3,
                           limit=1 if big else 5, least=1 if big else 3)
        except NotApplicable as reason:
            skipped[case_id] = str(reason)
            break
        per_call = float(np.median(times))
        # The next size is skipped only when even this size's fastest call says it would be too slow:
        # the probe's first calls run before the JIT (a JVM engine's median of three can be twice
        # its warm time, and a batch that fits the limit was skipped for it).
        per_row = min(times) / size
        smaller = (batch, size) if per_call < 1.0 else None
        rounds = _rounds(per_call, plan["batch_seconds"], plan["batch_rounds_min"], plan["batch_rounds_max"])
        # A big batch that takes under a second a call gets a warm-up call and five timed ones, as
        # three rounds after one cold estimate left its median to the first calls' JIT and heap
        # growth (pipeline, jarscore: 460 ms median against 270-320 ms from the fourth call on).
        under_a_second = per_call < 1.0
        micro_cases.CASES.append(micro_cases.Case(case_id, engine.score_batch, lambda b=batch: (b,),
                                                  max(rounds, 5) if big and under_a_second else rounds,
                                                  warmup=1 if size < 100_000 or under_a_second else 0))


def _summarise(bench: dict) -> dict:
    data = np.asarray(bench["stats"]["data"], dtype=np.float64) * 1e6
    out = {"rounds": len(data), "mean_us": float(data.mean()), "median_us": float(np.median(data))}
    for p in PERCENTILES:
        # A percentile needs enough samples beyond it to mean anything.
        out[f"p{p:g}_us"] = float(np.percentile(data, p)) if len(data) * (1 - p / 100) >= 1 - 1e-9 else None
    return out


def _run_cases() -> dict[str, dict]:
    """Runs micro_cases.CASES under pytest-benchmark and summarises each case's per-call timings."""
    import pytest
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "bench.json"
        # The JVM uses SIGSEGV internally; pytest's faulthandler would turn those into fatal errors.
        code = pytest.main([micro_cases.__file__, "-q", "-p", "no:cacheprovider", "-p", "no:faulthandler", "-o", "addopts=",
                            f"--benchmark-json={out}", "--benchmark-save-data"])
        if code != 0:
            raise RuntimeError(f"pytest-benchmark exited with code {code}")
        benches = json.loads(out.read_text())["benchmarks"]
    return {bench["param"]: _summarise(bench) for bench in benches}


def run(engine_name: str, model_name: str, quick: bool, plan: dict, spawned_at: float) -> dict:
    result: dict = {"engine": engine_name, "model": model_name, "skipped": {}}
    engine = ENGINES[engine_name]()
    model = build(standard_specs(quick)[model_name], log=lambda line: print(line, file=sys.stderr))
    result["kind"] = engine.kind
    try:
        engine.check(model)
    except NotApplicable as reason:
        result["unavailable"] = str(reason)
        return result
    rows = model.rows(ROW_POOL)
    first = rows.iloc[0].to_dict()
    rss_before = tree_rss_bytes()
    started = time.perf_counter()
    engine.setup(model)
    result["load_seconds"] = time.perf_counter() - started
    engine.score_mapping(first)
    result["cold_start_seconds"] = time.time() - spawned_at
    result["rss_after_load_bytes"] = tree_rss_bytes()
    result["rss_load_delta_bytes"] = result["rss_after_load_bytes"] - rss_before
    result["batch_threads"] = engine.batch_threads()
    try:
        result["parity"] = check_parity(engine, model)
    except ParityError as refused:
        result["unavailable"] = f"refused: {refused}"
        engine.close()
        return result

    micro_cases.CASES.clear()
    _add_row_cases(engine, rows, plan, result["skipped"])
    _add_batch_cases(engine, model, plan, result["skipped"])
    result["latency"], result["throughput"] = {}, {}
    for case_id, summary in _run_cases().items():
        if case_id.startswith("row-"):
            result["latency"][case_id[4:]] = summary
        else:
            size = int(case_id.split("-")[1])
            summary["rows"] = size
            summary["rows_per_second"] = size / (summary["median_us"] / 1e6)
            result["throughput"][str(size)] = summary
    engine.close()
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.worker")
    parser.add_argument("--engine", required=True, choices=sorted(ENGINES))
    parser.add_argument("--model", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--plan", required=True, help="JSON of rounds and budgets")
    parser.add_argument("--spawned-at", type=float, required=True, help="time.time() when the parent spawned us")
    parser.add_argument("--out", required=True)
    args = parser.parse_args(argv)
    try:
        result = run(args.engine, args.model, args.quick, json.loads(args.plan), args.spawned_at)
    except Exception as exc:      # reported, never invented: the report prints why the engine failed
        result = {"engine": args.engine, "model": args.model, "failed": f"{type(exc).__name__}: {exc}",
                  "traceback": traceback.format_exc()}
    Path(args.out).write_text(json.dumps(result, indent=1, allow_nan=False, default=_json_default))
    return 0


def _json_default(value):
    if isinstance(value, (np.floating, np.integer)):
        return value.item()
    raise TypeError(f"not JSON: {value!r}")


if __name__ == "__main__":
    sys.exit(main())
