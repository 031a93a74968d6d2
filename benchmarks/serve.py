"""`jarscore bench --engines serve`: model servers under load. jarscore serve and MLServer (its LightGBM
runtime) serve the same lgbm500 model in turn, alone on the machine while measured, and one load
generator (benchmarks/jvm, io.jarscore.bench.serve) drives each the same way: requests/s and latency
for single-row and 100-row requests, at each concurrency, over REST and gRPC. The same load on
servers that do no work gives the load generator's own ceiling, and single-row calls inside one JVM
give the in-process figure the gRPC round trip is compared with.

MLServer goes into a virtual environment of its own under benchmarks/.cache, created on first use
from the pinned versions of benchmarks/mlserver-requirements.txt (its dependencies conflict with
the project's)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from benchmarks import jvm_side
from benchmarks.suite import CACHE, BuiltModel
from jarscore.scorer import jvm

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
MLSERVER_REQUIREMENTS = HERE / "mlserver-requirements.txt"
MLSERVER_VENV = CACHE / "mlserver-venv"
LOAD_GENERATOR = "io.jarscore.bench.serve.LoadGenerator"
SERVE_PLAN = {"full": {"server_warmup_seconds": 20.0, "warmup_seconds": 3.0, "seconds": 8.0, "batches": [1, 100],
                       "concurrency": [1, 8, 64], "in_process_seconds": 8.0},
              "quick": {"server_warmup_seconds": 2.0, "warmup_seconds": 1.0, "seconds": 2.0, "batches": [1, 100],
                        "concurrency": [1, 8], "in_process_seconds": 2.0}}
#: The servers in the order they run; "noop" is the load generator's ceiling.
SERVERS = ("noop", "jarscore", "mlserver")
#: The Kafka app embedded and through jarscore serve: a smaller plan than the kafka engine's, since a
#: remote app makes one call per record.
KAFKA_PLAN = {"full": {"throughput_records": 20_000, "latency_records": 5_000, "latency_rate": 500},
              "quick": {"throughput_records": 2_000, "latency_records": 500, "latency_rate": 250}}
START_SECONDS = 180


class ServeBenchError(Exception):
    """A server or the load generator could not run; the message says which and why."""


def run_serve(model: BuiltModel, quick: bool, log: Callable[[str], None]) -> dict:
    plan = SERVE_PLAN["quick" if quick else "full"]
    jvm_side.build_jmh(log)
    rows_csv = model.folder / "rows.csv"
    out: dict = {"model": model.spec.name, "plan": plan, "load_average_before": os.getloadavg(), "servers": {}}
    with tempfile.TemporaryDirectory(prefix="jarscore-serve-bench-") as tmp:
        work = Path(tmp)
        name = _repository(model, work / "repository")
        starters = {"noop": lambda: _noop(work), "jarscore": lambda: _jarscore(work / "repository", work),
                    "mlserver": lambda: _mlserver(model, name, work, log)}
        for server in SERVERS:
            log(f"bench: serve: {server}")
            try:
                with starters[server]() as (ports, settings):
                    record = {"settings": settings}
                    if server != "noop":
                        record["parity"] = _parity(model, name, ports["http"])
                    record["cells"] = _load(name, rows_csv, ports, plan, work / f"{server}.json")
            except (ServeBenchError, OSError, ValueError) as exc:
                record = {"failed": str(exc)}
            out["servers"][server] = record
            log(f"bench: serve: {server}: {_one_line(record)}")
        out["in_process"] = _in_process(model.artifact, rows_csv, plan, work / "in-process.json")
        out["kafka"] = _kafka_deployments(model, work, quick, log)
    out["load_average_after"] = os.getloadavg()
    return out


def _one_line(record: dict) -> str:
    if "failed" in record:
        return "FAILED " + record["failed"].splitlines()[0][:200]
    return ", ".join(f"{c['protocol']} {c['rows']} row(s) x{c['concurrency']}: {c['requests_per_second']:,.0f}/s "
                     f"p99 {c['p99_us'] / 1000:,.1f} ms" for c in record["cells"])


def _repository(model: BuiltModel, root: Path) -> str:
    """ROOT/<name>/<version>/ holding the artifact, as jarscore serve reads it; returns the model name."""
    manifest = json.loads((model.artifact / "manifest.json").read_text())
    name, version = manifest["name"], manifest["version"]
    shutil.copytree(model.artifact, root / name / str(version))
    return name


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _java_classpath() -> str:
    project = jvm_side.JMH_PROJECT
    return f"{project}/target/classes:{project}/target/lib/*"


@contextmanager
def _process(command: list[str], log_file: Path, ready: Callable[[], dict | None], what: str,
             stdin: bool = False, env: dict | None = None) -> Iterator[dict]:
    """Runs ``command`` until the block ends (SIGTERM, then SIGKILL); yields what ``ready`` returns once
    it returns something."""
    with log_file.open("w") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env,
                                   stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                   start_new_session=True)
    try:
        deadline = time.monotonic() + START_SECONDS
        while (answer := ready()) is None:
            if process.poll() is not None or time.monotonic() > deadline:
                tail = " | ".join(log_file.read_text(errors="replace").strip().splitlines()[-8:])
                raise ServeBenchError(f"{what} did not start ({'exit ' + str(process.returncode) if process.poll() is not None else 'no answer in ' + str(START_SECONDS) + ' s'}): {tail}")
            time.sleep(0.2)
        yield answer
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _ports_file(path: Path) -> Callable[[], dict | None]:
    """Waits for the file a server writes once listening; one left by an earlier server goes first."""
    path.unlink(missing_ok=True)
    return lambda: json.loads(path.read_text()) if path.exists() else None


@contextmanager
def _noop(work: Path):
    ports = work / "noop-ports.json"
    command = [jvm.java_executable(), "-cp", _java_classpath(), LOAD_GENERATOR, "noop-servers", "--ports-file", str(ports)]
    with _process(command, work / "noop.log", _ports_file(ports), "the no-op servers", stdin=True) as found:
        yield found, {"what": "Netty HTTP and grpc-java servers answering a fixed response, no work"}


@contextmanager
def _jarscore(repository: Path, work: Path):
    ports = work / "jarscore-ports.json"
    command = [sys.executable, "-m", "jarscore.serve", str(repository), "--http-port", "0", "--grpc-port", "0",
               "--poll-seconds", "0", "--ports-file", str(ports)]
    with _process(command, work / "jarscore.log", _ports_file(ports), "jarscore serve") as found:
        yield found, {"command": "jarscore serve ROOT --http-port 0 --grpc-port 0 --poll-seconds 0 (defaults otherwise)"}


def mlserver_python(log: Callable[[str], None]) -> Path:
    """The Python of MLServer's own virtual environment, created (pinned versions) on first use."""
    python = MLSERVER_VENV / "bin" / "python"
    stamp = MLSERVER_VENV / "requirements.txt"
    if python.exists() and stamp.exists() and stamp.read_text() == MLSERVER_REQUIREMENTS.read_text():
        return python
    log(f"bench: serve: installing MLServer into {MLSERVER_VENV} ({MLSERVER_REQUIREMENTS.name}; a few minutes)")
    shutil.rmtree(MLSERVER_VENV, ignore_errors=True)
    for command in ([sys.executable, "-m", "venv", str(MLSERVER_VENV)],
                    [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check", "-r", str(MLSERVER_REQUIREMENTS)]):
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise ServeBenchError(f"installing MLServer failed ({' '.join(command[-3:])}): "
                                  + " | ".join((done.stdout + done.stderr).strip().splitlines()[-6:]))
    shutil.copyfile(MLSERVER_REQUIREMENTS, stamp)
    return python


@contextmanager
def _mlserver(model: BuiltModel, name: str, work: Path, log: Callable[[str], None]):
    python = mlserver_python(log)
    folder = work / "mlserver"
    (folder / name).mkdir(parents=True)
    http, grpc, metrics = _free_port(), _free_port(), _free_port()
    settings = {"host": "127.0.0.1", "http_port": http, "grpc_port": grpc, "metrics_port": metrics}
    (folder / "settings.json").write_text(json.dumps(settings))
    (folder / name / "model-settings.json").write_text(json.dumps({
        "name": name, "implementation": "mlserver_lightgbm.LightGBMModel",
        "parameters": {"uri": str(model.native_path)}}))
    url = f"http://127.0.0.1:{http}/v2/models/{name}/ready"
    command = [str(MLSERVER_VENV / "bin" / "mlserver"), "start", str(folder)]
    with _process(command, work / "mlserver.log", lambda: {"http": http, "grpc": grpc} if _ok(url) else None,
                  "MLServer") as found:
        version = subprocess.run([str(python), "-c", "import mlserver; print(mlserver.__version__)"],
                                 capture_output=True, text=True).stdout.strip()
        yield found, {"version": version, "settings.json": settings,
                      "model": "mlserver_lightgbm.LightGBMModel on the LightGBM text file (defaults otherwise)"}


def _ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:
            return answer.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _parity(model: BuiltModel, name: str, http_port: int) -> dict:
    """One 100-row REST request: the server's positive-class probabilities against LightGBM's own, so
    that both servers are known to serve the same model before they are timed."""
    frame = model.rows(100)
    data = [None if np.isnan(v) else float(v) for v in frame.to_numpy(dtype=np.float64).ravel()]
    body = json.dumps({"inputs": [{"name": "input-0", "datatype": "FP64", "shape": list(frame.shape), "data": data}]})
    request = urllib.request.Request(f"http://127.0.0.1:{http_port}/v2/models/{name}/infer", data=body.encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:
        outputs = {o["name"]: o for o in json.loads(answer.read())["outputs"]}
    output = outputs.get("probability(1)") or outputs.get("predict")
    if output is None:
        raise ServeBenchError(f"no probability output to compare among {sorted(outputs)}")
    served = np.asarray(output["data"], dtype=np.float64).reshape(len(frame), -1)[:, -1]
    native = model.native().predict_proba(frame)[:, 1]
    error = float(np.max(np.abs(served - native)))
    if error > 1e-9:
        raise ServeBenchError(f"the server's probabilities differ from LightGBM's by up to {error:.3g}")
    return {"rows": len(frame), "output": output["name"], "max_abs_error": error}


def _load(name: str, rows_csv: Path, ports: dict, plan: dict, out: Path) -> list[dict]:
    command = [jvm.java_executable(), "-cp", _java_classpath(), LOAD_GENERATOR, "run", "--model", name,
               "--rows", str(rows_csv), "--rest", f"127.0.0.1:{ports['http']}", "--grpc", f"127.0.0.1:{ports['grpc']}",
               "--batches", ",".join(map(str, plan["batches"])), "--concurrency", ",".join(map(str, plan["concurrency"])),
               "--server-warmup-seconds", str(plan["server_warmup_seconds"]), "--warmup-seconds", str(plan["warmup_seconds"]),
               "--seconds", str(plan["seconds"]), "--out", str(out)]
    cells = len(plan["batches"]) * len(plan["concurrency"]) * 2
    _run(command, plan["server_warmup_seconds"] + (plan["warmup_seconds"] + plan["seconds"]) * cells + 300,
         "the load generator")
    return json.loads(out.read_text())


def _in_process(artifact: Path, rows_csv: Path, plan: dict, out: Path) -> dict:
    command = [jvm.java_executable(), "-cp", _java_classpath(), LOAD_GENERATOR, "in-process", "--artifact", str(artifact),
               "--rows", str(rows_csv), "--seconds", str(plan["in_process_seconds"]), "--out", str(out)]
    try:
        _run(command, plan["in_process_seconds"] + 300, "the in-process timing")
    except ServeBenchError as exc:
        return {"failed": str(exc)}
    return json.loads(out.read_text())


def _kafka_deployments(model: BuiltModel, work: Path, quick: bool, log: Callable[[str], None]) -> dict:
    """The Kafka app's records/s and latency scoring embedded, then through jarscore serve (gRPC)."""
    plan = KAFKA_PLAN["quick" if quick else "full"]
    out: dict = {"plan": plan}
    rows_csv = model.folder / "rows.csv"
    try:
        out["embedded"] = jvm_side.run_kafka(model.artifact, rows_csv, quick, log, plan=plan)
        with _jarscore(work / "repository", work) as (ports, _):
            out["remote"] = jvm_side.run_kafka(model.artifact, rows_csv, quick, log, plan=plan,
                                               remote=f"127.0.0.1:{ports['grpc']}")
    except (jvm_side.JvmBenchError, ServeBenchError, OSError, ValueError) as exc:
        out["failed"] = str(exc)
    return out


def _run(command: list[str], timeout: float, what: str) -> None:
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise ServeBenchError(f"{what} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        raise ServeBenchError(f"{what} failed (exit {done.returncode}): "
                              + " | ".join(done.stderr.strip().splitlines()[-8:]))
