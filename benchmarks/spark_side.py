"""Batch scoring on Spark (local[2]), side by side in one Spark session: jarscore's Spark stage (the
kernel, and the JPMML path), a PySpark user's mapInPandas calling the native library, and the JPMML
Spark integration when it resolves. Rows/s of a whole job (``write.format("noop")``) on 1M and 10M
rows made from the model's 1000 held-out rows; the same job without scoring is timed as the input's
cost. ``run_spark`` (the suite) starts ``python -m benchmarks.spark_side`` in a process of its own."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

from benchmarks.engines import NotApplicable
from benchmarks.suite import BuiltModel, standard_specs

ROOT = Path(__file__).resolve().parent.parent
MASTER = "local[2]"
PARTITIONS = 16
PLANS = {"full": {"sizes": [1_000_000, 10_000_000], "warmup_rows": 100_000, "max_run_seconds": 300.0,
                  "timeout": 5400},
         "quick": {"sizes": [20_000], "warmup_rows": 5_000, "max_run_seconds": 60.0, "timeout": 600}}
#: The JPMML Spark integration's Spark 4 line (jpmml/jpmml-evaluator-spark 2.1.x, Scala 2.13).
JPMML_SPARK = "org.jpmml:jpmml-evaluator-spark:2.1.2"


class SparkBenchError(Exception):
    """The Spark benchmark process failed; the message carries its last words."""


def run_spark(built: dict[str, BuiltModel], quick: bool, log: Callable[[str], None],
              max_seconds: float | None = None) -> dict:
    """Runs the Spark benchmark on the lgbm500 and xgb500 models among ``built``; returns its figures.
    A run expected to take over ``max_seconds`` (default: the plan's) is skipped."""
    models = [name for name, model in built.items() if model.spec.family in ("lightgbm", "xgboost")]
    if not models:
        return {"unavailable": "the Spark benchmark runs on lgbm500 and xgb500, and neither is in --models"}
    plan = PLANS["quick" if quick else "full"]
    log(f"bench: Spark {MASTER}: {', '.join(models)} at {', '.join(f'{n:,}' for n in plan['sizes'])} rows")
    out = built[models[0]].folder.parent / "spark.json"
    out.unlink(missing_ok=True)
    command = [sys.executable, "-m", "benchmarks.spark_side", "--out", str(out), *(["--quick"] if quick else []),
               "--models", *[f"{name}={built[name].folder}" for name in models],
               *(["--max-seconds", str(max_seconds)] if max_seconds else [])]
    try:
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=plan["timeout"])
    except subprocess.TimeoutExpired:
        return {"failed": f"timed out: the Spark benchmark ran past {plan['timeout']} s and was stopped"}
    if not out.exists():
        tail = " | ".join(done.stderr.strip().splitlines()[-8:])
        return {"failed": f"the Spark benchmark process died (exit {done.returncode}): {tail}"}
    return json.loads(out.read_text())


# the engines, as the Spark benchmark process runs them --------------------------------------------
class SparkEngine:
    """One way to score a DataFrame on Spark: ``check`` says why it cannot (NotApplicable), and
    ``scored(frame)`` is the lazily scored DataFrame; the job that writes it is what gets timed."""
    name = "?"
    describe = ""

    def check(self, model: BuiltModel) -> None:
        pass

    def scored(self, frame, model: BuiltModel, features: list[str]):
        raise NotImplementedError


class JarscoreSpark(SparkEngine):
    name = "jarscore-spark"
    describe = "jarscore.spark.ArtifactTransformer: the fast kernel in the executors' JVMs"
    kernel = True

    def scored(self, frame, model, features):
        from jarscore.spark import ArtifactTransformer
        stage = ArtifactTransformer(artifact=str(model.artifact), versionCol="", useKernel=self.kernel)
        return stage.transform(frame)


class JarscoreSparkJpmml(JarscoreSpark):
    name = "jarscore-spark-jpmml"
    describe = "the same stage with useKernel=False: JPMML-Evaluator interpreting the PMML, row by row"
    kernel = False


class MapInPandasNative(SparkEngine):
    name = "mapInPandas-native"
    describe = ("mapInPandas calling the native library (one thread per task, model loaded once per task; "
                "returns the id and the probability only)")

    def check(self, model):
        if model.native_path is None:
            raise NotApplicable(f"{model.spec.name} has no native model file")

    def scored(self, frame, model, features):
        return frame.mapInPandas(_native_scorer(model.spec.family, str(model.native_path), features),
                                 "id long, probability double")


class JpmmlEvaluatorSpark(SparkEngine):
    name = "jpmml-evaluator-spark"
    describe = f"JPMML's Spark integration ({JPMML_SPARK})"

    def check(self, model):
        raise NotApplicable(_jpmml_spark_availability())

    def scored(self, frame, model, features):
        raise NotImplementedError


SPARK_ENGINES = [JarscoreSpark(), MapInPandasNative(), JarscoreSparkJpmml(), JpmmlEvaluatorSpark()]


def _native_scorer(family: str, path: str, features: list[str]):
    """The function a PySpark user hands mapInPandas: the native model, loaded once per task, scoring
    each Arrow batch on the task's own thread (local[2] runs two tasks at once)."""
    def predict(batches):
        import numpy as np
        import pandas as pd
        if family == "lightgbm":
            import lightgbm
            booster = lightgbm.Booster(model_file=path)
            score = lambda X: booster.predict(X, num_threads=1)  # noqa: E731
        else:
            import xgboost
            booster = xgboost.Booster()
            booster.load_model(path)
            booster.set_param({"nthread": 1})
            score = booster.inplace_predict
        for batch in batches:
            probability = score(batch[features].to_numpy(dtype=np.float64))
            yield pd.DataFrame({"id": batch["id"], "probability": probability})
    return predict


_AVAILABILITY: list[str] = []


def _jpmml_spark_availability() -> str:
    """Why the JPMML Spark integration does not run here: asked of Maven Central at run time."""
    if not _AVAILABILITY:
        done = subprocess.run(["mvn", "-q", "-B", "dependency:get", f"-Dartifact={JPMML_SPARK}", "-Dtransitive=false"],
                              capture_output=True, text=True, timeout=300)
        _AVAILABILITY.append(
            f"{JPMML_SPARK} (its Spark 4 line) does not resolve from Maven Central here (mvn dependency:get exit "
            f"{done.returncode}); the newest version that resolves, 1.2.2, is built for Spark 2. "
            "jarscore-spark-jpmml runs the same JPMML-Evaluator row by row inside Spark instead"
            if done.returncode != 0 else
            f"{JPMML_SPARK} resolves from Maven Central, but this benchmark does not drive it yet")
    return _AVAILABILITY[0]


# the report's section -----------------------------------------------------------------------------
#: The issue's goals: rows/s of the stage against mapInPandas with the native library, and against JPMML.
TARGETS = (("mapInPandas-native", 3.0), ("jarscore-spark-jpmml", 10.0))


def report_section(results: dict) -> list[str]:
    """The report's Markdown for ``results["spark"]``: rows/s per model, engine and size, the ratios
    the targets ask for, and why an engine did not run."""
    spark = results.get("spark")
    if not spark:
        return []
    lines = ["## Batch scoring on Spark", ""]
    if "failed" in spark or "unavailable" in spark:
        return lines + [f"Did not run: {(spark.get('failed') or spark['unavailable']).splitlines()[0]}", ""]
    sizes = [str(size) for size in spark["sizes"]]
    lines += [f"Spark {spark['spark_version']}, `{spark['master']}`, {spark['partitions']} partitions; the session "
              f"started in {spark['start_seconds']:.0f} s. Each figure is one job writing every output column "
              "to Spark's `noop` sink, after a warm-up job, so it includes making the input; `input-only` is "
              "the same job without scoring. Rows/s is wall time; rows per CPU-second counts the CPU time of "
              "the Spark JVM and its Python workers, the rate one core gives whatever else the machine runs. "
              "Where a size was skipped, the warm-up job's figures stand in (marked *: JIT compilation and "
              "model loading included).", "",
              "| model | engine | " + " | ".join(f"{int(size):,} rows: rows/s | rows per CPU-s" for size in sizes)
              + " |", "|---|---|" + "---:|---:|" * len(sizes)]
    notes, checks = [], []
    for model, engines in spark["models"].items():
        for engine, figures in engines.items():
            if "unavailable" in figures or "failed" in figures:
                notes.append(f"- {model} x {engine}: {'**failed**: ' if 'failed' in figures else ''}"
                             f"{figures.get('failed') or figures['unavailable']}")
                continue
            cells = []
            for size in sizes:
                figure = figures.get(size, {})
                if "skipped" in figure:
                    notes.append(f"- {model} x {engine} at {int(size):,} rows skipped: {figure['skipped']}")
                shown, mark = (figure, "") if "rows_per_second" in figure else (figures.get("warmup", {}), "*")
                cells.append(_rate(shown, "rows_per_second", mark) + " | " + _rate(shown, "rows_per_cpu_second", mark))
            lines.append(f"| {model} | {engine} | " + " | ".join(cells) + " |")
        checks += _target_lines(model, engines, sizes)
    lines += ["", "Engines: " + "; ".join(f"`{name}`: {text}" for name, text in spark["engines"].items()) + ".", ""]
    lines += ["Targets, in rows per CPU-second of `jarscore-spark` against the engine's, at the largest size "
              "both ran (the warm-up job where a size was skipped):", ""] + checks
    return lines + [""] + notes + ([""] if notes else [])


def _rate(figure: dict, key: str, mark: str) -> str:
    return f"{figure[key]:,.0f}{mark}" if figure.get(key) else "-"


def _target_lines(model: str, engines: dict, sizes: list[str]) -> list[str]:
    ours = engines.get("jarscore-spark", {})
    out = []
    for other, times in TARGETS:
        theirs = engines.get(other, {})
        common = [s for s in ["warmup", *sizes] if ours.get(s, {}).get("rows_per_cpu_second")
                  and theirs.get(s, {}).get("rows_per_cpu_second")]
        if not common:
            out.append(f"- {model}: >= {times:g}x {other}: not measured")
            continue
        size = common[-1]
        a, b = ours[size]["rows_per_cpu_second"], theirs[size]["rows_per_cpu_second"]
        status = "met" if a / b >= times else f"missed: {times * b / a:.2f}x short"
        where = "the warm-up job" if size == "warmup" else f"{int(size):,} rows"
        out.append(f"- {model}: >= {times:g}x {other}: {a / b:.1f}x on {where} ({a:,.0f} against {b:,.0f} rows per "
                   f"CPU-second): {status}")
    return out


# the benchmark process ----------------------------------------------------------------------------
def _session():
    from pyspark.sql import SparkSession

    from jarscore.spark import jars
    # mapInPandas's Python workers: this interpreter, which has pandas, pyarrow and the native libraries
    # (PySpark starts them with $PYSPARK_PYTHON, else "python3" from PATH).
    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master(MASTER).appName("jarscore-bench")
               .config("spark.jars", ",".join(jars()))
               .config("spark.driver.memory", "4g")
               .config("spark.ui.enabled", "false").config("spark.ui.showConsoleProgress", "false")
               .config("spark.driver.host", "127.0.0.1").config("spark.driver.bindAddress", "127.0.0.1")
               .getOrCreate())
    session.sparkContext.setLogLevel("ERROR")
    return session


def _input(spark, model: BuiltModel, rows: int, features: list[str]):
    """``rows`` rows cycling through the model's 1000 held-out rows, in PARTITIONS partitions, each
    row built as it is read (a broadcast join on id % 1000): nothing is cached, so the input costs the
    same in every job, and the input-only job measures it."""
    from pyspark.sql import functions

    held_out = model.rows(1000)[features]
    small = spark.createDataFrame([(k, *map(float, row)) for k, row in enumerate(held_out.itertuples(index=False))],
                                  ", ".join(["k int"] + [f"`{f}` double" for f in features]))
    ids = spark.range(0, rows, numPartitions=PARTITIONS).withColumn("k", (functions.col("id") % 1000).cast("int"))
    return ids.join(functions.broadcast(small), "k").drop("k")


def _time_job(frame, rows: int) -> dict:
    """One job writing ``frame`` to the noop sink: its wall time, and the CPU time the Spark JVM and
    its Python workers spent on it. On a shared machine the wall time says how busy the others were;
    rows per CPU-second is the rate one core gives."""
    jvm = frame.sparkSession.sparkContext._gateway.proc.pid
    cpu = _tree_cpu_seconds(jvm)
    started = time.perf_counter()
    frame.write.format("noop").mode("overwrite").save()
    seconds = time.perf_counter() - started
    cpu = _tree_cpu_seconds(jvm) - cpu
    return {"rows": rows, "seconds": seconds, "rows_per_second": rows / seconds, "cpu_seconds": cpu,
            "rows_per_cpu_second": rows / cpu if cpu > 0 else None}


def _tree_cpu_seconds(root: int) -> float:
    """User + system CPU seconds of process ``root`` and its descendants, from /proc."""
    children: dict[int, list[int]] = {}
    times: dict[int, float] = {}
    tick = os.sysconf("SC_CLK_TCK")
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        times[pid] = (int(fields[11]) + int(fields[12])) / tick
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += times.get(pid, 0.0)
        todo += children.get(pid, [])
    return total


def _features(model: BuiltModel) -> list[str]:
    manifest = json.loads((model.artifact / "manifest.json").read_text())
    return list(manifest.get("features") or [f["name"] for f in manifest["inputs"]])


def measure(models: dict[str, Path], quick: bool, max_seconds: float | None, log: Callable[[str], None]) -> dict:
    """Figures for each model (name -> the folder the suite built it in); a run expected to take over
    ``max_seconds`` (default: the plan's) is skipped."""
    plan = PLANS["quick" if quick else "full"]
    max_seconds = max_seconds or plan["max_run_seconds"]
    started = time.perf_counter()
    spark = _session()
    result = {"master": MASTER, "partitions": PARTITIONS, "spark_version": spark.version,
              "start_seconds": time.perf_counter() - started, "sizes": plan["sizes"],
              "engines": {e.name: e.describe for e in SPARK_ENGINES}, "models": {}}
    try:
        for name, folder in models.items():
            model = BuiltModel(standard_specs(quick)[name], folder, json.loads((folder / "build.json").read_text()))
            features = _features(model)
            figures = result["models"][name] = {"input-only": {}}
            for size in plan["sizes"]:
                figures["input-only"][str(size)] = _time_job(_input(spark, model, size, features), size)
            for engine in SPARK_ENGINES:
                figures[engine.name] = _engine_figures(spark, engine, model, features, plan, max_seconds, log)
    finally:
        spark.stop()
    result["seconds"] = time.perf_counter() - started
    return result


def _engine_figures(spark, engine: SparkEngine, model: BuiltModel, features: list[str], plan: dict,
                    max_seconds: float, log) -> dict:
    try:
        engine.check(model)
    except NotApplicable as reason:
        return {"unavailable": str(reason)}
    figures: dict = {}
    try:
        rows = plan["warmup_rows"]
        figures["warmup"] = _time_job(engine.scored(_input(spark, model, rows, features), model, features), rows)
        rate = figures["warmup"]["rows_per_second"]
        for size in plan["sizes"]:
            estimate = size / rate
            if estimate > max_seconds:
                figures[str(size)] = {"skipped": f"about {estimate:.0f} s at the smaller run's rate, over the "
                                                 f"{max_seconds:.0f} s a run may take"}
                continue
            figure = figures[str(size)] = _time_job(engine.scored(_input(spark, model, size, features), model, features),
                                                    size)
            rate = figure["rows_per_second"]
            log(f"bench: Spark {model.spec.name} x {engine.name}: {size:,} rows in {figure['seconds']:.1f} s = "
                f"{rate:,.0f} rows/s, {figure['rows_per_cpu_second']:,.0f} rows per CPU-second")
    except Exception as exc:  # one engine's failure is reported, the others still run
        figures["failed"] = _last_words(exc)
    return figures


def _last_words(exc: Exception) -> str:
    """The line of a (Spark or Python worker) failure that says what went wrong: PySpark's own first
    line is "An exception was thrown from the Python worker:", the cause is the traceback's last line."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip() and not line.strip().startswith("at ")]
    cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), lines[-1] if lines else "")
    return f"{type(exc).__name__}: {cause[:500]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.spark_side", description=__doc__)
    parser.add_argument("--models", nargs="+", required=True, metavar="NAME=FOLDER",
                        help="the models, each with the folder the suite built it in")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--max-seconds", type=float, default=None, help="skip a run expected to take longer")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    log = lambda line: print(line, file=sys.stderr, flush=True)  # noqa: E731
    models = {name: Path(folder) for name, folder in (m.split("=", 1) for m in args.models)}
    result = measure(models, args.quick, args.max_seconds, log)
    partial = args.out.with_suffix(".partial")
    partial.write_text(json.dumps(result, indent=1))
    partial.replace(args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
