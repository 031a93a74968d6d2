"""The whole conversion: model -> PMML -> JAR -> parity check -> versioned artifact."""

from __future__ import annotations

import datetime as _dt
import gzip
import logging
import math
import platform
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from jarscore.converter.artifact import compress, file_entry, staging, write_manifest
from jarscore.converter.kinds import ModelKind, identify, qualified_name
from jarscore.converter.loading import PmmlFile, load_model
from jarscore.converter.parity import check
from jarscore.converter.to_pmml import write_pmml
from jarscore.converter.transpile import OneParse, class_name, is_short_job, start_transpile
from jarscore import __version__
from jarscore.errors import ConversionError
from jarscore.scorer import Scorer, jvm
from jarscore.scorer.artifact import FORMAT_VERSION, JAR, PMML, PMML_GZ, read_artifact
from jarscore.scorer.signing import load_private_key, sign_manifest

VERIFICATION_ROWS = 20
_log = logging.getLogger("jarscore.converter")


def convert(model: Any, out_dir: str | Path, *, sample: Any = None, name: str | None = None,
            version: int | str | None = None, force: bool = False, keep_sources: bool = False,
            log: Callable[[str], None] | None = None, sign_key: str | Path | None = None,
            transpiled_classes: bool = False):
    """Converts a fitted model (or a model file) into the artifact ``out_dir`` and returns it loaded
    as a :class:`jarscore.Scorer`. ``sample`` (DataFrame, 2-D array or CSV path) is scored by the native
    model, the PMML and the JAR; disagreement beyond tolerance raises ParityError and writes nothing.
    ``sign_key`` (an Ed25519 private key file from ``jarscore keygen``) signs the manifest, which
    lists every file's sha256, into ``signature.json``; the key is read before any work starts.
    Progress goes to ``log`` (one line per call), by default to the ``jarscore.converter`` logger at
    INFO: the library never prints.

    model.jar holds the fast kernel alone when the kernel compiler supports the model, and the rows
    the kernel leaves to JPMML (unknown categories, for one) are interpreted from model.pmml.gz;
    ``transpiled_classes`` adds JPMML-Transpiler's classes for those rows (faster for them, a larger
    JAR and a longer conversion). A model without a kernel always gets them."""
    log = log or _log.info
    out_dir = Path(out_dir)
    private_key = load_private_key(sign_key) if sign_key is not None else None
    source = load_model(model)
    kind = ModelKind("pmml", "", "PMML") if isinstance(source, PmmlFile) else identify(source)
    name = name or _default_name(model, out_dir)
    version = _version(version)
    java_class = class_name(name, version)
    sample_frame = _sample_frame(sample, source)

    with staging(out_dir, force=force) as work:
        log(f"[1/4] {kind.estimator} -> PMML")
        if isinstance(source, PmmlFile):
            data = source.path.read_bytes()
            (work / PMML).write_bytes(gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data)
        else:
            write_pmml(source, work / PMML)
        log(f"[2/4] PMML -> JAR ({java_class})")
        jar = _transpile_and_load(work, java_class, work / "sources" if keep_sources else None, transpiled_classes,
                                  sample_frame)
        try:
            pmml_scorer = jar.pmml_scorer
            if isinstance(source, PmmlFile):
                kind = ModelKind("pmml", "classification" if pmml_scorer.is_classifier else "regression", "PMML")
            log("[3/4] parity check")
            parity, verification = _verify(kind, source, sample_frame, pmml_scorer, jar, log)
            jar_scorer = jar()
            kernel = _kernel_entry(jar_scorer)
        finally:
            jar.close()
        log(f"[4/4] writing {out_dir}")
        compress(work / PMML, work / PMML_GZ)
        manifest = _manifest(name, version, kind, source, java_class, jar_scorer, work, parity, verification)
        manifest["kernel"] = kernel
        write_manifest(work, manifest)
        if private_key is not None:
            entry = sign_manifest(work, private_key)
            log(f"      signed with key {entry['key_id']}")
    return Scorer.load(out_dir, trusted_keys=())


def _transpile_and_load(work: Path, java_class: str, sources: Path | None, transpiled_classes: bool,
                        sample: pd.DataFrame | None) -> "_PendingJar":
    """The PMML that conversion checks the JAR against, loaded, and the JAR on its way.

    In a JVM jarscore started, one parse of the PMML serves both: the kernel's sources are generated
    from it, and javac compiles them on a thread of its own while the PMML scores the parity sample.
    Otherwise (JPMML-Transpiler's classes too, or a JVM another library started) the transpile tool
    writes the JAR: in a JVM of its own while JPMML-Evaluator parses the PMML in this process, or, for
    small PMML in a JVM jarscore started, in this JVM once the JAR is called for. The JAR's own JPMML side
    loads only if a row needs it: the PMML scorer is JPMML here. What this convert just wrote is
    loaded without a signature check (trusted keys are for the artifacts it publishes)."""
    if not transpiled_classes and jvm.started_here(short_job=is_short_job(work / PMML)):
        transpiling = OneParse(work / PMML, work / JAR, java_class, sources)
        try:
            pmml_scorer = Scorer(transpiling.interpreted, engine="pmml", manifest=None, source=work / PMML)
        except BaseException:
            transpiling.interpreted.close()
            transpiling.kill()
            raise
        return _PendingJar(transpiling, pmml_scorer, work / JAR, sample)
    transpiling = start_transpile(work / PMML, work / JAR, java_class, sources,
                                  transpiled_classes=transpiled_classes)
    try:
        pmml_scorer = Scorer.load(work / PMML, trusted_keys=())
    except Exception:
        transpiling.wait()  # a PMML the transpiler refuses fails there, with the transpiler's reasons
        raise
    except BaseException:
        transpiling.kill()
        raise
    return _PendingJar(transpiling, pmml_scorer, work / JAR, sample)


class _PendingJar:
    """The JAR a conversion checks, loaded when first called for, and the PMML scorer it is checked
    against. A kernel the JAR cannot verify by itself yet is held to JPMML interpreting the PMML on
    the sample's first rows: the parity check and the recorded verification outputs then hold that
    kernel to the native model, and a load checks it against those outputs with no JPMML pass."""

    def __init__(self, transpiling, pmml_scorer: Scorer, jar_path: Path, sample: pd.DataFrame | None):
        self._transpiling = transpiling
        self.pmml_scorer = pmml_scorer
        self._jar_path = jar_path
        self._sample = sample
        self._jar: Scorer | None = None

    def __call__(self) -> Scorer:
        if self._jar is None:
            self._transpiling.wait()
            self._transpiling = None
            jar = Scorer._load_jar(self._jar_path, jpmml_on_demand=True)
            try:
                if self._sample is not None and str(jar.kernel).startswith("unverified"):
                    rows = self._sample.head(VERIFICATION_ROWS)
                    reference = _json_records(self.pmml_scorer.evaluate(rows[self.pmml_scorer.input_fields]))
                    jar._use_kernel(jar._verify_kernel(rows, reference))
            except BaseException:
                jar.close()
                raise
            self._jar = jar
        return self._jar

    def close(self) -> None:
        """Closes both scorers; a JAR still being written is stopped first."""
        try:
            if self._transpiling is not None:
                self._transpiling.kill()
        finally:
            if self._jar is not None:
                self._jar.close()
            self.pmml_scorer.close()


def _verify(kind, source, sample, pmml_scorer: Scorer, jar: Callable[[], Scorer], log):
    if sample is None:
        log("      no sample given: parity NOT checked (pass sample=... / --sample FILE)")
        return {"checked": False, "reason": "no sample given"}, None
    native = None if isinstance(source, PmmlFile) else source
    report = check(kind, native, sample, pmml_scorer, jar)
    for line in report.lines():
        log("      " + line)
    rows = sample[pmml_scorer.input_fields].head(VERIFICATION_ROWS)
    outputs = jar().evaluate(rows)
    verification = {"rows": _json_records(rows), "outputs": _json_records(outputs)}
    return report.to_json(), verification


def _kernel_entry(jar_scorer: Scorer) -> dict:
    """Whether model.jar carries the fast kernel, and the code tables of its string inputs (callers
    that send numbers only map strings with these). Scorer.load checks the kernel before using it."""
    status = str(jar_scorer._model.kernelStatus())
    if status.startswith("absent: "):
        return {"status": "absent", "reason": status[len("absent: "):]}
    tables = jar_scorer._model.kernelInputCategories()
    categories = {str(k): [str(v) for v in tables.get(k)] for k in tables.keySet()} if tables is not None else {}
    return {"status": "present", "categories": categories}


def _manifest(name, version, kind, source, java_class, scorer: Scorer, work: Path, parity, verification) -> dict:
    classes = None
    if scorer.is_classifier:
        native_classes = getattr(source, "classes_", None)
        classes = ([_json_value(c) for c in native_classes] if native_classes is not None
                   else scorer.classes_.tolist())
    manifest = {
        "format": FORMAT_VERSION,
        "name": name,
        "version": version,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "model": {"family": kind.family, "task": kind.task, "estimator": kind.estimator,
                  "source": str(source.path) if isinstance(source, PmmlFile) else qualified_name(source)},
        "java_class": java_class,
        "libraries": _library_versions(),
        "features": _training_features(source),
        "inputs": [f.to_json() for f in scorer.inputs],
        "outputs": [f.to_json() for f in scorer.outputs],
        "target": scorer.output_fields[0] if scorer.output_fields else None,
        "files": {PMML_GZ: file_entry(work / PMML_GZ), JAR: file_entry(work / JAR)},
        "parity": parity,
    }
    if classes is not None:
        manifest["classes"] = classes
        manifest["probability_fields"] = [f"probability({c})" for c in classes]
    if verification is not None:
        manifest["verification"] = verification
    return manifest


def _training_features(source: Any) -> list[str] | None:
    """The columns the native model was fitted on, in order: a 2-D array laid out for the native
    model scores unchanged, even where the PMML dropped columns the model never uses."""
    names = getattr(source, "feature_names_in_", None)
    if names is None:
        names = _booster_features(source)
    return [str(n) for n in names] if names is not None else None


def _booster_features(source: Any) -> list[str] | None:
    """A model read from LightGBM's text or XGBoost's JSON/UBJ file has no ``feature_names_in_``; its
    booster records the training columns (LightGBM always, as Column_0... when trained on an array;
    XGBoost only when trained on named columns)."""
    lightgbm_booster = getattr(source, "_Booster", None)
    if lightgbm_booster is not None and hasattr(lightgbm_booster, "feature_name"):
        return list(lightgbm_booster.feature_name())
    if hasattr(source, "feature_name") and hasattr(source, "num_feature"):  # a bare lightgbm.Booster
        return list(source.feature_name())
    get_booster = getattr(source, "get_booster", None)
    if callable(get_booster):
        try:
            return get_booster().feature_names
        except Exception:  # an unfitted XGBoost wrapper; conversion reports that on its own
            return None
    return None


def _sample_frame(sample: Any, source: Any) -> pd.DataFrame | None:
    if sample is None:
        return None
    if isinstance(sample, (str, Path)):
        path = Path(sample)
        if not path.is_file():
            raise ConversionError(f"sample file not found: {path}")
        try:
            return pd.read_csv(path)
        except Exception as exc:
            raise ConversionError(f"cannot read sample CSV {path}: {exc}") from None
    if isinstance(sample, pd.DataFrame):
        return sample
    if isinstance(sample, np.ndarray) and sample.ndim == 2:
        names = getattr(source, "feature_names_in_", None)
        columns = [str(n) for n in names] if names is not None else [f"x{i + 1}" for i in range(sample.shape[1])]
        return pd.DataFrame(sample, columns=columns)
    raise ConversionError(f"sample must be a DataFrame, a 2-D array or a CSV path, not {type(sample).__name__}")


def _default_name(model: Any, out_dir: Path) -> str:
    if isinstance(model, (str, Path)):
        return Path(model).stem
    return out_dir.resolve().name


def _version(version: int | str | None) -> int:
    if version is None:
        return 1
    try:
        number = int(str(version))
    except ValueError:
        number = 0
    if number < 1:
        raise ConversionError(f"version must be a positive integer (versions order the model repository), got {version!r}")
    return number


def _library_versions() -> dict[str, str]:
    versions = {"jarscore": __version__, "python": platform.python_version(), "java": jvm.describe_java_version(),
                "jpmml-evaluator": "1.7.7", "jpmml-transpiler": "1.5.1"}
    # xgboost-cpu installs the same `xgboost` package under another distribution name.
    for package, distributions in (("scikit-learn", ["scikit-learn"]), ("sklearn2pmml", ["sklearn2pmml"]),
                                   ("lightgbm", ["lightgbm"]), ("xgboost", ["xgboost", "xgboost-cpu"]),
                                   ("numpy", ["numpy"]), ("pandas", ["pandas"])):
        for distribution in distributions:
            try:
                versions[package] = metadata.version(distribution)
                break
            except metadata.PackageNotFoundError:
                pass
    return versions


def _json_value(value: Any) -> Any:
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_records(frame: pd.DataFrame) -> list[dict]:
    return [{str(k): _json_value(v) for k, v in row.items()} for row in frame.to_dict(orient="records")]


__all__ = ["convert", "read_artifact"]
