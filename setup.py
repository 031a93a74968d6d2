"""The wheel carries jarscore's JVM side as package data (jarscore.jars), built by Maven into
jvm/bundle/target/jars (the model server's jar in its server/ folder). Building without it would give
a wheel that cannot score."""

from pathlib import Path

from setuptools import setup

JARS = Path(__file__).resolve().parent / "jvm" / "bundle" / "target" / "jars"

if not any(JARS.glob("jarscore-runtime-*.jar")) or not (JARS / "server" / "jarscore-server.jar").is_file():
    raise SystemExit(f"{JARS} holds no jarscore-runtime jar or no server/jarscore-server.jar: build the JVM side "
                     "first. 'make dist' builds it and the wheel; 'make setup' does it for a development install.")

setup()
