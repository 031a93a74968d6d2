"""The JVM side of the suite: JMH on jarscore's Java runtime and on JPMML-Evaluator (interpreted and
transpiled), and the Kafka Streams app; the Java cold start is in ``cold_start``."""

from __future__ import annotations

import json
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Callable

from jarscore.errors import JarscoreError
from jarscore.scorer import jvm
from models.kafka_broker import BuildError, kafka_test_classpath, run_checked

ROOT = Path(__file__).resolve().parent.parent
JMH_PROJECT = ROOT / "benchmarks" / "jvm"
#: The Java cold start's harness, on a class path of jarscore-runtime and its dependencies alone.
COLD_START_PROJECT = ROOT / "benchmarks" / "coldstart"
JMH_ENGINES = ("jarscore", "jarscore-kernel", "jpmml-interpreted", "jpmml-transpiled")
JAVA_NAMES = {"jarscore": "jarscore-java", "jarscore-kernel": "jarscore-kernel-java", "jpmml-interpreted": "jpmml-java-interpreted",
              "jpmml-transpiled": "jpmml-java-transpiled"}


class JvmBenchError(Exception):
    """The JMH project could not be built or run; the message carries Maven's or Java's words."""


def _run(command: list[str], cwd: Path, what: str, timeout: float) -> str:
    return run_checked(command, cwd, what, timeout, error=JvmBenchError)


#: Touched by `make setup` and `make test` once they have installed jvm/ into the local Maven repository.
JVM_STAMP = ROOT / ".setup-stamps" / "jvm"


def build_jmh(log: Callable[[str], None]) -> None:
    """Installs jvm/'s modules (jarscore-runtime among them) into the local Maven repository, unless
    make installed them from the sources as they are, and packages the JMH project and the Java cold
    start's harness."""
    if jvm_installed():
        log("bench: building the JMH project (jvm/ as `make` installed it, then benchmarks/jvm)")
    else:
        log("bench: building the JMH project (jvm/ installed into the local Maven repository, then benchmarks/jvm)")
        _run(["mvn", "-q", "-B", "-DskipTests", "install"], ROOT / "jvm", "mvn install in jvm/", 900)
    _run(["mvn", "-q", "-B", "package"], JMH_PROJECT, "mvn package in benchmarks/jvm", 900)
    _run(["mvn", "-q", "-B", "package"], COLD_START_PROJECT, "mvn package in benchmarks/coldstart", 900)


def jvm_installed(stamp: Path = JVM_STAMP) -> bool:
    """Whether make's jvm stamp is newer than every file it is made from (the Makefile's JVM_INPUTS:
    jvm/'s pom.xml files and everything under src/main)."""
    try:
        installed = stamp.stat().st_mtime
    except OSError:
        return False
    jvm_dir = stamp.parent.parent / "jvm"
    inputs = [p for p in jvm_dir.rglob("pom.xml") if "target" not in p.relative_to(jvm_dir).parts]
    inputs += [p for p in jvm_dir.glob("*/src/main/**/*") if p.is_file()]
    return bool(inputs) and all(p.stat().st_mtime <= installed for p in inputs)


def run_jmh(model_folders: dict[str, Path], quick: bool, log: Callable[[str], None]) -> dict:
    """Runs ScoringBenchmark for every model and engine; returns {model: {engine: figures}}."""
    timing = (["-wi", "1", "-w", "300ms", "-i", "1", "-r", "500ms"] if quick
              else ["-wi", "3", "-w", "2s", "-i", "5", "-r", "2s"])
    out: dict = {}
    for model, folder in model_folders.items():
        try:
            transpiled_jar(folder, log)
        except JarscoreError as exc:
            log(f"bench: JMH {model}: no JPMML-Transpiler JAR for jpmml-transpiled: {exc}")
        log(f"bench: JMH {model}: {', '.join(JMH_ENGINES)}")
        with tempfile.TemporaryDirectory() as tmp:
            results = Path(tmp) / "jmh.json"
            command = [jvm.java_executable(), "-cp", f"{JMH_PROJECT}/target/classes:{JMH_PROJECT}/target/lib/*",
                       "org.openjdk.jmh.Main", "ScoringBenchmark", "-p", f"model={folder}",
                       "-p", f"engine={','.join(JMH_ENGINES)}", "-f", "1", "-t", "1",
                       "-rf", "json", "-rff", str(results), *timing]
            try:
                _run(command, JMH_PROJECT, f"JMH on {model}", 1800)
                records = json.loads(results.read_text())
            except (JvmBenchError, OSError, ValueError) as exc:
                out[model] = {JAVA_NAMES[e]: {"failed": str(exc)} for e in JMH_ENGINES}
                continue
        out[model] = {}
        for record in records:
            engine = record["params"]["engine"]
            out[model][JAVA_NAMES[engine]] = _figures(record)
        for engine in JMH_ENGINES:
            out[model].setdefault(JAVA_NAMES[engine], {"failed": "JMH reported no result for this engine"})
    return out


def transpiled_jar(folder: Path, log: Callable[[str], None]) -> Path:
    """FOLDER/transpiled/model.jar: the model's PMML through JPMML-Transpiler, which the jpmml-transpiled
    engine scores (the artifact's model.jar holds the kernel alone). Built once per model build."""
    from jarscore.converter.transpile import transpile

    jar = folder / "transpiled" / "model.jar"
    if not jar.is_file():
        log(f"bench: transpiling {folder.name}'s PMML with JPMML-Transpiler for jpmml-transpiled")
        transpile(folder / "artifact" / "model.pmml.gz", jar, "jarscore.bench.Transpiled", transpiled_classes=True)
    return jar


def _figures(record: dict) -> dict:
    metric = record["primaryMetric"]
    pct = metric["scorePercentiles"]
    # rawDataHistogram: forks -> iterations -> [value, count] pairs
    samples = sum(count for fork in metric.get("rawDataHistogram", []) for iteration in fork
                  for _, count in iteration)
    return {"kind": "java", "latency": {"mapping": {
        "rounds": samples, "mean_us": metric["score"], "median_us": pct["50.0"],
        "p50_us": pct["50.0"], "p90_us": pct["90.0"], "p99_us": pct["99.0"], "p99.9_us": pct["99.9"],
        "unit": metric["scoreUnit"], "tool": "JMH SampleTime, 1 thread"}}}


KAFKA_PLAN = {"full": {"throughput_records": 200_000, "latency_records": 20_000, "latency_rate": 2_000},
              "quick": {"throughput_records": 20_000, "latency_records": 2_000, "latency_rate": 1_000}}


def run_kafka(artifact: Path, rows_csv: Path, quick: bool, log: Callable[[str], None], plan: dict | None = None,
              remote: str | None = None) -> dict:
    """The Kafka Streams app against a real KRaft broker (io.jarscore.kafka.KafkaBench, test scope):
    records/s through the app and p50/p99 producer-timestamp-to-result latency. With ``remote``
    (host:port of a jarscore serve serving the artifact's model), the app scores through it."""
    plan = plan or KAFKA_PLAN["quick" if quick else "full"]
    try:
        classpath = kafka_test_classpath(log=lambda line: log(f"bench: Kafka app: {line}"))
    except BuildError as exc:
        raise JvmBenchError(str(exc)) from None
    jvm_dir = ROOT / "jvm"
    log(f"bench: Kafka app: {plan['throughput_records']:,} records flat out, then "
        f"{plan['latency_records']:,} at {plan['latency_rate']:,}/s for latency")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "kafka.json"
        _run([jvm.java_executable(), "-cp", classpath, "io.jarscore.kafka.KafkaBench", str(artifact), str(rows_csv),
              str(plan["throughput_records"]), str(plan["latency_records"]), str(plan["latency_rate"]), str(out),
              *([remote] if remote else [])],
             jvm_dir, "the Kafka benchmark", 1800)
        return json.loads(out.read_text())
