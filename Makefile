# jarscore: `make demo` and `make test` set up everything they need on a fresh machine
# (Python 3.11+, JDK 17+, Maven; packages from PyPI and Maven Central only).
PYTHON_BOOT ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip install -q --disable-pip-version-check
STAMPS := .setup-stamps
JVM_INPUTS := $(shell find jvm -name pom.xml -not -path '*/target/*' 2>/dev/null) \
              $(shell find jvm -path '*/src/main/*' -type f -not -path '*/target/*' 2>/dev/null)
MVN := mvn -q -B
UV_VERSION := 0.13.9

.PHONY: setup demo test test-python test-java dist bench bench-quick clean
# One Maven build at a time: test-java and setup both build jvm/.
.NOTPARALLEL:

setup: $(STAMPS)/python

# The exact versions of every dependency (constraints.txt) first: the Maven build takes the
# JPMML-Transpiler jars from the jpmml_evaluator wheel. uv installs the set (about 35 s from an empty
# cache here, pip about 115 s); pip installs uv itself and, later, jarscore. --compile-bytecode, as
# pip does by default: without .pyc files every Python process the tests start (and every cold start
# the benchmark times) compiles scikit-learn, pandas and scipy from source again when
# PYTHONDONTWRITEBYTECODE is set, as it is on these machines.
$(STAMPS)/deps: constraints.txt
	@mkdir -p $(STAMPS)
	@test -x $(PY) || $(PYTHON_BOOT) -m venv $(VENV)
	@echo "setup: installing the pinned Python dependencies (constraints.txt) into $(VENV)"
	$(PIP) uv==$(UV_VERSION)
	$(PY) -m uv pip install -q --compile-bytecode --python $(PY) -r constraints.txt
	@touch $@

# jvm/bundle/target/jars is what the Python package loads; `install` puts the modules into the local
# Maven repository for Java consumers and the JMH project.
$(STAMPS)/jvm: $(STAMPS)/deps jvm/install-pypi-jars.sh $(JVM_INPUTS)
	@echo "setup: building jvm/ with Maven"
	jvm/install-pypi-jars.sh $(PY)
	cd jvm && $(MVN) -DskipTests install
	@touch $@

$(STAMPS)/python: $(STAMPS)/jvm pyproject.toml setup.py
	@echo "setup: installing jarscore (editable) into $(VENV)"
	$(PIP) --no-build-isolation -c constraints.txt -e '.[convert,remote,parquet,test,bench,peers]'
	@touch $@

demo: setup
	$(PY) -m models.demo

# test-java builds, tests and installs jvm/ in one Maven pass, which also brings the jvm stamp up to
# date, so the setup test-python needs then builds only the Python side.
test: test-java test-python

test-java: $(STAMPS)/deps
	@echo "test: building and testing jvm/ with Maven"
	jvm/install-pypi-jars.sh $(PY)
	cd jvm && $(MVN) install
	@touch $(STAMPS)/jvm

test-python: setup
	$(PY) -m pytest -q tests

# The wheel (with the JVM runtime and compiler jars inside) and the runnable app jars, in dist/.
dist: setup
	@mkdir -p dist
	$(PY) -m pip wheel -q --no-deps --no-build-isolation -w dist .
	cp jvm/kafka-app/target/jarscore-kafka-app.jar jvm/server/target/jarscore-server.jar dist/
	@ls -l dist

# The full suite (about 45 minutes on 2 cores): results, report and plots in benchmarks/results/,
# and the README's results table replaced with this run's.
bench: setup
	$(PY) -m benchmarks --readme

bench-quick: setup
	$(PY) -m benchmarks --quick

clean:
	rm -rf $(STAMPS) dist build jvm/*/target benchmarks/jvm/target benchmarks/coldstart/target benchmarks/.cache models/artifacts models/trained
