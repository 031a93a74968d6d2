"""`jarscore bench` / `python -m benchmarks`: builds the standard models, runs every engine on each
in a process of its own, runs JMH, and writes benchmarks/results/<date>-<host>[-quick][-<engines>].json
plus the Markdown report and plots generated from it."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shlex
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Callable

from benchmarks import cold_start, jvm_side, peers, report, serve, spark_side
from benchmarks.engines import ENGINES, NATIVE
from benchmarks.interface import NotApplicable
from benchmarks.suite import BuiltModel, build, standard_specs

RESULTS = Path(__file__).resolve().parent / "results"
FORMAT = 1
PLANS = {
    # Budgets are per engine, model and case; every call is timed on its own (pytest-benchmark,
    # iterations=1). Batches whose one call would exceed max_call_seconds (by the smaller batch's
    # fastest call, after warm_recheck_seconds more of them) are skipped with a reason;
    # 30 s lets the native libraries' million-row batches run (LightGBM's takes about 16 s here).
    "full": {"row_seconds": 2.0, "row_rounds_min": 2000, "row_rounds_max": 20000, "row_warmup": 500,
             "batch_sizes": [1, 100, 10_000, 1_000_000], "batch_seconds": 2.5, "batch_rounds_min": 3,
             "batch_rounds_max": 2000, "max_call_seconds": 30.0, "warm_recheck_seconds": 20.0, "worker_seconds": 600},
    "quick": {"row_seconds": 0.1, "row_rounds_min": 200, "row_rounds_max": 1000, "row_warmup": 50,
              "batch_sizes": [1, 100, 10_000], "batch_seconds": 0.1, "batch_rounds_min": 2,
              "batch_rounds_max": 50, "max_call_seconds": 2.0, "warm_recheck_seconds": 0.3, "worker_seconds": 300},
}
KAFKA_MODEL = "lgbm500"
SERVE_MODEL = "lgbm500"
#: The engines that are not Python engines of ``ENGINES``: JMH, fresh-process cold starts, the Kafka app,
#: the model servers and Spark.
OTHER_ENGINES = ["java", "cold-start", "kafka", "serve", "spark"]
PACKAGES = ("jarscore", "numpy", "pandas", "scikit-learn", "lightgbm", "xgboost-cpu", "sklearn2pmml",
            "jpmml_evaluator", "pypmml", "JPype1", "py4j", "pytest-benchmark", "pyspark", "pyarrow", "onnxruntime",
            "onnx", "onnxmltools", "skl2onnx", "lleaves", "llvmlite", "treelite", "tl2cgen")
#: Seconds a peer may take to convert or compile one model (gcc on rf200's deep trees is the long one).
PEER_CONVERT_SECONDS = {"full": 3600, "quick": 300}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    models = list(standard_specs(False))
    parser = argparse.ArgumentParser(prog="jarscore bench", description=__doc__)
    parser.add_argument("--models", nargs="+", choices=models, default=models, metavar="MODEL",
                        help=f"models to run (default: all of {', '.join(models)})")
    parser.add_argument("--engines", nargs="+", choices=sorted(ENGINES) + OTHER_ENGINES,
                        default=None, metavar="ENGINE",
                        help=f"engines to run (default: all of {', '.join(ENGINES)}, java, cold-start (fresh "
                             f"processes to a first prediction); and in full runs kafka, the Kafka Streams app on "
                             f"{KAFKA_MODEL} with a real broker, and spark, batch scoring in local[2] against "
                             f"mapInPandas and the JPMML path; serve, jarscore serve against MLServer on "
                             f"{SERVE_MODEL}, only when named: it installs MLServer). A run that names engines is "
                             "written as <date>-<host>-<engines>.json")
    parser.add_argument("--quick", action="store_true",
                        help="smaller models and short budgets: a smoke run of a few minutes, not for quoting")
    parser.add_argument("--out-dir", type=Path, default=RESULTS, help=f"where results go (default {RESULTS})")
    parser.add_argument("--max-call-seconds", type=float, default=None,
                        help="skip a batch size when one call would take longer than this (default 30, quick 2)")
    parser.add_argument("--row-rounds-min", type=int, default=None,
                        help="fewest timed calls per single-row case (default 2000, quick 200); fewer leave the "
                             "far percentiles unreported but keep slow engines short on a loaded machine")
    parser.add_argument("--reference-natives-only", action="store_true",
                        help="run sklearn-api only on scikit-learn models (not on the LightGBM and XGBoost "
                             "wrappers, whose own libraries are the reference)")
    parser.add_argument("--readme", action="store_true",
                        help="also replace the results table in README.md with this run's (full runs only)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    log: Callable[[str], None] = lambda line: print(line, file=sys.stderr, flush=True)
    plan = dict(PLANS["quick" if args.quick else "full"])
    if args.max_call_seconds is not None:
        plan["max_call_seconds"] = args.max_call_seconds
    if args.row_rounds_min is not None:
        plan["row_rounds_min"] = args.row_rounds_min
        plan["row_warmup"] = min(plan["row_warmup"], args.row_rounds_min)
    engines = args.engines or default_engines(args.quick)
    started = time.time()
    results = {"format": FORMAT, "quick": args.quick, "command": _command(argv), "plan": plan,
               "machine": _machine(), "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
               "models": {}, "runs": []}

    phases = results["phase_seconds"] = {}
    built = {}
    for name in args.models:
        spec = standard_specs(args.quick)[name]
        model = build(spec, log)
        model.rows(1000).to_csv(model.folder / "rows.csv", index=False)
        built[name] = model
        results["models"][name] = {"describe": spec.describe, "family": spec.family, "trees": spec.size,
                                   "sizes_bytes": model.sizes(), "build": model.build,
                                   "inputs": len(json.loads((model.artifact / "manifest.json").read_text())["inputs"])}

    phases["models"] = time.time() - started
    peer_names = [e for e in engines if e in peers.PEERS]
    for name, model in built.items():
        results["models"][name]["peers"] = {
            peer: {k: v for k, v in record.items() if k != "traceback"}
            for peer, record in peers.prepare(peer_names, model, args.quick,
                                              PEER_CONVERT_SECONDS["quick" if args.quick else "full"], log).items()}
    phases["peer conversion"] = time.time() - started - sum(phases.values())

    # Cold start before the long timing phase, in fresh processes that share nothing with it.
    if "java" in engines or "cold-start" in engines:
        _build_jmh(results, log)
    if "cold-start" in engines:
        # jarscore's and the native library's first (the targets compare them), the peers' at the end.
        java = ["jarscore-java", "jarscore-java-cds"] if "jmh_build_failed" not in results else []
        own = {name: ["jarscore", NATIVE[model.spec.family], *java] for name, model in built.items()}
        results["cold_start"] = cold_start.run(built, _cold_start_jobs(own, args.quick), args.quick, log)
        _save_progress(results, args.out_dir)
    phases["cold start"] = time.time() - started - sum(phases.values())

    python_engines = [e for e in engines if e in ENGINES]
    jobs = [(m, e) for m in built for e in python_engines
            if not (args.reference_natives_only and ENGINES[e].kind == "native" and e != NATIVE[built[m].spec.family]
                    and built[m].spec.family in ENGINES[e].families)]
    once = _quick_once(built, python_engines) if args.quick else {}
    for index, (model_name, engine_name) in enumerate(jobs, 1):
        if engine_name in once and once[engine_name] != model_name:
            record = {"engine": engine_name, "model": model_name, "kind": ENGINES[engine_name].kind,
                      "unavailable": f"not in quick runs, which run {engine_name} on {once[engine_name]} only"}
        else:
            record = _run_python_engine(engine_name, built[model_name],
                                        results["models"][model_name].get("peers", {}), args.quick, plan)
        results["runs"].append(record)
        log(f"bench: [{index}/{len(jobs)}] {model_name} x {engine_name}: {_one_line(record)}")
        _save_progress(results, args.out_dir)
    phases["python"] = time.time() - started - sum(phases.values())

    if "java" in engines:
        _run_java(built, args.quick, results, log)
    phases["java"] = time.time() - started - sum(phases.values())
    if "cold-start" in engines:
        theirs = {name: [e for e in peers.PEERS if e in engines and "seconds" in results["models"][name]["peers"].get(e, {})]
                  for name in built}
        results["cold_start"] += cold_start.run(built, _cold_start_jobs(theirs, args.quick), args.quick, log)
        phases["cold start"] += time.time() - started - sum(phases.values())
    if "kafka" in engines:
        results["kafka"] = _run_kafka(built, args.quick, log)
        phases["kafka"] = time.time() - started - sum(phases.values())
    if "serve" in engines:
        results["serve"] = _run_serve(built, args.quick, log)
        phases["serve"] = time.time() - started - sum(phases.values())
    if "spark" in engines:
        results["spark"] = spark_side.run_spark(built, args.quick, log, args.max_call_seconds)
        phases["spark"] = time.time() - started - sum(phases.values())

    results["seconds"] = time.time() - started
    results["machine"]["load_average_end"] = list(os.getloadavg())
    path = write_results(results, args.out_dir, args.engines)
    (args.out_dir / "in-progress.json").unlink(missing_ok=True)
    outputs = report.write(path)
    log(f"bench: wrote {path} and {', '.join(str(p) for p in outputs)} in {results['seconds']:.0f} s")
    if args.readme and not args.quick:
        report.update_readme(path)
        log("bench: README.md results section updated")
    failed = failures(results)
    if failed:
        log(f"bench: {len(failed)} engine run(s) failed or timed out (exit 1); the report says why:")
        for line in failed:
            log(f"  {line}")
        return 1
    return 0


def failures(results: dict) -> list[str]:
    """One line per engine run that failed or timed out (an engine that does not apply is no failure)."""
    failed = [f"{r['engine']} on {r['model']}: {r['failed'].splitlines()[0][:200]}"
              for r in results["runs"] if "failed" in r]
    failed += [f"cold start of {r['engine']} on {r['model']}: {r['failed'].splitlines()[0][:200]}"
               for r in results.get("cold_start", []) if "failed" in r]
    kafka = results.get("kafka")
    if isinstance(kafka, dict) and "failed" in kafka:
        failed.append(f"kafka on {kafka.get('model')}: {str(kafka['failed']).splitlines()[0][:200]}")
    served = results.get("serve", {})
    if "failed" in served:
        failed.append(f"serve on {served.get('model')}: {str(served['failed']).splitlines()[0][:200]}")
    for server, record in served.get("servers", {}).items():
        if "failed" in record:
            failed.append(f"serve: {server}: {record['failed'].splitlines()[0][:200]}")
    spark = results.get("spark")
    if isinstance(spark, dict):
        if "failed" in spark:
            failed.append(f"spark: {str(spark['failed']).splitlines()[0][:200]}")
        for model, engines in spark.get("models", {}).items():
            failed += [f"spark {engine} on {model}: {figures['failed'][:200]}"
                       for engine, figures in engines.items() if "failed" in figures]
    return failed


def _run_python_engine(engine_name: str, model: BuiltModel, peer_builds: dict, quick: bool, plan: dict) -> dict:
    try:
        ENGINES[engine_name]().check(model)
        if "unavailable" in peer_builds.get(engine_name, {}):
            raise NotApplicable(peer_builds[engine_name]["unavailable"])
        if "failed" in peer_builds.get(engine_name, {}):
            raise NotApplicable(f"its conversion failed: {peer_builds[engine_name]['failed']}")
    except NotApplicable as reason:
        return {"engine": engine_name, "model": model.spec.name, "kind": ENGINES[engine_name].kind,
                "unavailable": str(reason)}
    result = _run_worker(engine_name, model, quick, plan)
    if "failed" in result and not result["failed"].startswith("timed out"):
        # One retry: a third-party JVM runtime started on a loaded shared machine occasionally fails
        # to come up (seen once: jpmml_evaluator's JPype import). A second failure is reported.
        first = result["failed"].splitlines()[0][:300]
        result = _run_worker(engine_name, model, quick, plan)
        result["retried_after"] = first
    return result


def _run_worker(engine_name: str, model: BuiltModel, quick: bool, plan: dict) -> dict:
    out = model.folder / f"run-{engine_name}.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.worker", "--engine", engine_name, "--model", model.spec.name,
               "--plan", json.dumps(plan), "--out", str(out)] + (["--quick"] if quick else [])
    spawned = time.time()
    try:
        done = subprocess.run(command + ["--spawned-at", repr(spawned)], capture_output=True, text=True,
                              timeout=plan["worker_seconds"], cwd=Path(__file__).resolve().parent.parent)
    except subprocess.TimeoutExpired:
        # A batch call can be far slower than the smaller batch predicted (memory, serialization);
        # the harness stops it rather than hang the run.
        return {"engine": engine_name, "model": model.spec.name,
                "failed": f"timed out: the worker ran past {plan['worker_seconds']} s and was stopped"}
    if not out.exists():
        tail = " | ".join(line for line in done.stderr.strip().splitlines()[-6:])
        return {"engine": engine_name, "model": model.spec.name,
                "failed": f"worker process died (exit {done.returncode}): {tail}"}
    return json.loads(out.read_text())


def _quick_once(built: dict[str, BuiltModel], engines: list[str]) -> dict[str, str]:
    """Quick runs time jarscore and the library each model comes from on every model; every other
    engine (scikit-learn's API over the LightGBM and XGBoost wrappers included) once, on the pipeline
    when it takes it (its row of numbers and strings is the harder path), else on the first model it
    takes. Peers choose their own model (``quick_model``)."""
    once = {}
    ordered = _pipeline_first(built)
    for engine in engines:
        if engine == "jarscore" or engine in peers.PEERS or (ENGINES[engine].kind == "native"
                                                                        and len(ENGINES[engine].families) == 1):
            continue
        taken = [name for name in ordered if built[name].spec.family in ENGINES[engine].families]
        if taken:
            once[engine] = taken[0]
    return once


def _pipeline_first(models) -> list[str]:
    """Model names with the pipeline first: quick runs time an engine once, on the pipeline when it
    takes it (its row of numbers and strings is the harder path)."""
    return sorted(models, key=lambda name: name != "pipeline")


def _cold_start_jobs(engines: dict[str, list[str]], quick: bool) -> dict[str, list[str]]:
    """Full runs: every engine on every model. Quick runs start each engine once, on the pipeline when it
    takes it (its row of numbers and strings is the harder path), else on the first model it takes."""
    if not quick:
        return engines
    jobs: dict[str, list[str]] = {name: [] for name in engines}
    started: set[str] = set()
    for name in _pipeline_first(engines):
        jobs[name] = [engine for engine in engines[name] if engine not in started]
        started.update(jobs[name])
    return jobs


def _save_progress(results: dict, out_dir: Path) -> None:
    """The figures so far, in case the run is stopped: ``python -m benchmarks.report`` reads this file too."""
    out_dir.mkdir(parents=True, exist_ok=True)
    partial = out_dir / "in-progress.json"
    done = f"{len(results['runs'])} engine runs and {len(results.get('cold_start', []))} cold starts"
    partial.write_text(json.dumps({**results, "seconds": time.time() - dt.datetime.fromisoformat(results["started"]).timestamp(),
                                   "incomplete": f"the run was stopped after {done}"}, indent=1, allow_nan=False))


def _build_jmh(results: dict, log) -> None:
    """The JMH project (JMH and the Java cold start both run from it)."""
    try:
        jvm_side.build_jmh(log)
    except jvm_side.JvmBenchError as exc:
        results["jmh_build_failed"] = str(exc)


def _run_java(built: dict[str, BuiltModel], quick: bool, results: dict, log) -> None:
    try:
        if "jmh_build_failed" in results:
            raise jvm_side.JvmBenchError(results["jmh_build_failed"])
        # Quick runs: JMH on one model, the pipeline when there is one (its rows hold strings too).
        timed = _pipeline_first(built)[:1] if quick else list(built)
        by_model = jvm_side.run_jmh({name: built[name].folder for name in timed}, quick, log)
        for name in built:
            if name not in by_model:
                by_model[name] = {java: {"unavailable": f"not in quick runs, which run JMH on {timed[0]} only"}
                                  for java in jvm_side.JAVA_NAMES.values()}
    except jvm_side.JvmBenchError as exc:
        by_model = {name: {java: {"failed": str(exc)} for java in jvm_side.JAVA_NAMES.values()} for name in built}
    for name, engines in by_model.items():
        for engine, figures in engines.items():
            record = {"engine": engine, "model": name, "kind": "java", **figures}
            results["runs"].append(record)
            log(f"bench: {name} x {engine}: {_one_line(record)}")


def _run_kafka(built: dict[str, BuiltModel], quick: bool, log) -> dict:
    if KAFKA_MODEL not in built:
        return {"model": KAFKA_MODEL, "unavailable": f"the Kafka benchmark runs on {KAFKA_MODEL}, not in --models"}
    model = built[KAFKA_MODEL]
    try:
        figures = jvm_side.run_kafka(model.artifact, model.folder / "rows.csv", quick, log)
    except (jvm_side.JvmBenchError, OSError, ValueError) as exc:
        return {"model": KAFKA_MODEL, "failed": str(exc)}
    log(f"bench: Kafka app on {KAFKA_MODEL}: {figures['throughput']['records_per_second']:,.0f} records/s, "
        f"p50 {figures['latency']['p50_ms']:.0f} ms, p99 {figures['latency']['p99_ms']:.0f} ms")
    return {"model": KAFKA_MODEL, **figures}


def _run_serve(built: dict[str, BuiltModel], quick: bool, log) -> dict:
    if SERVE_MODEL not in built:
        return {"model": SERVE_MODEL, "unavailable": f"the serve benchmark runs on {SERVE_MODEL}, not in --models"}
    try:
        return serve.run_serve(built[SERVE_MODEL], quick, log)
    except (serve.ServeBenchError, jvm_side.JvmBenchError, OSError, ValueError) as exc:
        return {"model": SERVE_MODEL, "failed": str(exc)}


def _one_line(record: dict) -> str:
    if "failed" in record:
        return "FAILED " + record["failed"].splitlines()[0][:200]
    if "unavailable" in record:
        return "n/a (" + record["unavailable"] + ")"
    parts = [f"{shape} p50 {fig['median_us']:.1f} us" for shape, fig in record.get("latency", {}).items()]
    if "10000" in record.get("throughput", {}):
        parts.append(f"10k batch {record['throughput']['10000']['rows_per_second']:,.0f} rows/s")
    if "retried_after" in record:
        parts.append(f"(second attempt; the first failed: {record['retried_after'][:120]})")
    return ", ".join(parts)


def default_engines(quick: bool) -> list[str]:
    """A run without --engines: every Python engine, JMH and the cold starts, and in full runs the Kafka
    app and Spark (serve runs only when named: it installs MLServer)."""
    return list(ENGINES) + ["java", "cold-start"] + ([] if quick else ["kafka", "spark"])


def results_path(out_dir: Path, quick: bool, named: list[str] | None, now: dt.datetime | None = None) -> Path:
    """<date>-<host>[-quick], then the engines a run named (up to three, else "partial") unless they are
    the default set, then the time of day if that name is taken: one run never overwrites another."""
    now = now or dt.datetime.now()
    stem = f"{now.date().isoformat()}-{socket.gethostname()}" + ("-quick" if quick else "")
    if named and sorted(set(named)) != sorted(default_engines(quick)):
        stem += "-" + ("-".join(dict.fromkeys(named)) if len(set(named)) <= 3 else "partial")
    path = out_dir / f"{stem}.json"
    if path.exists():
        path = out_dir / f"{stem}-{now.strftime('%H%M%S')}.json"
    return path


def write_results(results: dict, out_dir: Path, named: list[str] | None = None) -> Path:
    out_dir.mkdir(parents=True, exist_ok=True)
    path = results_path(out_dir, results["quick"], named)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(results, indent=1, allow_nan=False))
    os.replace(partial, path)
    return path


def _command(argv: list[str] | None) -> str:
    given = sys.argv[1:] if argv is None else argv
    return "jarscore bench" + ("" if not given else " " + shlex.join(given))


def _machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from jarscore.scorer import jvm
    versions = {}
    for package in PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = "not installed"
    # Other work on a shared machine slows every engine, and spinning thread pools most of all.
    return {"host": socket.gethostname(), "cpu": cpu, "cores": os.cpu_count(), "load_average_start": list(os.getloadavg()),
            "os": platform.platform(),
            "python": platform.python_version(), "java": jvm.describe_java_version(), "packages": versions}


if __name__ == "__main__":
    sys.exit(main())
