"""Turns one results JSON into the Markdown report and the PNG plots beside it, and (on request) the
README's results section. Nothing here measures; everything printed comes from the JSON."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Callable

from benchmarks import spark_side
from benchmarks.engines import NATIVE

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
README_START, README_END = "<!-- bench-results:start -->", "<!-- bench-results:end -->"
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


def native_of(results: dict, model: str) -> dict | None:
    family = results["models"][model]["family"]
    for record in runs(results, model):
        if record["engine"] == NATIVE[family] and ran(record):
            return record
    return None


def p50(record: dict | None, shape: str) -> float | None:
    if not record:
        return None
    figure = record.get("latency", {}).get(shape)
    return figure["median_us"] if figure else None


def ratio_text(native_us: float | None, engine_us: float | None) -> str:
    if not native_us or not engine_us:
        return ""
    speedup = native_us / engine_us
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.1f}x slower"


def _us(value) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}" if value < 1 else f"{value:,.1f}" if value < 100 else f"{value:,.0f}"


def _mb(value) -> str:
    return "-" if value is None else f"{value / 2**20:,.0f}"


# markdown -----------------------------------------------------------------------------------------
def render(results: dict, plots: list[Path]) -> str:
    machine = results["machine"]
    lines = [f"# jarscore benchmark, {results['started'][:10]} on {machine['host']}", ""]
    if results["quick"]:
        lines += ["**Quick run** (smaller ensembles, short budgets): a smoke test, not figures to quote.", ""]
    lines += [f"Command: `{results['command']}` ({results['seconds']:.0f} s). Machine: {machine['cpu']}, "
              f"{machine['cores']} cores, {machine['os']}, Python {machine['python']}, Java {machine['java']}.",
              "Packages: " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()) + ".", "",
              "Every figure below was measured in this one run, on this machine, each engine in a process of "
              "its own, one after another. Single-row figures are per call (one row per call, after warm-up, "
              "rows cycling through 1000 held-out rows): Python engines timed by pytest-benchmark "
              "(`iterations=1`), Java engines by JMH (SampleTime, 1 thread). Ratios compare medians with the "
              "native library's own call on the same row shape.", ""]
    lines += _models_table(results)
    lines += _targets_section(results)
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
    lines = ["## Models", "", "| model | what | inputs used | conversion (s) | stages (s) | "
             "pickle | PMML | JAR |", "|---|---|---:|---:|---|---:|---:|---:|"]
    for name, info in results["models"].items():
        sizes = info["sizes_bytes"]
        stages = "; ".join(f"{stage} {seconds:.1f}" for stage, seconds in info["build"].get("stage_seconds", {}).items())
        lines.append(f"| {name} | {info['describe']} | {info['inputs']} | {info['build']['convert_seconds']:.1f} | "
                     f"{stages} | {_kb(sizes['pickle'])} | {_kb(sizes['pmml'])} | {_kb(sizes['jar'])} |")
    lines += ["", "Conversion time is measured when a model is first built and cached "
              "(`benchmarks/.cache/`); delete the cache to measure it again.", ""]
    return lines


def _targets_section(results: dict) -> list[str]:
    from benchmarks import targets  # it reads its figures through this module's helpers
    lines = ["## Targets", "", "The fast kernel's targets, checked against this run's figures (single rows: p50; "
             "batches: median call). A missed target says how far off it is: how many times faster jarscore "
             "would have to be."]
    if results["quick"]:
        lines += ["", "This is a quick run of smaller models: its figures say nothing about the targets."]
    return lines + [""] + targets.table(results) + [""]


def _kb(size: int) -> str:
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
            lines.append(f"- {record['model']} x {record['engine']}: {record['unavailable']}")
    if len(lines) == 2:
        lines.append("None (native engines only run on their own library's models).")
    return lines + [""]


# plots --------------------------------------------------------------------------------------------
def _plt():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


STYLE = {"jarscore": "-", "java": "-.", "native": "--", "pmml-runtime": ":"}


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


# README -------------------------------------------------------------------------------------------
def readme_section(results: dict, path: Path) -> str:
    rel = path.relative_to(ROOT) if path.is_relative_to(ROOT) else path
    lines = [README_START, "",
             f"Generated from [`{rel}`]({rel}) by `{results['command']}` on {results['started'][:10]} "
             f"({results['machine']['cpu']}, {results['machine']['cores']} cores). Full report: "
             f"[`{rel.with_suffix('.md')}`]({rel.with_suffix('.md')}). Single-row p50 in microseconds, "
             "one array row per call (Java: one Map row per call under JMH); the ratio is against the "
             "native library's own call on the same row, measured in the same run.", "",
             "| model | native | jarscore (Python) | jarscore (Java) | jpmml_evaluator transpiled | pypmml |",
             "|---|---|---|---|---|---|"]
    for model in results["models"]:
        native = native_of(results, model)
        shape = "array" if p50(native, "array") else "mapping"
        base = p50(native, shape)
        by_engine = {r["engine"]: r for r in runs(results, model) if ran(r)}

        def cell(engine: str, shape_of: str) -> str:
            value = p50(by_engine.get(engine), shape_of)
            if value is None:
                value = p50(by_engine.get(engine), "mapping")
            return "-" if value is None else f"{_us(value)} ({ratio_text(base, value)})"

        native_name = native["engine"] if native else "-"
        lines.append(f"| {model} | {native_name} {_us(base)} | {cell('jarscore', shape)} | "
                     f"{cell('jarscore-java', 'mapping')} | {cell('jpmml_evaluator-transpiled', 'mapping')} | "
                     f"{cell('pypmml', shape)} |")
    from benchmarks import targets
    checks = targets.checks(results)
    met = sum(1 for c in checks if c.met)
    missed = [c.target for c in checks if c.met is False]
    lines += ["", f"Targets: {met} of {len(checks)} met in this run"
              + (f"; missed: {'; '.join(missed)}." if missed else ".")
              + " Figures and margins: the full report's Targets section.", "", README_END]
    return "\n".join(lines)


def update_readme(path: Path) -> None:
    results = load(path)
    text = README.read_text()
    if README_START not in text or README_END not in text:
        raise SystemExit(f"README.md has no {README_START} ... {README_END} markers to replace")
    section = readme_section(results, Path(path).resolve())
    text = re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _: section, text, flags=re.S)
    README.write_text(text)


if __name__ == "__main__":
    for argument in sys.argv[1:]:
        print("\n".join(str(p) for p in write(Path(argument))))
