"""Turns one results JSON into the Markdown report and the PNG plots beside it, and (on request) the
README's results section. Nothing here measures; everything printed comes from the JSON."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Callable

from benchmarks import spark_side
from benchmarks.engines import NATIVE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_START, README_END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"
DOCS = ROOT / "docs" / "benchmarks.md"
DOCS_START, DOCS_END = "<!-- bench-report:start -->", "<!-- bench-report:end -->"
BATCHES = ("1", "100", "10000", "1000000")


def load(path: Path) -> dict:
    return json.loads(Path(path).read_text())


def write(path: Path) -> list[Path]:
    """Writes <stem>.md, <stem>-latency.png and <stem>-throughput.png next to the results file."""
    path = Path(path)
    results = load(path)
    markdown = path.with_suffix(".md")
    plots = [path.with_name(path.stem + "-latency.png"), path.with_name(path.stem + "-throughput.png")]
    _plot_latency(results, plots[0])
    _plot_throughput(results, plots[1])
    markdown.write_text(render(results, plots))
    return [markdown, *plots]


# figures ------------------------------------------------------------------------------------------
def runs(results: dict, model: str) -> list[dict]:
    return [r for r in results["runs"] if r["model"] == model]


def ran(record: dict) -> bool:
    return "failed" not in record and "unavailable" not in record


def record_of(results: dict, model: str, engine: str) -> dict | None:
    """The engine's record on the model, if it ran."""
    return next((r for r in runs(results, model) if r["engine"] == engine and ran(r)), None)


def native_of(results: dict, model: str) -> dict | None:
    family = results["models"][model]["family"]
    for record in runs(results, model):
        if record["engine"] == NATIVE[family] and ran(record):
            return record
    return None


def p50(record: dict | None, shape: str | None) -> float | None:
    if not record or shape is None:
        return None
    figure = record.get("latency", {}).get(shape)
    return figure["median_us"] if figure else None


def row_shape(record: dict | None) -> str | None:
    """The row shape single-row figures compare on: an array row where the engine takes one."""
    latency = (record or {}).get("latency", {})
    return "array" if "array" in latency else "mapping" if "mapping" in latency else None


def compare_shape(results: dict, model: str) -> str | None:
    """The row shape single rows are compared on: the native library's (an array row where it takes one)."""
    native = native_of(results, model)
    ours = next((r for r in runs(results, model) if r["engine"] == "jarscore" and ran(r)), None)
    return row_shape(native) or row_shape(ours)


def rows_per_second(record: dict | None, size: str) -> float | None:
    figure = (record or {}).get("throughput", {}).get(size)
    return figure["rows_per_second"] if figure else None


def peers_of(results: dict, model: str) -> list[dict]:
    return [r for r in runs(results, model) if r.get("kind") == "peer"]


def best_peer(results: dict, model: str, figure: str, key: str | None) -> dict | None:
    """The peer with the best figure on ``model``: the lowest single-row p50 for ``figure="row"``
    (``key``: the row shape), the most rows/s for ``figure="batch"`` (``key``: the batch size)."""
    if figure == "row":
        scored = [(p50(r, key), r) for r in peers_of(results, model) if ran(r)]
        scored = [(value, r) for value, r in scored if value is not None]
        return min(scored, key=lambda pair: pair[0])[1] if scored else None
    scored = [(rows_per_second(r, key), r) for r in peers_of(results, model) if ran(r)]
    scored = [(value, r) for value, r in scored if value is not None]
    return max(scored, key=lambda pair: pair[0])[1] if scored else None


def cold_start_of(results: dict, model: str, engine: str) -> float | None:
    record = next((r for r in results.get("cold_start", []) if r["model"] == model and r["engine"] == engine), None)
    return record.get("median_seconds") if record else None


def no_peer_reason(results: dict, model: str, figure: str | None = None) -> str:
    """Why no peer has a figure for ``model``: each peer's own reason, first those that ran and skipped
    ``figure`` (a row shape or ``batch-<size>``, as the worker's ``skipped`` names it), then those that
    could not take the model."""
    skipped = [f"{r['engine']}: {r['skipped'][figure]}" for r in peers_of(results, model)
               if ran(r) and figure in r.get("skipped", {})]
    absent = [f"{r['engine']}: {r.get('unavailable') or r.get('failed', '').splitlines()[0]}"
              for r in peers_of(results, model) if not ran(r)]
    reasons = skipped + absent
    return "n/a (" + "; ".join(reasons) + ")" if reasons else "n/a (no peer in this run)"


def ratio_text(native_us: float | None, engine_us: float | None) -> str:
    if not native_us or not engine_us:
        return ""
    speedup = native_us / engine_us
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"


def _us(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _load(values) -> str:
    return "-" if not values else ", ".join(f"{v:.1f}" for v in values)


def _load_note(results: dict) -> str:
    """The load the run shared the machine with, when it exceeded the cores: the figures are then
    slower than a quiet machine's, ratios within the run less so."""
    machine = results.get("machine", {})
    start, cores = machine.get("load_average_start"), machine.get("cores")
    if not start or not cores or start[0] <= cores:
        return ""
    return (f"Other work shared the machine: load average {start[0]:.1f} on {cores} cores at the start, so the "
            "figures are slower than a quiet machine's. ")


def _mb(value) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f}"


# markdown -----------------------------------------------------------------------------------------
def render(results: dict, plots: list[Path]) -> str:
    machine = results["machine"]
    lines = [f"# jarscore benchmark, {results['started'][:10]} on {machine['host']}", ""]
    if results["quick"]:
        lines += ["**Quick run** (smaller ensembles, short budgets): a smoke test, not figures to quote.", ""]
    if results.get("incomplete"):
        lines += [f"**Incomplete run**: {results['incomplete']}", ""]
    lines += [f"Command: `{results['command']}` ({results['seconds']:.0f} s). Machine: {machine['cpu']}, "
              f"{machine['cores']} cores, {machine['os']}, Python {machine['python']}, Java {machine['java']}.",
              "Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()) + ".", ""]
    if "load_average_start" in machine:
        lines += [f"Load average (1, 5, 15 min) at the start: {_load(machine['load_average_start'])}; at the end: "
                  f"{_load(machine.get('load_average_end'))} (other work on this shared machine; {machine['cores']} "
                  "cores).", ""]
    lines += ["Every figure below was measured in this one run, on this machine, each engine in a process of "
              "its own, one after another, after it agreed with the native library on 1 000 held-out rows. "
              "Single-row figures are per call (one row per call on one thread, after warm-up, rows cycling "
              "through 1000 held-out rows): Python engines timed by pytest-benchmark (`iterations=1`), Java "
              "engines by JMH (SampleTime, 1 thread). Ratios compare medians with the native library's own call "
              "on the same row shape.", ""]
    lines += summary_section(results)
    lines += _targets_section(results)
    lines += _models_table(results)
    lines += peers_section(results)
    lines += cold_start_section(results)
    for model in results["models"]:
        lines += _latency_table(results, model)
        lines += _throughput_table(results, model)
    lines += _start_table(results)
    lines += _kafka_section(results)
    lines += _serve_section(results)
    lines += spark_side.report_section(results)
    lines += _did_not_run(results)
    lines += ["## Plots", ""] + [f"![{p.stem}]({p.name})" for p in plots] + [""]
    return "\n".join(lines)


def _models_table(results: dict) -> list[str]:
    lines = ["## Models, jarscore's conversion and sizes", "",
             "| model | what | inputs used | conversion (s) | stages (s) | CPU seconds | pickle | native file "
             "| artifact folder | model.jar | PMML (model.pmml.gz) |", "|---|---|---:|---:|---|---:|---:|---:|---:|---:|---:|"]
    for name, info in results["models"].items():
        sizes = info["sizes_bytes"]
        stages = "; ".join(f"{stage} {seconds:.1f}" for stage, seconds in info["build"].get("stage_seconds", {}).items())
        cells = [_kb(sizes.get(key)) for key in ("pickle", "native_file", "artifact_folder", "jar", "pmml")]
        cpu = info["build"].get("convert_cpu_seconds")
        lines.append(f"| {name} | {info['describe']} | {info['inputs']} | {info['build']['convert_seconds']:.1f} | "
                     f"{stages} | {'-' if cpu is None else f'{cpu:.1f}'} | " + " | ".join(cells) + " |")
    lines += ["", "Conversion time (wall clock, `jarscore.convert` with its parity check on 1 000 held-out rows) is "
              "measured when a model is first built and cached (`benchmarks/.cache/`); delete the cache to measure "
              "it again; CPU seconds are the converting process's and the JVMs it ran. The native file is LightGBM's text model or XGBoost's JSON; scikit-learn models have only "
              "the pickle.", ""]
    return lines


def peers_section(results: dict) -> list[str]:
    """Each peer's conversion or compilation per model, the size of what it loads, or why it cannot."""
    lines = ["## Peers: conversion and compile time", "",
             "| model | peer | versions | seconds (wall) | stages (s) | CPU seconds | what it loads |",
             "|---|---|---|---:|---|---:|---|"]
    rows = 0
    for name, info in results["models"].items():
        for peer, built in info.get("peers", {}).items():
            rows += 1
            if "seconds" not in built:
                reason = built.get("unavailable") or built.get("failed", "")
                lines.append(f"| {name} | {peer} | | n/a: {reason} | | | |")
                continue
            versions = ", ".join(f"{k} {v}" for k, v in built.get("versions", {}).items())
            stages = "; ".join(f"{k} {v:.1f}" for k, v in built.get("stage_seconds", {}).items())
            loads = ", ".join(f"{k} {_kb(v)}" for k, v in built.get("files", {}).items())
            cpu = built.get("process_cpu_seconds")
            lines.append(f"| {name} | {peer} | {versions} | {built['seconds']:.1f} | {stages} | "
                         f"{'-' if cpu is None else f'{cpu:.1f}'} | {loads} |")
    if not rows:
        return []
    return lines + ["", "Each conversion ran once per model in a process of its own, timed from the converter's call "
                    "(imports and unpickling not counted). CPU seconds are the whole process's and its compilers' "
                    "(gcc): on a shared machine the wall time also counts waiting for a core.", ""]


def summary_section(results: dict) -> list[str]:
    """Per model and figure: jarscore, the native library, the best peer (named), and the ratios."""
    lines = ["## jarscore against the native library and the best peer", "",
             "| model | figure | jarscore | native | best peer | vs native | vs best peer |",
             "|---|---|---:|---|---|---|---|"]
    for model in results["models"]:
        ours, native = record_of(results, model, "jarscore"), native_of(results, model)
        shape = compare_shape(results, model)
        peer = best_peer(results, model, "row", shape)
        cells = _summary_cells(p50(ours, shape), p50(native, shape), p50(peer, shape), peer, "us", model, results,
                               shape)
        lines.append(f"| {model} | single row p50, {shape or '-'} (us) | {cells} |")
        for size in ("10000", "1000000"):
            peer = best_peer(results, model, "batch", size)
            cells = _summary_cells(rows_per_second(ours, size), rows_per_second(native, size),
                                   rows_per_second(peer, size), peer, "rows/s", model, results, f"batch-{size}")
            lines.append(f"| {model} | batch of {int(size):,} (rows/s) | {cells} |")
        peer_colds = [(cold_start_of(results, model, r["engine"]), r) for r in peers_of(results, model)]
        peer_colds = [(seconds, r) for seconds, r in peer_colds if seconds is not None]
        peer = min(peer_colds, key=lambda pair: pair[0])[1] if peer_colds else None
        cells = _summary_cells(cold_start_of(results, model, "jarscore"),
                               cold_start_of(results, model, NATIVE[results["models"][model]["family"]]),
                               cold_start_of(results, model, peer["engine"]) if peer else None, peer, "s", model, results)
        lines.append(f"| {model} | cold start from Python (s) | {cells} |")
    lines += ["", "Ratios say how many times faster (or slower) jarscore is. Single rows: p50 of one row per call "
              "on one thread; batches: median call, 2 threads against 2 (the threads column of each throughput "
              "table below); cold start: median of fresh processes to the first verified prediction. The best "
              "peer is chosen per figure, so it can differ from row to row.", ""]
    return lines


def _summary_cells(ours, native, peer_value, peer, unit: str, model: str, results: dict,
                   figure: str | None = None) -> str:
    lower_is_better = unit in ("us", "s")

    def text(value):
        if value is None:
            return "-"
        return _us(value) if unit == "us" else f"{value:.2f}" if unit == "s" else f"{value:,.0f}"

    def ratio(theirs):
        if ours is None or theirs is None:
            return ""
        return ratio_text(theirs, ours) if lower_is_better else ratio_text(ours, theirs)

    native_cell = text(native)
    peer_cell = f"{peer['engine']} {text(peer_value)}" if peer and peer_value is not None else no_peer_reason(results, model, figure)
    return f"{text(ours)} | {native_cell} | {peer_cell} | {ratio(native)} | {ratio(peer_value)}"


def cold_start_section(results: dict) -> list[str]:
    records = results.get("cold_start", [])
    if not records:
        return []
    lines = ["## Cold start: a fresh process to its first verified prediction", "",
             "| model | engine | from | median (s) | each process (s) | vs native |", "|---|---|---|---:|---|---|"]
    for record in records:
        native = NATIVE[results["models"][record["model"]]["family"]]
        theirs = cold_start_of(results, record["model"], native)
        if "failed" in record:
            lines.append(f"| {record['model']} | {record['engine']} | {record['language']} | failed | "
                         f"{record['failed'].splitlines()[0][:200]} | |")
            continue
        each = ", ".join(f"{s:.2f}" for s in record["seconds"])
        versus = "(native)" if record["engine"] == native else \
            ratio_text(theirs, record["median_seconds"]) if record["language"] == "python" else ""
        lines.append(f"| {record['model']} | {record['engine']} | {record['language']} | {record['median_seconds']:.2f} "
                     f"| {each} | {versus} |")
    return lines + ["", "Python: `python -c` with a user's code: import, load the saved model (jarscore: `Scorer.load`, "
                    "with its checks), score one held-out row. Java: a fresh `java` running `Models.load` and one "
                    "`score(Map)`, the README's quick start. Timed from spawning the process to the wall clock "
                    "it prints after the first prediction (its exit is not counted); each prediction is checked "
                    "against the native library's. Nothing of the suite runs in these processes.", ""]


def _targets_section(results: dict) -> list[str]:
    from benchmarks import targets  # it reads its figures through this module's helpers
    lines = ["## Targets", "", "The targets set against the peers (speed, cold start, size, conversion time), checked "
             "against this run's figures (single rows: p50; batches: median call; cold start: median process). A "
             "missed target says how far off it is: how many times faster (or smaller) jarscore would have to be."]
    if results["quick"]:
        lines += ["", "This is a quick run of smaller models: its figures say nothing about the targets."]
    lines += [""] + targets.table(results, targets.PEERS) + ["", "### The fast kernel's earlier targets", ""]
    return lines + targets.table(results, targets.KERNEL) + [""]


def _kb(size: int | None) -> str:
    if size is None:
        return "-"
    return f"{size / 1024:,.0f} KiB" if size < 10 * 2**20 else f"{size / 2**20:,.1f} MiB"


def _latency_table(results: dict, model: str) -> list[str]:
    native = native_of(results, model)
    lines = [f"## {model}: single-row latency (microseconds)", "",
             "| engine | row given as | p50 | p99 | p99.9 | calls | p50 vs native |",
             "|---|---|---:|---:|---:|---:|---|"]
    for record in runs(results, model):
        for shape, fig in record.get("latency", {}).items():
            given = "mapping (Java Map)" if record.get("kind") == "java" else shape
            reference = p50(native, "array") if record.get("kind") == "java" else p50(native, shape)
            lines.append(f"| {record['engine']} | {given} | {_us(fig['median_us'])} | {_us(fig.get('p99_us'))} | "
                         f"{_us(fig.get('p99.9_us'))} | {fig.get('rounds') or '-'} | "
                         f"{'(native)' if record is native else ratio_text(reference, fig['median_us'])} |")
        for shape, reason in record.get("skipped", {}).items():
            if shape.startswith("row-"):
                lines.append(f"| {record['engine']} | {shape[4:]} | n/a | | | | {reason} |")
    lines += ["", "Java engines are compared with the native library's array-row call from Python.", ""]
    return lines


def _throughput_table(results: dict, model: str) -> list[str]:
    lines = [f"## {model}: batch throughput (rows per second, median call)", "",
             "| engine | threads | " + " | ".join(f"batch {int(b):,}" for b in BATCHES) + " |",
             "|---|---:|" + "---:|" * len(BATCHES)]
    notes = []
    for record in runs(results, model):
        if not record.get("throughput"):
            continue
        cells = []
        for size in BATCHES:
            fig = record["throughput"].get(size)
            if fig:
                cells.append(f"{fig['rows_per_second']:,.0f}")
            elif f"batch-{size}" in record.get("skipped", {}):
                notes.append(f"- {record['engine']}, batch {int(size):,}: {record['skipped'][f'batch-{size}']}")
                cells.append("skipped")
            else:
                cells.append("-")
        lines.append(f"| {record['engine']} | {record.get('batch_threads', '-')} | " + " | ".join(cells) + " |")
    return lines + [""] + notes + ([""] if notes else [])


def _start_table(results: dict) -> list[str]:
    lines = ["## Cold start, load time and memory", "",
             "| model | engine | process start to first prediction (s) | load (s) | resident memory after load (MiB) |",
             "|---|---|---:|---:|---:|"]
    for record in results["runs"]:
        if ran(record) and "cold_start_seconds" in record:
            load = record.get("load_seconds")
            lines.append(f"| {record['model']} | {record['engine']} | {record['cold_start_seconds']:.2f} | "
                         f"{'-' if load is None else f'{load:.3f}'} | {_mb(record.get('rss_after_load_bytes'))} |")
    lines += ["", "Resident memory is the whole process tree (pypmml's Py4J gateway is a child JVM). "
              "Load time includes starting the JVM where the engine needs one.", ""]
    return lines


def _serve_section(results: dict) -> list[str]:
    from benchmarks import targets
    serve = results.get("serve")
    if not serve:
        return []
    lines = [f"## Model servers: jarscore serve and MLServer ({serve['model']})", ""]
    if "failed" in serve or "unavailable" in serve:
        return lines + [f"Did not run: {(serve.get('failed') or serve.get('unavailable')).splitlines()[0]}", ""]
    plan, servers = serve["plan"], serve["servers"]
    mlserver = servers.get("mlserver", {}).get("settings", {})
    lines += [f"One load generator (`benchmarks/jvm`, `io.jarscore.bench.serve`: grpc-java and java.net.http, "
              f"closed loop, HdrHistogram) loads each server in turn, alone on the machine, with the same "
              f"requests: one [rows, 50] FP64 tensor of held-out rows, Open Inference Protocol over REST "
              f"(HTTP/1.1, JSON) and gRPC. First {plan.get('server_warmup_seconds', 0):g} s of untimed load on "
              f"each server (every protocol and size), then per cell: {plan['warmup_seconds']:g} s warm-up, then "
              f"{plan['seconds']:g} s measured; requests/s counts requests sent and answered inside that window; "
              f"latency is send to full response. *Ceiling*: the same load on servers that do no work "
              f"(Netty HTTP, grpc-java), the most this load generator can send on this machine. MLServer "
              f"{mlserver.get('version', '?')}, LightGBM runtime, default settings. Load average (1, 5, 15 min) "
              f"before: {_loads(serve.get('load_average_before'))}, after: {_loads(serve.get('load_average_after'))}.",
              ""]
    for server in ("jarscore", "mlserver"):
        record = servers.get(server, {})
        if "parity" in record:
            parity = record["parity"]
            lines.append(f"- {server}: output `{parity['output']}` on {parity['rows']} rows equals LightGBM's "
                         f"probabilities to {parity['max_abs_error']:.1e}.")
        elif "failed" in record:
            lines.append(f"- {server}: did not run: {record['failed'].splitlines()[0][:300]}")
    lines += ["", "| protocol | rows | concurrency | ceiling req/s | jarscore req/s | p50 ms | p99 ms | "
              "MLServer req/s | p50 ms | p99 ms | req/s ratio | p99 ratio |",
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    cells = {server: {(c["protocol"], c["rows"], c["concurrency"]): c for c in targets.serve_cells(serve, server)}
             for server in ("noop", "jarscore", "mlserver")}
    for key in sorted(set(cells["jarscore"]) | set(cells["mlserver"])):
        ceiling, ours, theirs = (cells[s].get(key) for s in ("noop", "jarscore", "mlserver"))
        ratio = f"{ours['requests_per_second'] / theirs['requests_per_second']:.1f}x" \
            if ours and theirs and theirs["requests_per_second"] else "-"
        tail = f"{theirs['p99_us'] / ours['p99_us']:.1f}x" if ours and theirs and ours["p99_us"] else "-"
        lines.append(f"| {'gRPC' if key[0] == 'grpc' else 'REST'} | {key[1]} | {key[2]} | {_rps(ceiling)} | "
                     f"{_rps(ours)} | {_ms(ours, 'p50_us')} | {_ms(ours, 'p99_us')} | {_rps(theirs)} | "
                     f"{_ms(theirs, 'p50_us')} | {_ms(theirs, 'p99_us')} | {ratio} | {tail} |")
    failures = [f"{s} {c['protocol']} {c['rows']}x{c['concurrency']}: {c['failed']} failed ({c.get('first_failure', '')[:150]})"
                for s in cells for c in cells[s].values() if c.get("failed")]
    lines += [""] + [f"- {line}" for line in failures] + ([""] if failures else [])
    in_process = serve.get("in_process", {})
    if "p50_us" in in_process:
        lines += [f"In-process single-row call ({in_process['how']}): p50 {_us(in_process['p50_us'])} us, "
                  f"p99 {_us(in_process['p99_us'])} us over {in_process['calls']:,} calls.", ""]
    lines += _kafka_deployments(serve.get("kafka"))
    lines += ["The goals (issue 22), checked against these figures:", "", "| target | this run | status |", "|---|---|---|"]
    lines += [f"| {c.target} | {c.figure} | {c.status} |" for c in targets.serve_checks(serve)] + [""]
    return lines


def _kafka_deployments(kafka: dict | None) -> list[str]:
    if not kafka:
        return []
    if "embedded" not in kafka and "remote" not in kafka:
        return [f"The Kafka app, embedded against remote: did not run: {kafka['failed'].splitlines()[0][:300]}", ""]
    plan = kafka["plan"]
    lines = [f"The Kafka Streams app (real broker, one stream thread, at-least-once) scoring embedded and "
             f"through jarscore serve (`jarscore.scoring=remote`, one gRPC call per record): "
             f"{plan['throughput_records']:,} records flat out, then {plan['latency_records']:,} at "
             f"{plan['latency_rate']:,}/s for latency (producer timestamp to result read).", "",
             "| deployment | records/s | p50 ms | p99 ms |", "|---|---:|---:|---:|"]
    for deployment in ("embedded", "remote"):
        figures = kafka.get(deployment)
        if figures:
            lines.append(f"| {deployment} | {figures['throughput']['records_per_second']:,.0f} | "
                         f"{figures['latency']['p50_ms']:,.0f} | {figures['latency']['p99_ms']:,.0f} |")
    if "failed" in kafka:
        lines += ["", f"Did not finish: {kafka['failed'].splitlines()[0][:300]}"]
    return lines + [""]


def _loads(values) -> str:
    return "-" if not values else ", ".join(f"{v:.1f}" for v in values)


def _rps(cell: dict | None) -> str:
    return "-" if not cell else f"{cell['requests_per_second']:,.0f}"


def _ms(cell: dict | None, key: str) -> str:
    return "-" if not cell else f"{cell[key] / 1000:,.2f}"


def _kafka_section(results: dict) -> list[str]:
    kafka = results.get("kafka")
    if not kafka:
        return []
    lines = [f"## Kafka Streams app ({kafka['model']}, real broker)", ""]
    if "failed" in kafka or "unavailable" in kafka:
        reason = kafka.get("failed") or kafka.get("unavailable")
        return lines + [f"Did not run: {reason.splitlines()[0]}", ""]
    throughput, latency, setup = kafka["throughput"], kafka["latency"], kafka["setup"]
    lines += ["| records/s through the app | records | end-to-end p50 (ms) | p90 (ms) | p99 (ms) | max (ms) | paced at |",
              "|---:|---:|---:|---:|---:|---:|---:|",
              f"| {throughput['records_per_second']:,.0f} | {throughput['records']:,} | {latency['p50_ms']:.0f} | "
              f"{latency['p90_ms']:.0f} | {latency['p99_ms']:.0f} | {latency['max_ms']:.0f} | "
              f"{latency['rate_per_second']:,}/s |", "",
              f"The broker ({setup['broker']}, started in {kafka['broker_start_seconds']:.1f} s) and "
              f"the app ({setup['app']}; {setup['stream_threads']} stream thread, {setup['processing_guarantee']}, "
              f"{setup['partitions']} input partitions) share this machine with the producer and consumer. "
              "Records/s: records sent flat out, from the first send to the last result read. Latency: records "
              "paced at the rate shown, from the producer's timestamp to when the consumer reads the result "
              "(millisecond clock).", ""]
    return lines


def _did_not_run(results: dict) -> list[str]:
    lines = ["## Engines that did not run", ""]
    for record in results["runs"]:
        if "retried_after" in record:
            lines.append(f"- {record['model']} x {record['engine']}: first attempt failed, figures are from the "
                         f"second: {record['retried_after']}")
        if "failed" in record:
            lines.append(f"- {record['model']} x {record['engine']}: **failed**: {record['failed'].splitlines()[0]}")
        elif "unavailable" in record and record["engine"] not in NATIVE.values():
            lines.append(f"- {record['model']} x {record['engine']}: n/a: {record['unavailable']}")
    if len(lines) == 2:
        lines.append("None (native engines only run on their own library's models).")
    return lines + [""]


# plots --------------------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


STYLE = {"jarscore": "-", "java": "-.", "native": "--", "peer": (0, (5, 1, 1, 1)), "pmml-runtime": ":"}


def _styler(results: dict):
    """One colour per engine across every panel; the line style says which kind of engine it is."""
    import matplotlib
    names = sorted({r["engine"] for r in results["runs"]})
    colours = matplotlib.colormaps["tab20"]
    kinds = {r["engine"]: r.get("kind", "?") for r in results["runs"]}
    # tab20 comes in dark/light pairs: take every dark colour first, then the light ones.
    slot = lambda engine: (2 * names.index(engine)) % 20 + (2 * names.index(engine)) // 20 % 2
    return lambda engine: {"color": colours(slot(engine)), "linestyle": STYLE.get(kinds[engine], "-")}


def _grid(plt, count: int):
    cols = 2
    rows = (count + cols - 1) // cols
    figure, axes = plt.subplots(rows, cols, figsize=(13, 4.6 * rows), squeeze=False)
    for extra in axes.flat[count:]:
        extra.set_visible(False)
    return figure, axes.flat


def _plot(results: dict, out: Path, draw: Callable, title: str, xlabel: str | None, ylabel: str,
          shape_x: Callable) -> None:
    """One panel per model, one line per engine (see ``_styler``), log scales; ``draw(axis, record,
    style)`` plots a record's lines and ``shape_x(axis)`` sets the x axis."""
    plt = _plt()
    models = list(results["models"])
    figure, axes = _grid(plt, len(models))
    style = _styler(results)
    for axis, model in zip(axes, models):
        for record in runs(results, model):
            draw(axis, record, style)
        shape_x(axis)
        axis.set_yscale("log")
        axis.set_title(f"{model}: {title}")
        if xlabel:
            axis.set_xlabel(xlabel)
        axis.set_ylabel(ylabel)
        axis.grid(True, which="both", alpha=0.3)
        axis.legend(fontsize=7, loc="best", framealpha=0.6)
    figure.suptitle(f"{results['started'][:10]} {results['machine']['host']}" + (" (quick run)" if results["quick"] else ""))
    figure.tight_layout()
    figure.savefig(out, dpi=110)
    plt.close(figure)


def _draw_latency(axis, record: dict, style) -> None:
    for shape, fig in record.get("latency", {}).items():
        points = [(p, fig.get(f"p{p:g}_us")) for p in (1, 5, 10, 25, 50, 75, 90, 95, 99, 99.9)]
        points = [(p, v) for p, v in points if v is not None]
        if points:
            label = f"{record['engine']} ({'Java' if record.get('kind') == 'java' else shape})"
            axis.plot([p / 100 for p, _ in points], [v for _, v in points], marker="o" if shape == "array" else "s",
                      markersize=3, label=label, **style(record["engine"]))


def _percentile_axis(axis) -> None:
    axis.set_xscale("logit")
    axis.set_xlim(0.008, 0.9995)
    axis.set_xticks([0.01, 0.1, 0.5, 0.9, 0.99, 0.999])
    axis.minorticks_off()
    axis.set_xticklabels(["p1", "p10", "p50", "p90", "p99", "p99.9"])


def _draw_throughput(axis, record: dict, style) -> None:
    points = sorted((int(size), fig["rows_per_second"]) for size, fig in record.get("throughput", {}).items())
    if points:
        axis.plot([s for s, _ in points], [r for _, r in points], marker="o",
                  label=f"{record['engine']} ({record.get('batch_threads', '?')} threads)", **style(record["engine"]))


def _plot_latency(results: dict, out: Path) -> None:
    _plot(results, out, _draw_latency, "single-row latency distribution", None, "microseconds per call (log)",
          _percentile_axis)


def _plot_throughput(results: dict, out: Path) -> None:
    _plot(results, out, _draw_throughput, "batch throughput", "rows per call (log)", "rows per second (log)",
          lambda axis: axis.set_xscale("log"))


# README and docs/benchmarks.md ------------------------------------------------------------------
def _source_line(results: dict, path: Path, start: Path) -> str:
    """Where the figures come from, with links relative to the file that prints them."""
    rel = Path(os.path.relpath(path, start.parent))
    return (f"Generated from [`{rel.name}`]({rel.as_posix()}) by `{results['command']}` on {results['started'][:10]} "
            f"({results['machine']['cpu']}, {results['machine']['cores']} cores). Full report: "
            f"[`{rel.with_suffix('.md').name}`]({rel.with_suffix('.md').as_posix()}).")


def readme_section(results: dict, path: Path) -> str:
    lines = [README_START, "", _source_line(results, path, README) + " Single row: p50 in microseconds, one row per "
             "call on one thread; batch: rows per second for a million rows, 2 threads against 2. Every engine "
             "agreed with the native library on 1 000 held-out rows before it was timed. " + _load_note(results)
             + "A dash: not measured in this run (the report says why).", "",
             "| model | jarscore row | native row | best peer row | jarscore 1M batch | native 1M batch | best peer 1M batch |",
             "|---|---:|---:|---|---:|---:|---|"]
    for model in results["models"]:
        ours, native = record_of(results, model, "jarscore"), native_of(results, model)
        shape = compare_shape(results, model)
        row_peer, batch_peer = best_peer(results, model, "row", shape), best_peer(results, model, "batch", "1000000")

        def rate(record):
            value = rows_per_second(record, "1000000")
            return "-" if value is None else f"{value:,.0f}"

        def us(record):
            return "-" if p50(record, shape) is None else _us(p50(record, shape))

        def named(record, figure):
            return f"{record['engine']} {figure(record)}" if record else "n/a"

        lines.append(f"| {model} | {us(ours)} | {us(native)} | {named(row_peer, us)} | {rate(ours)} | {rate(native)} | "
                     f"{named(batch_peer, rate)} |")
    from benchmarks import targets
    checked = [c for c in targets.checks(results) if c.group == targets.PEERS]
    met = sum(1 for c in checked if c.met)
    missed = sum(1 for c in checked if c.met is False)
    lines += ["", f"Targets: {met} met, {missed} missed, {len(checked) - met - missed} not measured; "
              "[docs/benchmarks.md](docs/benchmarks.md) lists each with its figure and, when missed, by how much "
              "and why.", "", README_END]
    return "\n".join(lines)


def docs_section(results: dict, path: Path) -> str:
    """The generated part of docs/benchmarks.md: the latest report's summary, targets, conversion,
    sizes, peers and cold start."""
    body = [DOCS_START, "", _source_line(results, path, DOCS), ""]
    if results["quick"]:
        body += ["**Quick run** (smaller ensembles, short budgets): a smoke test, not figures to quote.", ""]
    if results.get("incomplete"):
        body += [f"**Incomplete run**: {results['incomplete']}", ""]
    for section in (summary_section(results), _targets_section(results), _models_table(results),
                    peers_section(results), cold_start_section(results)):
        body += ["#" + line if line.startswith("#") else line for line in section]   # one level down
    return "\n".join(body + [DOCS_END])


def _replace_between(file: Path, start: str, end: str, section: str) -> None:
    text = file.read_text()
    if start not in text or end not in text:
        raise SystemExit(f"{file.name} has no {start} ... {end} markers to replace")
    text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    partial = file.with_name(file.name + ".partial")
    partial.write_text(text)
    os.replace(partial, file)


def update_readme(path: Path) -> None:
    """Replaces the generated sections of README.md and docs/benchmarks.md with this run's."""
    results = load(path)
    path = Path(path).resolve()
    _replace_between(README, README_START, README_END, readme_section(results, path))
    _replace_between(DOCS, DOCS_START, DOCS_END, docs_section(results, path))


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print("\n".join(str(p) for p in write(Path(argument))))
