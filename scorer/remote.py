"""Out-of-process scoring: the model lives in a JVM of its own, a child process reached over Py4J on
loopback, for servers that fork after loading (gunicorn ``--preload``, multiprocessing with fork).

A JVM started inside a process does not survive ``fork()``; a child process does not care. Each Python
process gets its own gateway, started on first use: a child forked after its parent loaded a model
starts a gateway of its own and loads the model again there, so it works by design. A batch crosses
as one byte string each way (see ``io.jarscore.remote.ScoringGateway``), never value by value.

The gateway listens on 127.0.0.1 only, on an ephemeral port, and answers only the client holding the
random token its parent gave it over its standard input: Py4J would otherwise hand any local process the
gateway's JVM (``java.lang.Runtime`` included)."""

from __future__ import annotations

import atexit
import json
import os
import secrets
import struct
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any

import numpy as np

from jarscore.errors import ArtifactError, InputError, JvmError
from jarscore.scorer import jvm

_GATEWAY_CLASS = "io.jarscore.remote.ScoringGateway"
_START_SECONDS = 60
_LOOPBACK = "127.0.0.1"  # the gateway binds this address only


class _Gateway:
    """One gateway JVM per Python process; it exits when this process closes its standard input."""

    _instance: "_Gateway | None" = None
    _lock = threading.Lock()

    @classmethod
    def current(cls) -> "_Gateway":
        with cls._lock:
            if cls._instance is None or cls._instance.pid != os.getpid():
                cls._instance = cls()
            return cls._instance

    def __init__(self):
        try:
            from py4j.java_gateway import GatewayParameters, JavaGateway
        except ImportError as exc:
            raise JvmError("out_of_process=True talks to its JVM through Py4J, which is not installed: "
                           "pip install 'jarscore[remote]'") from exc

        self.pid = os.getpid()
        self.log = tempfile.TemporaryFile()
        # Py4J's gateway hands its client the whole JVM (java.lang.Runtime included), so it answers
        # only a client holding this per-gateway secret. It goes to the child as the first line of its
        # standard input: a pipe only this process holds, unlike argv (anyone's `ps`) or the
        # environment (/proc/PID/environ, and inherited by whatever the JVM starts).
        token = secrets.token_hex(32)
        command = [jvm.java_executable(), "-cp", os.pathsep.join(jvm.classpath()), _GATEWAY_CLASS]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log)
        try:
            self.process.stdin.write(token.encode("ascii") + b"\n")
            self.process.stdin.flush()
        except OSError:
            pass  # the child died at once; _await_port reports its log
        self.port = self._await_port()
        self.gateway = JavaGateway(gateway_parameters=GatewayParameters(
            address=_LOOPBACK, port=self.port, auth_token=token, auto_convert=False))
        self.entry = self.gateway.entry_point
        atexit.register(self.stop)

    def _await_port(self) -> int:
        timer = threading.Timer(_START_SECONDS, self.process.kill)
        timer.start()
        try:
            line = self.process.stdout.readline().decode(errors="replace")
        finally:
            timer.cancel()
        if not line.startswith("jarscore-gateway port "):
            raise JvmError(f"the scoring gateway ({_GATEWAY_CLASS}) did not start: {self.stderr_tail() or line!r}")
        return int(line.split()[-1])

    def stderr_tail(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace").strip()[-1500:]

    def stop(self) -> None:
        if self.pid != os.getpid():
            return  # a forked child's copy: the parent's gateway is the parent's to stop
        try:
            self.process.stdin.close()
            self.process.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()


def _forget_parent_gateway() -> None:
    # After fork the child holds a copy of the parent's pipe to its gateway; closing the copy lets the
    # parent's gateway see end-of-input when the parent alone closes it.
    gateway = _Gateway._instance
    if gateway is not None:
        try:
            gateway.process.stdin.close()
        except OSError:
            pass


os.register_at_fork(after_in_child=_forget_parent_gateway)


class _Spec:
    """A field description, with the accessors of ``io.jarscore.runtime.FieldSpec``."""

    def __init__(self, data: dict):
        self._data = data

    def name(self):
        return self._data["name"]

    def dataType(self):  # noqa: N802 (the Java accessor's name)
        return self._data["dataType"]

    def opType(self):  # noqa: N802
        return self._data["opType"]

    def numeric(self):
        return self._data["numeric"]

    def values(self):
        return self._data["values"]


class RemoteModel:
    """``io.jarscore.runtime.Model`` in the gateway process: the same metadata accessors, and
    :meth:`score_columns` taking and returning Python columns."""

    def __init__(self, path: Path, pmml: bool):
        self.path, self.pmml = Path(path), pmml
        self._load()

    def _load(self) -> None:
        self._gateway = _Gateway.current()
        meta = json.loads(self._call(self._gateway.entry.load, str(self.path.resolve()), self.pmml))
        self._id = meta["id"]
        self._meta = meta

    def _ready(self) -> _Gateway:
        if self._gateway.pid != os.getpid():
            self._load()          # forked: this process loads the model into a gateway of its own
        return self._gateway

    def inputFields(self):  # noqa: N802
        return [_Spec(f) for f in self._meta["inputs"]]

    def resultFields(self):  # noqa: N802
        return [_Spec(f) for f in self._meta["results"]]

    def miningFunction(self):  # noqa: N802
        return self._meta["miningFunction"]

    def score_columns(self, columns: list, rows: int) -> list:
        gateway = self._ready()
        reply = self._call(gateway.entry.score, self._id, bytearray(_encode(columns, rows)))
        return _decode(bytes(reply))

    def close(self) -> None:
        if self._gateway.pid == os.getpid() and self._gateway.process.poll() is None:
            self._call(self._gateway.entry.close, self._id)

    def _call(self, method, *args) -> Any:
        from py4j.protocol import Py4JError, Py4JJavaError

        try:
            return method(*args)
        except Py4JJavaError as exc:
            java = exc.java_exception
            name, message = java.getClass().getName(), java.getMessage()
            if name == "io.jarscore.runtime.ScoringException":
                raise InputError(message) from None
            if name == "io.jarscore.runtime.ArtifactException":
                raise ArtifactError(message) from None
            raise JvmError(f"{name}: {message}") from None
        except Py4JError as exc:
            gateway = self._gateway
            status = gateway.process.poll()
            raise JvmError(f"the scoring gateway process {'exited with ' + str(status) if status is not None else 'failed'}"
                           f": {exc}; its log: {gateway.stderr_tail() or '(empty)'}") from None


def _encode(columns: list, rows: int) -> bytes:
    parts = [struct.pack("<ii", len(columns), rows)]
    for column in columns:
        if isinstance(column, np.ndarray):
            parts += [b"\x00", np.ascontiguousarray(column, dtype="<f8").tobytes()]
        else:
            parts.append(b"\x01")
            for value in column:
                if value is None:
                    parts.append(struct.pack("<i", -1))
                else:
                    text = value.encode("utf-8")
                    parts += [struct.pack("<i", len(text)), text]
    return b"".join(parts)


def _decode(reply: bytes) -> list:
    count, rows = struct.unpack_from("<ii", reply, 0)
    offset, columns = 8, []
    for _ in range(count):
        kind = reply[offset]
        offset += 1
        if kind == 0:
            columns.append(np.frombuffer(reply, dtype="<f8", count=rows, offset=offset).copy())
            offset += 8 * rows
            continue
        values = []
        for _ in range(rows):
            (length,) = struct.unpack_from("<i", reply, offset)
            offset += 4
            if length < 0:
                values.append(None)
            else:
                values.append(reply[offset:offset + length].decode("utf-8"))
                offset += length
        columns.append(values)
    return columns
