# jarscore: `make demo` and `make test` set up everything they need on a fresh machine
# (Python 3.11, JDK 17, Maven; packages from PyPI and Maven Central only).
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMPS := .setup-stamps
JAVA_SOURCES := $(shell find jvm/src/main -name '*.java' 2>/dev/null)
MVN := mvn -q -B

.PHONY: setup demo test test-python test-java bench bench-quick clean

setup: $(STAMPS)/python $(STAMPS)/jvm

$(STAMPS)/python: pyproject.toml
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@echo "setup: installing the Python package and its pinned dependencies into $(VENV)"
	$(PY) -m pip install -q --disable-pip-version-check -e '.[test,bench]'
	@touch $@

$(STAMPS)/jvm: $(STAMPS)/python jvm/pom.xml jvm/install-pypi-jars.sh $(JAVA_SOURCES)
	@echo "setup: building jvm/ with Maven"
	jvm/install-pypi-jars.sh $(PY)
	cd jvm && $(MVN) -DskipTests package
	@touch $@

demo: setup
	$(PY) -m models.demo

test: setup test-java test-python

test-java: setup
	cd jvm && $(MVN) test

test-python: setup
	$(PY) -m pytest -q tests

# The full suite (about 30 minutes on 2 cores): results, report and plots in benchmarks/results/,
# and the README's results table replaced with this run's.
bench: setup
	$(PY) -m benchmarks --readme

bench-quick: setup
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(STAMPS) jvm/target benchmarks/jvm/target benchmarks/.cache models/artifacts models/trained
