"""A real single-node Kafka broker for Python programs in this checkout (the online-learning example and
its test), started by the same code the Kafka app's JUnit tests use: ``io.jarscore.kafka.KafkaBroker``
(jvm/kafka-app, test scope), which runs KRaft from the Maven Central jars in a child JVM on free ports."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
JVM = ROOT / "jvm"
APP = JVM / "kafka-app"
APP_JAR = APP / "target" / "jarscore-kafka-app.jar"


class BuildError(RuntimeError):
    """Maven failed to build the Kafka app's test classes or their classpath."""


def run_checked(command: list[str], cwd: Path, what: str, timeout: float, error=BuildError) -> str:
    """Runs a build command and returns its stdout; ``error`` names ``what`` failed with the output's tail."""
    try:
        done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        raise error(f"{what} took longer than {timeout:.0f} s") from None
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-15:])
        raise error(f"{what} failed (exit {done.returncode}): {tail}")
    return done.stdout


def kafka_test_classpath(log=print, timeout: float = 900) -> str:
    """The Kafka app's test classpath (its test classes, the broker's jars, the runtime's), compiled by
    Maven from jvm/ with -am so that it is the checkout's code, not an installed copy."""
    log("compiling jvm/kafka-app's test classes and resolving their classpath (mvn)")
    listing = APP / "target" / "test-classpath.txt"
    command = ["mvn", "-q", "-B", "-DskipTests", "-pl", "kafka-app", "-am", "test-compile",
               "dependency:build-classpath", "-Dmdep.includeScope=test",
               "-Dmdep.outputFile=target/test-classpath.txt"]
    run_checked(command, JVM, f"mvn test-compile in {JVM}", timeout)
    return os.pathsep.join([str(APP / "target" / "test-classes"), str(APP / "target" / "classes"),
                            listing.read_text().strip()])


class KafkaBroker:
    """``with KafkaBroker(classpath, {"events": 2}) as broker: broker.bootstrap_servers``. The broker
    stops (and deletes its data) when the block ends, or when this process dies."""

    def __init__(self, classpath: str, topics: dict[str, int], java: str = "java"):
        # The Kafka tests' logging: the admin client's INFO lines would bury the example's own output.
        logging = f"-Djava.util.logging.config.file={JVM / 'test-logging.properties'}"
        self._command = [java, "-Xmx256m", "-XX:+UseSerialGC", logging, "-cp", classpath,
                         "io.jarscore.kafka.KafkaBroker",
                         *(f"{name}:{partitions}" for name, partitions in topics.items())]
        self._process: subprocess.Popen | None = None
        self.bootstrap_servers = ""

    def __enter__(self) -> "KafkaBroker":
        self._process = subprocess.Popen(self._command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        for line in self._process.stdout:
            if line.startswith("bootstrap.servers="):
                self.bootstrap_servers = line.strip().split("=", 1)[1]
                return self
        code = self._process.wait()
        raise RuntimeError(f"the Kafka broker exited with {code} before it was ready; its output is above")

    def __exit__(self, *exc_info) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.stdin.close()            # KafkaBroker.main stops the broker when its input closes
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
