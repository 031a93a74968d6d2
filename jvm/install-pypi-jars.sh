#!/usr/bin/env bash
# Installs the JPMML-Transpiler jars that Maven Central cannot resolve (their parent POM is
# missing there) into the local Maven repository, taken from the pinned jpmml_evaluator wheel
# on PyPI. Usage: jvm/install-pypi-jars.sh PYTHON   (the project's virtualenv python)
set -euo pipefail
python=${1:?usage: install-pypi-jars.sh PYTHON}
version=1.5.1
deps=$("$python" -c 'import jpmml_evaluator, os; print(os.path.join(os.path.dirname(jpmml_evaluator.__file__), "dependencies"))') || {
  echo "jpmml_evaluator is not installed in $python; run 'make setup'" >&2; exit 1; }
repo="${MAVEN_LOCAL_REPOSITORY:-$HOME/.m2/repository}"  # Maven's default local repository
for artifact in pmml-translator pmml-transpiler; do
  jar="$deps/$artifact-$version.jar"
  [ -f "$jar" ] || { echo "missing $jar: is jpmml_evaluator==0.16.0 installed?" >&2; exit 1; }
  target="$repo/org/jpmml/$artifact/$version/$artifact-$version.jar"
  if [ -f "$target" ] && cmp -s "$jar" "$target"; then continue; fi
  echo "installing org.jpmml:$artifact:$version from the jpmml_evaluator wheel"
  mvn -q install:install-file -Dfile="$jar" -DgroupId=org.jpmml -DartifactId="$artifact" \
    -Dversion="$version" -Dpackaging=jar -DgeneratePom=true
done
