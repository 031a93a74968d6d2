"""The fast kernel against JPMML-Evaluator (the same artifact with kernel=False) on zoo models:
outputs within 1e-12 relative (bit-for-bit for XGBoost's float32), including hypothesis-generated
rows with NaN and values exactly on split thresholds; the fast path is really used; a kernel that
disagrees is refused loudly; a model the compiler does not support falls back loudly."""

from __future__ import annotations

import gzip
import json
import logging
import re
import shutil
import threading
import time
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jarscore.converter import convert
from jarscore.converter.artifact import file_entry
from jarscore.errors import ArtifactError, InputError, JarscoreError
from jarscore.scorer import Scorer, inputs, jvm
from zoo import ZOO

MODELS = ["lightgbm-binary", "lightgbm-leafwise", "lightgbm-multiclass", "lightgbm-categorical", "xgboost-binary",
          "xgboost-multiclass", "sklearn-random-forest", "sklearn-pipeline"]
BY_NAME = {z.name: z for z in ZOO}


@pytest.fixture(scope="module")
def artifacts(zoo_artifact):
    """name -> (artifact folder, held-out rows): the session's zoo artifacts, which the parity tests
    use too; tests that change an artifact change a copy."""
    built = {}
    for name in MODELS:
        _, held_out, folder = zoo_artifact(name)
        built[name] = folder, held_out
    return built


def _pair(artifacts, name):
    """The kernel, and the reference it must equal: the same artifact with the kernel turned off
    (JPMML-Evaluator interpreting model.pmml.gz, as model.jar holds the kernel alone), or for float32
    models (XGBoost) the PMML loaded on its own."""
    directory, held_out = artifacts[name]
    reference = Scorer.load(directory / "model.pmml.gz") if name.startswith("xgboost") \
        else Scorer.load(directory, kernel=False)
    return Scorer.load(directory), reference, held_out


def _assert_same(fast: pd.DataFrame, slow: pd.DataFrame, exact: bool):
    assert list(fast.columns) == list(slow.columns)
    for column in fast.columns:
        if not (pd.api.types.is_numeric_dtype(fast[column]) and pd.api.types.is_numeric_dtype(slow[column])):
            assert fast[column].astype(str).tolist() == slow[column].astype(str).tolist(), column
        elif exact:
            np.testing.assert_array_equal(fast[column].to_numpy(), slow[column].to_numpy(), err_msg=column)
        else:
            np.testing.assert_allclose(fast[column].to_numpy(), slow[column].to_numpy(), rtol=1e-12, atol=0,
                                       err_msg=column)


@pytest.mark.parametrize("name", MODELS)
def test_kernel_matches_jpmml_and_is_used(artifacts, name):
    fast, slow, held_out = _pair(artifacts, name)
    assert fast.kernel == "active", fast.kernel
    before = int(fast._model.kernelRowsScored())
    _assert_same(fast.evaluate(held_out), slow.evaluate(held_out), exact=name.startswith("xgboost"))
    first = held_out.iloc[0].to_dict()
    one_fast, one_slow = fast.predict_one(first), slow.predict_one(first)
    assert one_fast.keys() == one_slow.keys()
    for key in one_fast:
        assert one_fast[key] == pytest.approx(one_slow[key], rel=1e-12) if isinstance(one_fast[key], float) \
            else one_fast[key] == one_slow[key]
    # The fast path scored every row above: the Java side counts rows the kernel scored.
    assert int(fast._model.kernelRowsScored()) - before == len(held_out) + 1
    assert int(slow._model.kernelRowsScored()) == 0
    jpmml = Scorer.load(artifacts[name][0], kernel=False)
    assert jpmml.kernel.startswith("refused: disabled by the caller")


def _forest(scorer):
    """The kernel's table of trees (its class's FOREST), or None for a kernel without one."""
    kernel_class = scorer._model.kernel().getClass()
    try:
        field = kernel_class.getDeclaredField("FOREST")
    except Exception:
        return None
    field.setAccessible(True)
    return field.get(None)


def test_leaf_wise_trees_are_scanned_and_deep_ones_walked(artifacts):
    # scansWholeForest() turns true once a row's leaves came from the scan (LeafScan), so the parity
    # tests above checked the scan on lightgbm-leafwise; the random forest's trees have too many
    # leaves for it. (Where shallow trees such as XGBoost's switch is the cost model's call, which
    # JUnit's LeafScanTest pins down for xgb500's shape.) Loading scores the verification rows.
    scanned = {}
    for name in ("lightgbm-leafwise", "sklearn-random-forest"):
        scorer = Scorer.load(artifacts[name][0])
        scorer.evaluate(artifacts[name][1])
        scanned[name] = bool(_forest(scorer).scansWholeForest())
    assert scanned == {"lightgbm-leafwise": True, "sklearn-random-forest": False}


def test_the_kernel_learns_its_inputs_from_the_verification_rows(artifacts):
    # Loading verifies the kernel on the manifest's verification rows, then hands them to it: the
    # forest takes each input's median there as the pivot of its scan (less work, same scores, as
    # the parity tests above check after loading). An input needs 8 known values to count.
    directory, _ = artifacts["lightgbm-leafwise"]
    scorer = Scorer.load(directory)
    rows = json.loads((Path(directory) / "manifest.json").read_text())["verification"]["rows"]
    known = [sum(row.get(name) is not None for row in rows) for name in scorer.input_fields]
    assert len(rows) >= 8
    assert int(_forest(scorer).learnedSlots()) == sum(k >= 8 for k in known) > 0


def test_a_sum_per_class_is_scanned_per_class(artifacts):
    # LightGBM multiclass: the kernel sums each class's trees (one contiguous range each) on its
    # own, and each range gets its own scan; the parity tests above ran through them.
    name = "lightgbm-multiclass"
    scorer = Scorer.load(artifacts[name][0])
    scorer.evaluate(artifacts[name][1])
    forest = _forest(scorer)
    trees, classes = int(forest.trees()), len(scorer.classes_)
    part = trees // classes
    assert part * classes == trees
    assert [bool(forest.scans(c * part, (c + 1) * part)) for c in range(classes)] == [True] * classes
    assert not forest.scansWholeForest()  # never read whole, so never scanned whole


@pytest.mark.parametrize("name", ["lightgbm-binary", "lightgbm-multiclass", "sklearn-random-forest"])
def test_one_row_array_takes_the_shortest_path_and_agrees(artifacts, name):
    """predict_proba on a (1, inputs) float64 array in input order hands the row straight to the
    kernel: one kernel row a call, the batch path's answer (the probabilities only, two or three
    classes), a fresh array each call (never the buffer the next call overwrites), and an
    infinity still named by the general path."""
    from jarscore.errors import InputError

    directory, held_out = artifacts[name]
    fast = Scorer.load(directory)
    X = held_out.to_numpy(dtype=np.float64)
    assert fast._kernel_row_shape == (1, X.shape[1])
    batch = fast.predict_proba(X[:50])
    before = int(fast._model.kernelRowsScored())
    rows = [fast.predict_proba(X[i:i + 1]) for i in range(50)]
    assert int(fast._model.kernelRowsScored()) - before == 50
    assert batch.shape[1] == len(fast.classes_) and all(r.shape == (1, batch.shape[1]) for r in rows)
    np.testing.assert_array_equal(np.vstack(rows), batch)  # the first row's array survived 49 more calls
    infinite = X[3:4].copy()
    infinite[0, 2] = np.inf
    with pytest.raises(InputError, match=rf"field '{re.escape(held_out.columns[2])}' value inf is infinite"):
        fast.predict_proba(infinite)


def test_plain_one_row_takes_the_short_path_and_agrees(artifacts):
    """predict_one on a dict of plain numbers skips the per-field column building; it must answer as
    the batch path does, and leave anything unusual (inf, a missing key, a string) to the general
    path's errors."""
    from jarscore.errors import InputError

    fast, _, held_out = _pair(artifacts, "lightgbm-binary")
    row = {k: float(v) for k, v in held_out.iloc[3].items()}
    names = list(row)
    row[names[0]] = None
    row[names[1]] = int(round(row[names[1]] * 10))
    assert fast._plain_one_row(row) is not None
    one = fast.predict_one(row)
    frame = fast.evaluate(pd.DataFrame([{k: (np.nan if v is None else float(v)) for k, v in row.items()}]))
    for key, value in one.items():
        assert (value == pytest.approx(frame[key].iloc[0], rel=1e-12)) if isinstance(value, float) \
            else str(value) == str(frame[key].iloc[0])
    for bad in [{**row, names[2]: "x"}, {k: v for k, v in row.items() if k != names[2]}]:
        assert fast._plain_one_row(bad) is None
        with pytest.raises(InputError, match=re.escape(names[2])):
            fast.predict_one(bad)
    # An infinity is found by Java (numpy's check cost more than the copies): the kernel declines
    # the row without scoring it, and the general path names the field.
    infinite = {**row, names[2]: float("inf")}
    before = int(fast._model.kernelRowsScored())
    assert fast._fast.outputs_of(fast._plain_one_row(infinite)) is None
    with pytest.raises(InputError, match=rf"field '{re.escape(names[2])}' value inf is infinite"):
        fast.predict_one(infinite)
    array = np.array([[np.nan if v is None else float(v) for v in infinite.values()]])
    with pytest.raises(InputError, match=rf"field '{re.escape(names[2])}' value inf is infinite"):
        fast.predict_proba(array)
    assert int(fast._model.kernelRowsScored()) == before


@pytest.mark.parametrize("name", ["sklearn-pipeline", "lightgbm-categorical"])
def test_mapping_row_with_categories_takes_the_short_path_and_agrees(artifacts, name):
    fast, _, held_out = _pair(artifacts, name)
    string_fields = [f.name for f in fast.inputs if not f.numeric]
    assert string_fields, "the model has string inputs"
    before = int(fast._model.kernelRowsScored())
    for i in range(20):
        row = {k: (None if isinstance(v, float) and v != v else v) for k, v in held_out.iloc[i].items()}
        row = {k: (float(v) if isinstance(v, (int, float, np.floating)) and not isinstance(v, bool) else v)
               for k, v in row.items()}
        assert fast._plain_one_row(row) is not None, row
        one = fast.predict_one(row)
        frame = fast.evaluate(held_out.iloc[[i]])
        for key, value in one.items():
            assert (value == pytest.approx(frame[key].iloc[0], rel=1e-12)) if isinstance(value, float) \
                else str(value) == str(frame[key].iloc[0]), (i, key)
    assert int(fast._model.kernelRowsScored()) - before == 40
    # A category outside the table is left to the general path, which reports it as JPMML does.
    unknown = {**row, string_fields[0]: "no-such-category"}
    assert fast._plain_one_row(unknown) is None


@pytest.mark.parametrize("name", ["lightgbm-binary", "sklearn-pipeline"])
def test_sequence_row_takes_the_short_path_and_agrees(artifacts, name):
    """predict_one of a list, a tuple or a 1-D array in input-field order answers through the kernel
    as JPMML does; a short row or a string in a numeric field is left to the general path's errors."""
    fast, slow, held_out = _pair(artifacts, name)
    frame = held_out[fast.input_fields]
    before = int(fast._model.kernelRowsScored())
    for i in range(10):
        values = [None if isinstance(v, float) and v != v else float(v) if isinstance(v, (int, float, np.floating))
                  else v for v in frame.iloc[i]]
        want = slow.predict_one(dict(zip(fast.input_fields, values)))
        for row in (values, tuple(values), np.array(values, dtype=object)):
            assert fast._plain_one_row(row) is not None, row
            got = fast.predict_one(row)
            assert list(got) == list(want)
            for key, value in got.items():
                assert (value == pytest.approx(want[key], rel=1e-12, abs=0)) if isinstance(value, float) \
                    else value == want[key], (i, key)
    assert int(fast._model.kernelRowsScored()) - before == 30
    assert fast._plain_one_row(values[:-1]) is None
    with pytest.raises(JarscoreError, match=f"expected {len(values)} values"):
        fast.predict_one(values[:-1])
    numeric_at = [i for i, f in enumerate(fast.inputs) if f.numeric][0]
    bad = list(values)
    bad[numeric_at] = "x"
    assert fast._plain_one_row(bad) is None
    with pytest.raises(JarscoreError, match=re.escape(fast.input_fields[numeric_at])):
        fast.predict_one(bad)


def test_one_row_object_array_takes_the_short_path_and_agrees(artifacts):
    """predict_proba of a one-row array from a mixed DataFrame (an object array: floats and str)."""
    fast, slow, held_out = _pair(artifacts, "sklearn-pipeline")
    array = held_out[fast.input_fields].to_numpy()
    assert array.dtype == object
    string_at = [i for i, f in enumerate(fast.inputs) if not f.numeric][0]
    rows = [i for i in range(len(array)) if not isinstance(array[i, string_at], str)][:3] + list(range(27))
    assert any(array[i, string_at] != array[i, string_at] for i in rows), "a missing category (NaN) is tried"
    before = int(fast._model.kernelRowsScored())
    for i in rows:
        row = array[i:i + 1]
        assert fast._plain_array_row(row) is not None, row
        np.testing.assert_allclose(fast.predict_proba(row), slow.predict_proba(row), rtol=1e-12, atol=0)
    assert int(fast._model.kernelRowsScored()) - before == len(rows)
    unknown = array[:1].copy()
    unknown[0, string_at] = "no-such-category"
    assert fast._plain_array_row(unknown) is None
    with pytest.raises(JarscoreError, match="no-such-category"):
        fast.predict_proba(unknown)


def _thresholds(directory) -> dict[str, list[float]]:
    text = gzip.decompress((directory / "model.pmml.gz").read_bytes()).decode()
    found: dict[str, list[float]] = {}
    for field, value in re.findall(r'<SimplePredicate field="([^"]+)" operator="[a-zA-Z]+" value="([^"]+)"', text):
        try:
            found.setdefault(field, []).append(float(value))
        except ValueError:
            pass
    return found


@pytest.mark.parametrize("name", ["lightgbm-binary", "lightgbm-leafwise", "xgboost-multiclass", "sklearn-random-forest"])
def test_kernel_matches_jpmml_on_generated_rows(artifacts, name):
    fast, slow, held_out = _pair(artifacts, name)
    directory = artifacts[name][0]
    fields = fast.input_fields
    thresholds = _thresholds(directory)
    cell = {f: st.one_of(st.just(np.nan), st.floats(-5, 5, allow_nan=False),
                         st.sampled_from(thresholds.get(f, [0.0])),
                         st.sampled_from(thresholds.get(f, [0.0])).map(lambda t: float(np.nextafter(t, np.inf))),
                         st.sampled_from(thresholds.get(f, [0.0])).map(lambda t: float(np.float32(t))))
            for f in fields}
    rows = st.lists(st.fixed_dictionaries(cell), min_size=1, max_size=40)

    @settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
    @given(rows)
    def check(batch):
        frame = pd.DataFrame(batch, columns=fields)
        try:
            expected = slow.evaluate(frame)
        except JarscoreError as error:
            # JPMML cannot score some row (e.g. all inputs missing): the kernel defers such rows to
            # JPMML, so the caller gets the same error.
            with pytest.raises(type(error)):
                fast.evaluate(frame)
            return
        _assert_same(fast.evaluate(frame), expected, exact=name.startswith("xgboost"))
        matrix = frame.to_numpy(dtype=np.float64)
        if fast.is_classifier and not np.isnan(matrix[0]).all():
            np.testing.assert_allclose(fast.predict_proba(matrix[:1]), slow.predict_proba(matrix[:1]), rtol=1e-12, atol=0)

    check()


@pytest.mark.parametrize("name", ["lightgbm-binary", "lightgbm-leafwise", "xgboost-binary"])
def test_kernel_matches_jpmml_on_infinities_in_java(artifacts, name):
    """Python refuses inf before scoring; Java callers may send it, so the kernel must agree there too."""
    fast, slow, held_out = _pair(artifacts, name)
    rows = 2 * len(fast.input_fields)
    columns = []
    for i, _ in enumerate(fast.input_fields):
        column = np.asarray(held_out[fast.input_fields[i]].to_numpy(dtype=np.float64)[:rows]).copy()
        column[2 * i] = np.inf
        column[2 * i + 1] = -np.inf
        columns.append(column)
    status = fast._model.verifyKernel(fast._java_columns(columns), rows)
    assert str(status) == "active"


def test_batch_on_threads_matches_one_thread(artifacts):
    directory, held_out = artifacts["lightgbm-multiclass"]
    many = Scorer.load(directory, threads=3)
    one = Scorer.load(directory, threads=1)
    big = pd.concat([held_out] * 80, ignore_index=True)  # 24 000 rows: above the parallel threshold (4 096)
    matrix = big[many.input_fields].to_numpy(dtype=np.float64)
    np.testing.assert_array_equal(many.predict_proba(matrix), one.predict_proba(matrix))
    assert many.threads == 3
    # A batch crosses whole and Java scores it in blocks of 512 rows: pieces that start and end
    # off the block boundaries give the same answer, row for row, all through the kernel.
    before = int(one._model.kernelRowsScored())
    whole = one.predict_proba(matrix)
    assert int(one._model.kernelRowsScored()) - before == len(matrix)
    pieces = [one.predict_proba(matrix[start:start + 700]) for start in range(0, len(matrix), 700)]
    np.testing.assert_array_equal(np.vstack(pieces), whole)


class _Calls:
    """A Java model with the names of the methods called through it recorded (it still does the work)."""

    def __init__(self, model):
        self._model, self.names = model, []

    def __getattr__(self, name):
        self.names.append(name)
        return getattr(self._model, name)


def test_column_major_batch_is_read_in_place(artifacts):
    """DataFrame.to_numpy() gives a column-major (Fortran-order) array: Java gathers each block's
    rows from its columns, with the row-major answer, and no transposed copy is made first."""
    directory, held_out = artifacts["lightgbm-binary"]
    scorer = Scorer.load(directory, threads=2)
    # 6 000 rows: over the parallel threshold, twelve blocks, the last one short
    frame = pd.concat([held_out] * 20, ignore_index=True)[scorer.input_fields]
    # (to_numpy() of a frame of one float block is column-major; this concatenation's is not)
    by_column = np.asfortranarray(frame.to_numpy(dtype=np.float64))
    assert by_column.flags.f_contiguous and not by_column.flags.c_contiguous
    expected = scorer.predict_proba(np.ascontiguousarray(by_column))
    calls = scorer._fast._model = _Calls(scorer._fast._model)
    np.testing.assert_array_equal(scorer.predict_proba(by_column), expected)
    assert calls.names == ["scoreKernelSharedColumns"]


def test_batch_releases_the_gil_while_java_scores(artifacts):
    """Another Python thread keeps running while a batch is in Java (JPype drops the GIL for the call)."""
    directory, held_out = artifacts["lightgbm-multiclass"]
    scorer = Scorer.load(directory, threads=1)
    matrix = pd.concat([held_out] * 800, ignore_index=True)[scorer.input_fields].to_numpy(dtype=np.float64)
    scorer.predict_proba(matrix[:5000])

    def ticks_inside_one_call():
        ticks, stop = [], threading.Event()

        def tick():
            while not stop.is_set():
                ticks.append(time.perf_counter())

        ticker = threading.Thread(target=tick)
        ticker.start()
        try:
            start = time.perf_counter()
            scorer._fast.outputs_of(matrix)  # nothing but the Java call and an empty result array
            end = time.perf_counter()
        finally:
            stop.set()
            ticker.join()
        # Only the middle half counts: the ticker may take the GIL for a switch interval (5 ms)
        # before the call starts or after it returns, whether or not the call drops it.
        quarter = (end - start) / 4
        return [t for t in ticks if start + quarter < t < end - quarter], end - start

    # With the GIL held, the ticker cannot run at all inside the call, so every attempt gives none.
    # With it released the ticker runs unless the OS leaves it no core for the whole middle half;
    # that happened once on a loaded 2-core CI machine (0 ticks in 62 ms), hence three attempts.
    attempts = []
    for _ in range(3):
        during, seconds = ticks_inside_one_call()
        attempts.append((len(during), round(seconds, 3)))
        assert seconds > 0.04, f"the call took {seconds:.3f} s: too short to tell anything; score more rows"
        if during:
            break
    assert attempts[-1][0] > 0, f"(ticks in the middle half, seconds) per attempt: {attempts}"


def test_batch_errors_name_the_row_of_the_whole_batch(artifacts):
    """Java scores a batch in blocks; an input it refuses is named by its row in the caller's batch."""
    directory, held_out = artifacts["sklearn-pipeline"]
    scorer = Scorer.load(directory)
    big = pd.concat([held_out] * 20, ignore_index=True)
    columns, rows = inputs.columns_from(big, scorer._inputs, scorer._features)
    matrix = scorer._fast.encode(columns, rows)
    position, table = scorer._fast.coded[0]
    name = scorer._inputs[position].name
    for code in (0.5, -7.0, float(len(table))):  # none of them names a value of the table
        bad = matrix.copy()
        bad[1300, position] = code
        with pytest.raises(JarscoreError, match=rf"row 1300: input {position} \('{name}'\) carries code {code}"):
            scorer._fast.outputs_of(bad)
    unknown = matrix.copy()
    unknown[1500, position] = -2.0  # Kernel.UNKNOWN: Java callers may send it; only the string itself could be judged
    with pytest.raises(JarscoreError, match=rf"row 1500: input {position} \('{name}'\) carries code -2.0 \(a value not"):
        scorer._fast.outputs_of(unknown)
    # A batch too big for one Java buffer crosses in pieces: same answers, rows still counted whole.
    whole = scorer._fast.outputs_of(matrix)
    scorer._fast.SHARED_BYTES = 8 * scorer._fast.inputs * 1000  # instance attribute: 1000-row pieces, this scorer only
    before = int(scorer._model.kernelRowsScored())
    np.testing.assert_array_equal(scorer._fast.outputs_of(matrix), whole)
    assert int(scorer._model.kernelRowsScored()) - before == len(matrix)
    with pytest.raises(JarscoreError, match=rf"row 1500: input {position} "):
        scorer._fast.outputs_of(unknown)


def test_disagreeing_kernel_is_refused_loudly(artifacts, tmp_path, caplog):
    """A kernel taken from another model with the same fields disagrees on the verification rows."""
    directory, held_out = artifacts["lightgbm-binary"]
    other = BY_NAME["lightgbm-binary"]
    X_train, y_train, _, _ = other.split()
    different = other.make().fit(X_train, 1 - y_train)  # same fields, opposite answers
    convert(different, tmp_path / "other", sample=held_out, name="other", log=lambda line: None)
    tampered = tmp_path / "tampered"
    shutil.copytree(directory, tampered)
    _swap_kernel(tampered / "model.jar", tmp_path / "other" / "model.jar")
    manifest = json.loads((tampered / "manifest.json").read_text())
    manifest["files"]["model.jar"] = file_entry(tampered / "model.jar")
    (tampered / "manifest.json").write_text(json.dumps(manifest))

    with caplog.at_level(logging.WARNING, logger="jarscore.scorer"):
        scorer = Scorer.load(tampered)
    assert scorer.kernel.startswith("refused: verification row"), scorer.kernel
    assert any("refused" in r.getMessage() for r in caplog.records)
    reference = Scorer.load(directory, kernel=False)
    _assert_same(scorer.evaluate(held_out), reference.evaluate(held_out), exact=False)


def _swap_kernel(jar, donor):
    """Puts the donor JAR's kernel classes into ``jar`` and points the kernel entry at them."""
    with zipfile.ZipFile(donor) as z:
        donor_entry = z.read("META-INF/jarscore-kernel").decode().strip()
        prefix = donor_entry.replace(".", "/")
        donor_classes = {n: z.read(n) for n in z.namelist() if n.startswith(prefix)}
    with zipfile.ZipFile(jar) as z:
        entries = {n: z.read(n) for n in z.namelist()}
    entries["META-INF/jarscore-kernel"] = donor_entry.encode()
    entries.update(donor_classes)
    with zipfile.ZipFile(jar, "w") as z:
        for name, data in entries.items():
            z.writestr(name, data)


def test_the_jar_holds_the_kernel_alone_unless_transpiled_classes_are_asked_for(zoo_artifact, tmp_path):
    """By default model.jar holds the kernel and no JPMML-Transpiler classes: JPMML-Evaluator
    interprets model.pmml.gz for the rows the kernel leaves to it, and answers them as the transpiled
    classes of a transpiled_classes=True conversion do. A JAR taken out of its folder says what it misses."""
    model, held_out, directory = zoo_artifact("sklearn-pipeline")
    full = tmp_path / "full"
    convert(model, full, sample=held_out, name="full", transpiled_classes=True, log=lambda line: None).close()
    service = "META-INF/services/org.dmg.pmml.PMML"
    with zipfile.ZipFile(directory / "model.jar") as kernel_only, zipfile.ZipFile(full / "model.jar") as both:
        assert "META-INF/jarscore-kernel" in kernel_only.namelist() and service not in kernel_only.namelist()
        assert "META-INF/jarscore-kernel" in both.namelist() and service in both.namelist()
    assert (directory / "model.jar").stat().st_size * 2 < (full / "model.jar").stat().st_size

    interpreted, transpiled = Scorer.load(directory, kernel=False), Scorer.load(full, kernel=False)
    _assert_same(interpreted.evaluate(held_out), transpiled.evaluate(held_out), exact=False)
    string_field = next(f.name for f in interpreted.inputs if not f.numeric)
    unknown = held_out.head(3).copy()
    unknown[string_field] = unknown[string_field].astype(object)
    unknown.loc[unknown.index[1], string_field] = "no-such-category"
    refusals = []
    for scorer in (Scorer.load(directory), Scorer.load(full)):   # the kernel leaves the row to JPMML, which refuses it
        with pytest.raises(InputError) as refused:
            scorer.evaluate(unknown)
        refusals.append(str(refused.value))
        scorer.close()
    assert refusals[0] == refusals[1] and "'no-such-category' is not valid" in refusals[0], refusals

    alone = tmp_path / "alone"
    alone.mkdir()
    shutil.copy(directory / "model.jar", alone / "model.jar")
    with pytest.raises(ArtifactError, match=r"holds the fast kernel only.*model\.pmml\.gz"):
        Scorer.load(alone / "model.jar").evaluate(held_out.head(3))


def test_unsupported_model_falls_back_loudly(conformance_dir, tmp_path, caplog):
    from jarscore.converter.transpile import transpile
    jar = tmp_path / "model.jar"
    transpile(conformance_dir / "pmml" / "AdaBoostAuto.pmml", jar, "jarscore.test.AdaBoostAuto")
    with caplog.at_level(logging.INFO, logger="jarscore.scorer"):
        scorer = Scorer.load(jar)
    assert scorer.kernel == "absent: Segmentation weightedMedian for regression"
    assert any("absent" in r.getMessage() for r in caplog.records)


def test_small_pmml_transpiles_in_this_jvm_and_large_in_a_jvm_of_its_own(conformance_dir, tmp_path):
    from jarscore.converter.transpile import SHORT_JOB_PMML_BYTES, InProcessTranspile, is_short_job, start_transpile
    assert is_short_job(conformance_dir / "pmml" / "AdaBoostAuto.pmml")
    large = tmp_path / "large.pmml"
    with open(large, "wb") as file:
        file.truncate(SHORT_JOB_PMML_BYTES)
    assert not is_short_job(large)
    # a .gz file is sized by the XML it holds, not by its own bytes
    (tmp_path / "large.pmml.gz").write_bytes(gzip.compress(b" " * SHORT_JOB_PMML_BYTES))
    (tmp_path / "small.pmml.gz").write_bytes(gzip.compress(b" " * 1000))
    assert (tmp_path / "large.pmml.gz").stat().st_size < SHORT_JOB_PMML_BYTES // 100
    assert not is_short_job(tmp_path / "large.pmml.gz")
    assert is_short_job(tmp_path / "small.pmml.gz")
    assert not is_short_job(tmp_path / "missing.pmml")

    # in this JVM, a failure is the tool's own one-line reason, and nothing is written
    (tmp_path / "broken.pmml").write_text("<PMML>not a model")
    started = start_transpile(tmp_path / "broken.pmml", tmp_path / "broken.jar", "jarscore.test.Broken")
    assert isinstance(started, InProcessTranspile)
    with pytest.raises(JarscoreError, match=r"^transpiling broken\.pmml to a JAR failed: \w+"):
        started.wait()
    assert not (tmp_path / "broken.jar").exists()
    # a large one gets a JVM of its own, with both compilers, which reports its failure the same way
    with open(large, "wb") as file:
        file.write(b"<PMML>not a model")
        file.truncate(SHORT_JOB_PMML_BYTES)
    own = start_transpile(large, tmp_path / "large.jar", "jarscore.test.Large")
    assert isinstance(own, jvm.JavaCommand)
    with pytest.raises(JarscoreError, match=r"^transpiling large\.pmml to a JAR failed: jarscore transpile: failed: "):
        own.wait()
    assert sorted(p.name for p in tmp_path.glob("*.jar*")) == []


def test_conversion_parses_the_pmml_once_for_the_jar_and_the_interpreter(conformance_dir, tmp_path):
    """In a JVM jarscore started, one parse of the PMML gives JPMML-Evaluator's model at once and the
    kernel JAR on a thread of its own; both score the corpus' rows alike, and a PMML that cannot be
    read fails as loading it would, writing nothing."""
    from jarscore.converter.transpile import OneParse

    pmml = conformance_dir / "pmml" / "LightGBMAudit.pmml"
    rows = pd.read_csv(conformance_dir / "csv" / "Audit.csv").head(200)
    job = OneParse(pmml, tmp_path / "model.jar", "jarscore.test.OneParse")
    interpreted = Scorer(job.interpreted, engine="pmml", manifest=None, source=pmml)
    try:
        expected = interpreted.evaluate(rows)
        pd.testing.assert_frame_equal(expected, Scorer.load(pmml).evaluate(rows))
        job.wait()
        with zipfile.ZipFile(tmp_path / "model.jar") as jar:
            assert "jarscore/test/OneParseKernel.class" in jar.namelist(), jar.namelist()
        shutil.copy(pmml, tmp_path / "model.pmml")
        pd.testing.assert_frame_equal(Scorer.load(tmp_path / "model.jar").evaluate(rows), expected,
                                      check_exact=False, rtol=1e-12)
    finally:
        interpreted.close()

    (tmp_path / "broken.pmml").write_text("<PMML>not a model")
    with pytest.raises(ArtifactError, match=r"^cannot read PMML file .*broken\.pmml"):
        OneParse(tmp_path / "broken.pmml", tmp_path / "broken.jar", "jarscore.test.Broken")
    assert not (tmp_path / "broken.jar").exists()

    killed = OneParse(pmml, tmp_path / "killed" / "model.jar", "jarscore.test.Killed")
    killed.interpreted.close()
    killed.kill()
    assert sorted(p.name for p in (tmp_path / "killed").glob("*")) in ([], ["model.jar"]), "no half-written JAR"


def test_sklearn2pmml_runs_c1_alone_on_models_that_pickle_small_only():
    from sklearn.linear_model import LogisticRegression

    from jarscore.converter.to_pmml import SHORT_JOB_PICKLE_BYTES, java_options
    assert java_options(LogisticRegression().fit([[0.0], [1.0]], [0, 1])) == ["-XX:TieredStopAtLevel=1"]
    assert java_options(np.zeros(SHORT_JOB_PICKLE_BYTES, dtype=np.uint8)) is None
    assert java_options(lambda row: row) is None, "what does not pickle is left to sklearn2pmml to report"


@pytest.mark.parametrize("name", ["lightgbm-categorical", "sklearn-pipeline"])
@pytest.mark.parametrize("dtype", ["str", "object", "category"])
def test_big_string_columns_are_encoded_by_category_and_agree(artifacts, name, dtype, monkeypatch):
    """A batch's string columns are factorized (each distinct value checked and looked up once):
    the kernel scores every row, and the answers equal the per-value path's and JPMML's, with
    None, NaN and pd.NA read as missing."""
    fast, slow, held_out = _pair(artifacts, name)
    strings = [f.name for f in fast.inputs if not f.numeric]
    rows = pd.concat([held_out] * (600 // len(held_out) + 1), ignore_index=True).head(600)
    rows[strings] = rows[strings].astype(object)
    for i, missing in enumerate([None, np.nan, pd.NA]):
        rows.loc[5 + 7 * i, strings[0]] = missing
    rows = rows.astype({s: dtype for s in strings})
    columns, _ = inputs.columns_from(rows, fast.inputs, fast._features)
    for field, column in zip(fast.inputs, columns):
        assert isinstance(column, inputs.StringColumn) == (not field.numeric), field.name
    assert columns[[f.name for f in fast.inputs].index(strings[0])][5] is None

    before = int(fast._model.kernelRowsScored())
    by_category = fast.evaluate(rows)
    assert int(fast._model.kernelRowsScored()) - before == len(rows)
    def not_factorized(field, values):
        raise AssertionError("the per-value path was to be taken")

    monkeypatch.setattr(inputs, "FACTORIZE_FROM_ROWS", 10 ** 9)
    monkeypatch.setattr(inputs, "_factorized_string_column", not_factorized)
    _assert_same(by_category, fast.evaluate(rows), exact=True)
    _assert_same(by_category, slow.evaluate(rows), exact=False)


@pytest.mark.parametrize("name", ["lightgbm-categorical", "sklearn-pipeline"])
def test_a_threads_scratch_memory_never_shows_in_a_result(artifacts, name):
    """A thread keeps a batch's encoded inputs and raw outputs for its next batch (FastPath.scratch):
    every result must be a copy. Results scored before a smaller and a larger batch, and batches
    scored on three threads at once, each keep the answer JPMML gives for their rows."""
    fast, slow, held_out = _pair(artifacts, name)
    batches = [pd.concat([held_out] * 4, ignore_index=True),
               held_out.iloc[::-1].reset_index(drop=True).head(50),
               pd.concat([held_out.iloc[::-1]] * 6, ignore_index=True)]

    def results(scorer, batch):
        # a regressor's predict() is the raw output column itself; a classifier's maps it to labels
        return [scorer.predict(batch), scorer.evaluate(batch)] + \
            ([scorer.predict_proba(batch)] if scorer.is_classifier else [])

    expected = [results(slow, b) for b in batches]
    before = int(fast._model.kernelRowsScored())
    got = [results(fast, b) for b in batches]
    calls = len(got[0])
    assert int(fast._model.kernelRowsScored()) - before == calls * sum(map(len, batches)), "all through the kernel"
    kept = fast._fast._scratch.encoded
    assert kept.shape == (len(batches[2]), fast._fast.inputs), "the largest batch's inputs are kept"
    assert np.shares_memory(fast._fast.scratch("encoded", 10, fast._fast.inputs), kept)
    for result, want in zip(got, expected):
        _assert_same(pd.DataFrame({"predicted": result[0]}), pd.DataFrame({"predicted": want[0]}), exact=False)
        _assert_same(result[1], want[1], exact=False)
        if calls == 3:
            np.testing.assert_allclose(result[2], want[2], rtol=1e-12, atol=0)

    failures = []

    def score_repeatedly(k):
        try:
            for _ in range(15):
                _assert_same(pd.DataFrame({"predicted": fast.predict(batches[k])}),
                             pd.DataFrame({"predicted": expected[k][0]}), exact=False)
        except AssertionError as exc:
            failures.append((k, str(exc)[:300]))

    threads = [threading.Thread(target=score_repeatedly, args=(k,)) for k in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures
    fast.close()
    assert getattr(fast._fast._scratch, "encoded", None) is None, "close() lets go of the scratch memory"
