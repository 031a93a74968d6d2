"""The model server (``jarscore serve``) as a real process, spoken to by clients nobody here wrote:
tritonclient.http (JSON and binary), tritonclient.grpc, and plain HTTP in TensorFlow Serving's
documented formats. Results equal the native libraries' on held-out rows; versions swap under load;
bad input gets a clear 4xx or status; a flood beyond the queue gets 429s; shutdown finishes the
requests in flight."""

from __future__ import annotations

import http.client
import json
import math
import re
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import grpc
import lightgbm
import numpy as np
import pandas as pd
import pytest
import tritonclient.grpc as triton_grpc
import tritonclient.http as triton_http
from tritonclient.utils import InferenceServerException

from jarscore.converter import convert
from jarscore.converter.kinds import DOUBLE_TOLERANCE, FLOAT32_TOLERANCE
from jarscore.delivery import set_labels
from registry_models import publish, train_versions
from zoo import SEED, ZOO, numeric_frame, regression

MAX_ROWS = 5000
MAX_BYTES = 1_000_000
WAIT = 180   # seconds: a bound on every wait here, never an assertion about speed


@dataclass
class Model:
    native: object
    held: pd.DataFrame
    folder: Path

    @property
    def manifest(self) -> dict:
        return json.loads((self.folder / "manifest.json").read_text())


@pytest.fixture(scope="module")
def models(registry_sources, tmp_path_factory) -> dict[str, Model]:
    """price 1 and 2 (LightGBM regressors, the registry tests' own), clf (XGBoost, float32), mixed (a
    scikit-learn pipeline with a string input), each with its native model and held-out rows."""
    folder = tmp_path_factory.mktemp("server-models")
    natives = train_versions()
    held = numeric_frame(rows=200, nan_share=0.05, seed=SEED + 1)
    out = {f"price{v}": Model(natives[v], held, registry_sources[v]) for v in (1, 2)}
    for name, zoo_name in (("clf", "xgboost-binary"), ("mixed", "sklearn-pipeline")):
        entry = next(z for z in ZOO if z.name == zoo_name)
        model, rows = entry.fitted()
        convert(model, folder / name, sample=rows, name=name, version=1, log=lambda line: None).close()
        out[name] = Model(model, rows.reset_index(drop=True), folder / name)
    return out


def _default_interrupt() -> None:
    """Ctrl-C as a terminal's foreground process gets it: a test run started in the background of a
    script inherits SIGINT ignored, and the server, rightly, keeps ignoring it then."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Server:
    """``python -m jarscore serve ROOT --http-port 0 --grpc-port 0 ...`` until stop()."""

    def __init__(self, root: Path, work: Path, *options: str):
        ports = work / "ports.json"
        self.log = work / "server.log"
        with open(self.log, "w") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "jarscore", "serve", str(root), "--http-port", "0", "--grpc-port", "0",
                 "--ports-file", str(ports), *options], stdout=log, stderr=subprocess.STDOUT,
                preexec_fn=_default_interrupt)
        deadline = time.monotonic() + WAIT
        while not ports.is_file():
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                pytest.fail(f"the server did not start: {self.log.read_text()}")
            time.sleep(0.1)
        bound = json.loads(ports.read_text())
        self.http_port, self.grpc_port = bound["http"], bound["grpc"]

    @property
    def http_url(self) -> str:
        return f"127.0.0.1:{self.http_port}"

    @property
    def grpc_url(self) -> str:
        return f"127.0.0.1:{self.grpc_port}"

    def request(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict, bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.http_port, timeout=WAIT)
        try:
            data = json.dumps(body).encode() if isinstance(body, (dict, list)) else body
            connection.request(method, path, body=data, headers=headers or {})
            response = connection.getresponse()
            return response.status, dict(response.getheaders()), response.read()
        finally:
            connection.close()

    def json(self, method: str, path: str, body=None, headers=None) -> tuple[int, dict]:
        status, _, data = self.request(method, path, body, headers)
        return status, json.loads(data)

    def stop(self, signum=signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=WAIT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise


@pytest.fixture(scope="module")
def server(models, tmp_path_factory):
    root = tmp_path_factory.mktemp("server-repository")
    publish(root, 1, models["price1"].folder)
    publish(root, 2, models["price2"].folder)
    set_labels(root, "price", {"stable": 1})
    for name in ("clf", "mixed"):
        publish(root, 1, models[name].folder, name=name)
    running = Server(root, tmp_path_factory.mktemp("server"), "--poll-seconds", "0.1", "--max-rows", str(MAX_ROWS),
                     "--max-request-bytes", str(MAX_BYTES))
    running.root = root
    yield running
    status = running.stop()
    assert status == 128 + signal.SIGTERM, running.log.read_text()
    assert "stopped" in running.log.read_text()


def close(actual, expected, tolerance):
    np.testing.assert_allclose(np.asarray(actual, dtype=float), np.asarray(expected, dtype=float),
                               rtol=tolerance, atol=tolerance)


def numeric_inputs(module, frame: pd.DataFrame, names, binary: bool | None = None):
    inputs = []
    for name in names:
        tensor = module.InferInput(name, [len(frame)], "FP64")
        values = frame[name].to_numpy(dtype=np.float64)
        if binary is None:
            tensor.set_data_from_numpy(values)
        else:
            tensor.set_data_from_numpy(values, binary_data=binary)
        inputs.append(tensor)
    return inputs


# Open Inference Protocol -------------------------------------------------------------------------

@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_tritonclient_http_results_equal_the_native_models(server, models, binary):
    client = triton_http.InferenceServerClient(server.http_url)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("price")
    metadata = client.get_model_metadata("price")
    assert metadata["versions"] == ["1", "2"] and metadata["platform"] == "jarscore_lightgbm"
    price = models["price2"]
    names = [field["name"] for field in metadata["inputs"]]
    target = price.manifest["target"]

    out = [triton_http.InferRequestedOutput(target, binary_data=binary)]
    result = client.infer("price", numeric_inputs(triton_http, price.held, names, binary), outputs=out,
                          request_id="req-7")
    assert result.get_response()["model_version"] == "2" and result.get_response()["id"] == "req-7"
    close(result.as_numpy(target), price.native.predict(price.held), DOUBLE_TOLERANCE)

    # version 1 explicitly, as one [rows, columns] tensor of the training columns
    old = models["price1"]
    matrix = triton_http.InferInput("input", list(old.held.shape), "FP64")
    matrix.set_data_from_numpy(old.held.to_numpy(dtype=np.float64), binary_data=binary)
    result = client.infer("price", [matrix], model_version="1")
    assert result.get_response()["model_version"] == "1"
    close(result.as_numpy(target), old.native.predict(old.held), DOUBLE_TOLERANCE)

    clf = models["clf"]
    names = [field["name"] for field in client.get_model_metadata("clf")["inputs"]]
    result = client.infer("clf", numeric_inputs(triton_http, clf.held, names, binary),
                          outputs=[triton_http.InferRequestedOutput(n, binary_data=binary)
                                   for n in ("probabilities", clf.manifest["target"])])
    assert result.as_numpy("probabilities").dtype == np.float32    # XGBoost computes in float32
    close(result.as_numpy("probabilities"), clf.native.predict_proba(clf.held), FLOAT32_TOLERANCE)
    assert (result.as_numpy(clf.manifest["target"]) == clf.native.predict(clf.held)).all()


def test_tritonclient_sends_strings_as_bytes(server, models):
    mixed = models["mixed"]
    rows = mixed.held[mixed.held["city"].notna()]       # a BYTES tensor holds no missing value
    client = triton_http.InferenceServerClient(server.http_url)
    inputs = numeric_inputs(triton_http, rows, ["f0", "f1", "f2", "f3"])
    city = triton_http.InferInput("city", [len(rows)], "BYTES")
    city.set_data_from_numpy(rows["city"].to_numpy(dtype=object))
    result = client.infer("mixed", [*inputs, city])
    close(result.as_numpy("probabilities"), mixed.native.predict_proba(rows), DOUBLE_TOLERANCE)

    grpc_client = triton_grpc.InferenceServerClient(server.grpc_url)
    city = triton_grpc.InferInput("city", [len(rows)], "BYTES")
    city.set_data_from_numpy(rows["city"].to_numpy(dtype=object))
    result = grpc_client.infer("mixed", [*numeric_inputs(triton_grpc, rows, ["f0", "f1", "f2", "f3"]), city])
    assert (result.as_numpy(mixed.manifest["target"]) == mixed.native.predict(rows)).all()


def test_tritonclient_grpc_results_equal_the_native_models(server, models):
    client = triton_grpc.InferenceServerClient(server.grpc_url)
    assert client.is_server_live() and client.is_server_ready() and client.is_model_ready("price", "1")
    assert not client.is_model_ready("price", "3")
    metadata = client.get_model_metadata("price", as_json=True)
    assert models["price2"].manifest["target"] in [o["name"] for o in metadata["outputs"]]
    price = models["price2"]
    names = [field["name"] for field in metadata["inputs"]]
    target = price.manifest["target"]
    result = client.infer("price", numeric_inputs(triton_grpc, price.held, names), request_id="g-1")
    assert result.get_response().model_version == "2" and result.get_response().id == "g-1"
    close(result.as_numpy(target), price.native.predict(price.held), DOUBLE_TOLERANCE)

    clf = models["clf"]
    matrix = triton_grpc.InferInput("input", list(clf.held.shape), "FP64")
    matrix.set_data_from_numpy(clf.held.to_numpy(dtype=np.float64))
    result = client.infer("clf", [matrix], outputs=[triton_grpc.InferRequestedOutput("probabilities")])
    close(result.as_numpy("probabilities"), clf.native.predict_proba(clf.held), FLOAT32_TOLERANCE)

    old = models["price1"]
    result = client.infer("price", numeric_inputs(triton_grpc, old.held, names), model_version="1")
    close(result.as_numpy(target), old.native.predict(old.held), DOUBLE_TOLERANCE)


def test_health_answers_carry_json_bodies(server):
    assert server.json("GET", "/v2/health/live") == (200, {"live": True})
    assert server.json("GET", "/v2/health/ready") == (200, {"ready": True})
    assert server.json("GET", "/v2/models/price/ready") == (200, {"name": "price", "ready": True})
    assert server.json("GET", "/v2/models/price/versions/9/ready") == (503, {"name": "price", "version": "9",
                                                                            "ready": False})
    status, body = server.json("GET", "/v2")
    assert status == 200 and body["name"] == "jarscore" and "binary_tensor_data" in body["extensions"]


# TensorFlow Serving ------------------------------------------------------------------------------

def test_tensorflow_serving_rest_formats(server, models):
    price1, price2 = models["price1"], models["price2"]
    status, body = server.json("GET", "/v1/models/price")
    assert status == 200
    assert {(s["version"], s["state"]) for s in body["model_version_status"]} == {("1", "AVAILABLE"), ("2", "AVAILABLE")}
    assert server.json("GET", "/v1/models/price/labels/stable")[1]["model_version_status"][0]["version"] == "1"
    status, body = server.json("GET", "/v1/models/price/metadata")
    signature = body["metadata"]["signature_def"]["signature_def"]["serving_default"]
    assert signature["inputs"]["f0"]["dtype"] == "DT_DOUBLE" and body["model_spec"]["version"] == "2"

    target = price2.manifest["target"]
    rows = price2.held.head(50)
    instances = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in rows.to_dict("records")]
    status, headers, data = server.request("POST", "/v1/models/price:predict", {"instances": instances})
    body = json.loads(data)
    assert status == 200 and headers["X-Model-Version"] == "2" and body["model_spec"]["version"] == "2"
    close(body["predictions"], price2.native.predict(rows), DOUBLE_TOLERANCE)   # one output: bare values

    status, body = server.json("POST", "/v1/models/price/labels/stable:predict", {"instances": instances})
    assert status == 200 and body["model_spec"]["version"] == "1"
    close(body["predictions"], price1.native.predict(rows), DOUBLE_TOLERANCE)

    lists = [[None if pd.isna(v) else v for v in row] for row in rows.itertuples(index=False)]
    status, body = server.json("POST", "/v1/models/price/versions/1:predict", {"instances": lists})
    close(body["predictions"], price1.native.predict(rows), DOUBLE_TOLERANCE)

    mixed = models["mixed"]
    rows = mixed.held.head(50)
    columns = {k: [None if pd.isna(v) else v for v in rows[k]] for k in rows.columns}
    status, body = server.json("POST", "/v1/models/mixed:predict", {"inputs": columns})
    assert status == 200, body
    close(body["outputs"]["probabilities"], mixed.native.predict_proba(rows), DOUBLE_TOLERANCE)
    assert body["outputs"][mixed.manifest["target"]] == mixed.native.predict(rows).tolist()

    objects = [{k: (None if pd.isna(v) else v) for k, v in row.items()} for row in rows.to_dict("records")]
    status, body = server.json("POST", "/v1/models/mixed:predict", {"instances": objects})
    close([p["probabilities"] for p in body["predictions"]], mixed.native.predict_proba(rows), DOUBLE_TOLERANCE)


# bad input ---------------------------------------------------------------------------------------

def _tensor(name, values, datatype="FP64", shape=None):
    return {"name": name, "datatype": datatype, "shape": shape or [len(values)], "data": values}


ROW = {f"f{i}": 0.5 for i in range(6)}
GOOD = {"inputs": [_tensor(k, [v]) for k, v in ROW.items()]}

BAD_REST = [
    ("GET", "/v2/models/nope", None, 404, "model 'nope' is not served"),
    ("GET", "/v2/models/price/versions/7", None, 404, "version 7 is not served"),
    ("GET", "/v2/models/price/versions/x1", None, 400, "'x1' of model 'price' is not a positive integer"),
    ("POST", "/v2/models/nope/infer", GOOD, 404, "model 'nope'"),
    ("POST", "/v2/models/price/versions/9/infer", GOOD, 404, "version 9"),
    ("POST", "/v2/models/price/infer", b'{"inputs": [', 400, "not valid JSON"),
    ("POST", "/v2/models/price/infer", [1, 2], 400, "expected an object"),
    ("POST", "/v2/models/price/infer", {"inputs": []}, 400, "no inputs"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("f0", [1.0, 2.0], shape=[3])]}, 400,
     "shape [3] (3 elements) but its data hold 2"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("f0", [1.0], "FP128")]}, 400, "datatype 'FP128'"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor(k, ["a"] if k == "f1" else [v], "BYTES" if k == "f1"
                                                           else "FP64") for k, v in ROW.items()]}, 400,
     "input 'f1' is a number"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("f0", [1.0]), _tensor("zz", [1.0])]}, 400,
     "no input 'zz'"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("f0", [1.0])]}, 400, "no input 'f1'"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor(k, [v, v] if k == "f2" else [v]) for k, v in ROW.items()]},
     400, "every input needs one value per row"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor(k, ["Infinity"] if k == "f3" else [v])
                                                   for k, v in ROW.items()]}, 400, "input 'f3' is FP64 but element 0"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor(k, [math.inf] if k == "f3" else [v]) for k, v in ROW.items()]},
     400, "input 'f3' row 0 is Infinity, which no model takes"),
    ("POST", "/v2/models/price/infer", {**GOOD, "outputs": [{"name": "nope"}]}, 400, "has no output 'nope'"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("x", [0.0] * (6 * (MAX_ROWS + 1)), shape=[MAX_ROWS + 1, 6])]},
     413, "at most 5000 rows"),
    ("POST", "/v2/models/price/infer", {"inputs": [_tensor("x", [0.0] * 4, shape=[2, 2])]}, 400,
     "a tensor of rows is [rows, columns] with"),
    ("POST", "/v2/models/price/infer", b"x" * (MAX_BYTES + 1), 413, "over this server's limit of 1000000 bytes"),
    ("PUT", "/v2/models/price/infer", GOOD, 405, "answers POST, not PUT"),
    ("GET", "/v3/anything", None, 404, "no endpoint at /v3/anything"),
    ("POST", "/v2/repository/models/nope/load", b"", 404, "has no model 'nope'"),
    ("GET", "/v1/models/price/labels/canary", None, 404, "no label 'canary'"),
    ("POST", "/v1/models/price:predict", {"instances": [{"f0": 1.0, "f1": 1.0}, {"f0": 1.0}]}, 400,
     "instances[1] has the fields [f0], but instances[0] has [f0, f1]"),
    ("POST", "/v1/models/price:predict", {"instances": [[1.0, "a"]]}, 400, "instances given as lists hold numbers"),
    ("POST", "/v1/models/price:predict", {"rows": []}, 400, "either \"instances\" (rows) or \"inputs\""),
    ("POST", "/v1/models/price:predict", {"instances": [ROW], "signature_name": "other"}, 400, "one signature"),
    ("POST", "/v1/models/price:classify", {"instances": [ROW]}, 404, "':classify' is not served"),
    ("POST", "/v1/models/mixed:predict", {"instances": [{"f0": 1, "f1": 1, "f2": 1, "f3": 1, "city": 3}]}, 400,
     "input 'city' is a string field"),
]


@pytest.mark.parametrize("method, path, body, status, message", BAD_REST,
                         ids=[f"{m} {p} {i}" for i, (m, p, *_) in enumerate(BAD_REST)])
def test_bad_rest_input_gets_a_clear_4xx_and_the_server_answers_after(server, method, path, body, status, message):
    got, headers, data = server.request(method, path, body, {"X-Request-Id": "bad-1"})
    assert got == status, data
    assert message in json.loads(data)["error"], data
    assert headers.get("X-Request-Id") == "bad-1"
    status, body = server.json("POST", "/v2/models/price/infer", GOOD)
    assert status == 200 and body["model_version"] == "2"


def test_bad_grpc_input_gets_a_status_naming_the_fault(server):
    client = triton_grpc.InferenceServerClient(server.grpc_url)
    inputs = numeric_inputs(triton_grpc, pd.DataFrame({k: [v] for k, v in ROW.items()}), ROW)
    cases = [
        (lambda: client.infer("nope", inputs), "StatusCode.NOT_FOUND", "model 'nope' is not served"),
        (lambda: client.infer("price", inputs, model_version="5"), "StatusCode.NOT_FOUND", "version 5"),
        (lambda: client.infer("price", inputs[:2]), "StatusCode.INVALID_ARGUMENT", "no input 'f2'"),
        (lambda: client.infer("price", inputs, outputs=[triton_grpc.InferRequestedOutput("x")]),
         "StatusCode.INVALID_ARGUMENT", "has no output 'x'"),
        (lambda: client.get_model_metadata("price", "0x"), "StatusCode.INVALID_ARGUMENT", "not a positive integer"),
    ]
    for call, code, message in cases:
        with pytest.raises(InferenceServerException) as raised:
            call()
        assert raised.value.status() == code and message in raised.value.message(), str(raised.value)

    with pytest.raises(InferenceServerException) as raised:
        client.infer("price", inputs, request_id="x" * (MAX_BYTES + 1))
    assert raised.value.status() == "StatusCode.RESOURCE_EXHAUSTED", str(raised.value)
    with grpc.insecure_channel(server.grpc_url) as channel:
        infer = channel.unary_unary("/inference.GRPCInferenceService/ModelInfer")   # bytes in, bytes out
        with pytest.raises(grpc.RpcError) as raised:
            infer(b"\x0a\xff\xff\xff\xff\x0f", timeout=WAIT)                          # not a protobuf message
        assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT, raised.value.details()
        assert "not a valid inference.ModelInferRequest" in raised.value.details(), raised.value.details()
    assert client.infer("price", inputs).get_response().model_version == "2"


# metrics and ids ---------------------------------------------------------------------------------

def test_metrics_count_requests_per_model_and_version(server):
    status, headers, data = server.request("POST", "/v2/models/price/versions/1/infer", GOOD,
                                           {"X-Request-Id": "m-1"})
    assert status == 200 and headers["X-Request-Id"] == "m-1" and headers["X-Model-Version"] == "1"
    status, headers, data = server.request("GET", "/metrics")
    text = data.decode()
    assert status == 200 and headers["content-type"].startswith("text/plain")
    assert re.search(r'jarscore_requests_total\{model="price",version="1"\} [1-9]', text), text
    assert re.search(r'jarscore_server_requests_total\{code="200",endpoint="infer",model="price",protocol="http"\} [1-9]',
                     text), text
    assert re.search(r'jarscore_server_request_duration_seconds_count\{endpoint="infer",model="price",'
                     r'protocol="http",version="1"\} [1-9]', text), text
    assert 'model="nope"' not in text   # an unknown name never becomes a label


# a swap under load -------------------------------------------------------------------------------

def test_versions_swap_under_load_with_no_failed_request(server, models):
    """4 clients (2 REST, 2 gRPC) score while 50 versions are published one after the other; each
    version is the price model's version 1 or 2 (odd, even). Every response must be its own
    version's native output."""
    rows = models["price1"].held.head(5)
    expected = {parity: models[f"price{2 - parity}"].native.predict(rows) for parity in (0, 1)}
    names = list(rows.columns)
    sources = {1: models["price1"].folder, 0: models["price2"].folder}
    publish(server.root, 1, sources[1], name="swap")
    target = models["price1"].manifest["target"]
    body = {"inputs": [_tensor(n, [None if pd.isna(v) else float(v) for v in rows[n]]) for n in names]}
    seen, failures, stop = set(), [], threading.Event()

    def check(version: int, values) -> None:
        close(values, expected[version % 2], DOUBLE_TOLERANCE)
        seen.add(version)

    def rest() -> None:
        connection = http.client.HTTPConnection("127.0.0.1", server.http_port, timeout=WAIT)
        try:
            while not stop.is_set():
                connection.request("POST", "/v2/models/swap/infer", body=json.dumps(body))
                response = connection.getresponse()
                answer = json.loads(response.read())
                assert response.status == 200, answer
                check(int(answer["model_version"]), answer["outputs"][0]["data"])
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    def grpc_client() -> None:
        client = triton_grpc.InferenceServerClient(server.grpc_url)
        inputs = numeric_inputs(triton_grpc, rows, names)
        try:
            while not stop.is_set():
                result = client.infer("swap", inputs)
                check(int(result.get_response().model_version), result.as_numpy(target))
        except Exception as exc:  # noqa: BLE001 (reported below)
            failures.append(f"{type(exc).__name__}: {exc}")
        finally:
            client.close()

    def wait_served(version: int) -> float:
        deadline = time.monotonic() + WAIT
        while server.json("GET", "/v2/models/swap")[1].get("versions") != [str(version)]:
            assert time.monotonic() < deadline, f"version {version} never served"
            time.sleep(0.02)
        return deadline

    wait_served(1)   # from here on, every request must find a version
    clients = [threading.Thread(target=f) for f in (rest, rest, grpc_client, grpc_client)]
    for thread in clients:
        thread.start()
    try:
        for version in range(2, 52):
            publish(server.root, version, sources[version % 2], name="swap")
            deadline = wait_served(version)
            while version not in seen and not failures:   # clients scored on it
                assert time.monotonic() < deadline, f"no client got version {version}"
                time.sleep(0.005)
    finally:
        stop.set()
        for thread in clients:
            thread.join(WAIT)
    assert not failures, failures[:3]
    assert seen >= set(range(2, 52)), sorted(seen)


# protection --------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_server(tmp_path_factory):
    """One scoring thread behind a queue of two. A request takes its place when its headers arrive and
    holds it while its body (1.6 MB) is read and its 100 000 rows scored, so requests sent together
    find the places taken."""
    folder = tmp_path_factory.mktemp("slow")
    frame = numeric_frame(rows=2000, features=2, seed=SEED + 2)
    model = lightgbm.LGBMRegressor(n_estimators=60, num_leaves=31, verbose=-1, random_state=SEED)
    model.fit(frame, regression(frame.assign(f2=0.0, f3=0.0)))
    root = folder / "repository"
    root.mkdir()
    convert(model, root / "slow" / "1", sample=frame.head(50), name="slow", version=1, log=lambda line: None).close()
    running = Server(root, folder, "--threads", "1", "--queue", "2")
    yield running
    running.stop(signal.SIGKILL)


def _slow_body(rows: int) -> tuple[bytes, dict]:
    values = np.random.default_rng(SEED).normal(size=(rows, 2))
    inputs = numeric_inputs(triton_http, pd.DataFrame(values, columns=["f0", "f1"]), ["f0", "f1"], binary=True)
    body, json_size = triton_http.InferenceServerClient.generate_request_body(inputs)
    return body, {"Inference-Header-Content-Length": str(json_size)}


def test_a_flood_beyond_the_queue_gets_429s_not_a_crash(slow_server):
    body, headers = _slow_body(100_000)
    statuses, errors = [], []
    barrier = threading.Barrier(24)

    def one() -> None:
        barrier.wait(WAIT)
        status, _, data = slow_server.request("POST", "/v2/models/slow/infer", body, headers)
        statuses.append(status)
        if status != 200:
            errors.append(json.loads(data)["error"])

    threads = [threading.Thread(target=one) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    assert set(statuses) <= {200, 429} and len(statuses) == 24, statuses
    assert statuses.count(429) > 0 and statuses.count(200) >= 1, statuses
    assert all("busy" in error and "--queue" in error for error in errors), errors

    client = triton_grpc.InferenceServerClient(slow_server.grpc_url)
    values = np.random.default_rng(SEED).normal(size=(100_000, 2))
    inputs = numeric_inputs(triton_grpc, pd.DataFrame(values, columns=["f0", "f1"]), ["f0", "f1"])
    outcomes, done = [], threading.Semaphore(0)

    def answered(result, error) -> None:
        outcomes.append("OK" if error is None else error.status())
        done.release()

    for _ in range(24):
        client.async_infer("slow", inputs, answered)
    for _ in range(24):
        assert done.acquire(timeout=WAIT)
    assert set(outcomes) <= {"OK", "StatusCode.RESOURCE_EXHAUSTED"}, outcomes
    assert "StatusCode.RESOURCE_EXHAUSTED" in outcomes and "OK" in outcomes, outcomes
    client.close()
    assert slow_server.json("GET", "/v2/health/ready") == (200, {"ready": True})


def test_shutdown_finishes_the_requests_in_flight(slow_server):
    body, headers = _slow_body(100_000)
    answers = []
    client = threading.Thread(target=lambda: answers.append(
        slow_server.request("POST", "/v2/models/slow/infer", body, headers)))
    client.start()
    deadline = time.monotonic() + WAIT
    while not re.search(r"^jarscore_server_in_flight [1-9]", slow_server.request("GET", "/metrics")[2].decode(), re.M):
        assert time.monotonic() < deadline and client.is_alive(), "the request never got in flight"
        time.sleep(0.001)
    assert slow_server.stop(signal.SIGINT) == 128 + signal.SIGINT    # Ctrl-C
    client.join(WAIT)
    status, headers, data = answers[0]
    assert status == 200 and headers["X-Model-Version"] == "1", data[:200]
    log = slow_server.log.read_text()
    assert "finishing the requests in flight" in log and "stopped" in log, log
