"""Out-of-process mode (Scorer.load(..., out_of_process=True)): the same answers as in-process
scoring, from a JVM in a child process, and it keeps working across fork()."""

from __future__ import annotations

import ipaddress
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from jarscore.converter import convert
from jarscore.errors import InputError, JvmError
from jarscore.scorer import Scorer
from zoo import ZOO

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = next(z for z in ZOO if z.name == "sklearn-pipeline")


@pytest.fixture(scope="module")
def artifact(tmp_path_factory):
    model, held_out = PIPELINE.fitted()
    out = tmp_path_factory.mktemp("remote") / "pipeline"
    convert(model, out, sample=held_out, name="pipeline", log=lambda line: None).close()
    return out, held_out


def test_remote_scoring_equals_in_process_scoring(artifact):
    out, held_out = artifact
    # The gateway scores through JPMML-Evaluator, so it equals the in-process JPMML path exactly and
    # the in-process kernel to the kernel's own tolerance.
    local, remote = Scorer.load(out, kernel=False), Scorer.load(out, out_of_process=True)
    assert remote.out_of_process and not local.out_of_process
    assert remote.kernel.startswith("absent")
    assert remote.input_fields == local.input_fields and remote.output_fields == local.output_fields
    np.testing.assert_array_equal(remote.predict_proba(held_out), local.predict_proba(held_out))
    np.testing.assert_allclose(remote.predict_proba(held_out), Scorer.load(out).predict_proba(held_out), rtol=1e-12)
    np.testing.assert_array_equal(remote.predict(held_out), local.predict(held_out))
    row = held_out.iloc[3].to_dict()
    assert remote.predict_one(row) == local.predict_one(row)
    remote.close()


def test_remote_errors_are_the_same_errors(artifact):
    out, held_out = artifact
    remote = Scorer.load(out, out_of_process=True)
    row = held_out.iloc[0].to_dict() | {"city": "atlantis"}
    with pytest.raises(InputError, match=r"field 'city' value 'atlantis'"):
        remote.predict_one(row)
    with pytest.raises(InputError, match=r"missing input field"):
        remote.predict_one({"f0": 1.0})
    assert remote.predict_proba(held_out.head(2)).shape == (2, 2), "still serving after bad input"


def test_a_dead_gateway_is_a_clear_error(artifact):
    out, held_out = artifact
    remote = Scorer.load(out, out_of_process=True)
    from jarscore.scorer.remote import _Gateway
    gateway = _Gateway.current()
    gateway.process.kill()
    gateway.process.wait()
    with pytest.raises(JvmError, match="scoring gateway process exited"):
        remote.predict_proba(held_out.head(2))
    _Gateway._instance = None          # the next load starts a fresh gateway
    assert Scorer.load(out, out_of_process=True).predict_proba(held_out.head(2)).shape == (2, 2)


def test_remote_mode_works_across_fork_with_no_jvm_in_the_process(artifact):
    out, _ = artifact
    script = """
        import multiprocessing, os, sys
        import jpype
        from jarscore.scorer import Scorer
        scorer = Scorer.load(sys.argv[1], out_of_process=True)
        row = dict(f0=0.3, f1=-1.0, f2=0.5, f3=2.0, city="oslo")
        expected = scorer.predict_one(row)
        pid = os.fork()
        if pid == 0:
            print("child:", scorer.predict_one(row) == expected, flush=True)
            sys.exit(0)
        _, status = os.waitpid(pid, 0)
        print("child exit:", os.waitstatus_to_exitcode(status))

        def score(_):
            return scorer.predict_one(row) == expected

        with multiprocessing.get_context("fork").Pool(2) as pool:
            print("pool:", all(pool.map(score, range(6))))
        print("parent:", scorer.predict_one(row) == expected)
        print("jvm in this process:", jpype.isJVMStarted())
    """
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script), str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[:5] == ["child: True", "child exit: 0", "pool: True", "parent: True",
                                           "jvm in this process: False"], done.stdout


# --- the gateway answers only its parent ----------------------------------------------------------

def _gateway_of(scorer):
    return scorer._model._gateway


def _listening_sockets(pid: int) -> list[tuple[str, int]]:
    """(address, port) of every TCP socket in LISTEN state that process ``pid`` holds."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    found = []
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state != "0A" or inode not in inodes:          # 0A: TCP_LISTEN
                continue
            address, port = local.split(":")
            raw = bytes.fromhex(address)
            # /proc/net prints the address as 32-bit words in host (little-endian) order.
            raw = b"".join(raw[i:i + 4][::-1] for i in range(0, len(raw), 4))
            ip = ipaddress.ip_address(raw)
            ip = getattr(ip, "ipv4_mapped", None) or ip      # Java listens on an IPv6 socket: ::ffff:a.b.c.d
            found.append((str(ip), int(port, 16)))
    return found


def _foreign_client(port: int, token: str | None):
    from py4j.java_gateway import GatewayParameters, JavaGateway
    return JavaGateway(gateway_parameters=GatewayParameters(port=port, auth_token=token, auto_convert=False))


@pytest.mark.parametrize("token", [None, "0" * 64, ""], ids=["no-token", "wrong-token", "empty-token"])
def test_a_client_without_the_token_is_refused(artifact, token):
    from py4j.protocol import Py4JAuthenticationError, Py4JError

    out, held_out = artifact
    local = Scorer.load(out, kernel=False)
    remote = Scorer.load(out, out_of_process=True)
    gateway = _gateway_of(remote)
    np.testing.assert_array_equal(remote.predict_proba(held_out), local.predict_proba(held_out))

    intruder = _foreign_client(gateway.port, token)
    try:
        # Without a token py4j's server answers the first command with an authentication error and
        # hangs up; with a wrong one the client's AUTH command itself fails.
        expected = Py4JAuthenticationError if token else Py4JError
        with pytest.raises(expected, match="Authentication error|Failed to authenticate"):
            intruder.jvm.java.lang.System.getProperty("user.name")
        with pytest.raises(Py4JError):
            intruder.entry_point.close("1")
    finally:
        intruder.close()

    assert gateway.process.poll() is None, "the refused client must not take the gateway down"
    np.testing.assert_array_equal(remote.predict_proba(held_out), local.predict_proba(held_out))
    np.testing.assert_array_equal(remote.predict(held_out), local.predict(held_out))


def test_the_token_stays_off_the_command_line_and_environment(artifact):
    out, held_out = artifact
    remote = Scorer.load(out, out_of_process=True)
    gateway = _gateway_of(remote)
    token = gateway.gateway.gateway_parameters.auth_token
    assert token and len(token) >= 64
    pid = gateway.process.pid
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    assert b"ScoringGateway" in cmdline                     # the right process
    assert token.encode() not in cmdline
    assert token.encode() not in Path(f"/proc/{pid}/environ").read_bytes()
    assert remote.predict_proba(held_out.head(3)).shape == (3, 2)


def test_the_gateway_listens_on_ipv4_loopback_only(artifact):
    out, _ = artifact
    gateway = _gateway_of(Scorer.load(out, out_of_process=True))
    listening = _listening_sockets(gateway.process.pid)
    assert listening, "no listening socket found for the gateway"
    for address, port in listening:
        assert address == "127.0.0.1", listening
    assert gateway.port in [port for _, port in listening]


def test_the_gateway_will_not_start_without_a_token():
    from jarscore.scorer import jvm
    from jarscore.scorer.remote import _GATEWAY_CLASS

    command = [jvm.java_executable(), "-cp", os.pathsep.join(jvm.classpath()), _GATEWAY_CLASS]
    done = subprocess.run(command, input=b"", capture_output=True, timeout=60)
    assert done.returncode == 2
    assert b"jarscore-gateway port" not in done.stdout
    assert b"auth token" in done.stderr
