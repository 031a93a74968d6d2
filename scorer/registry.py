"""ModelRegistry: the models of a repository (``ROOT/<name>/<version>/``) served by name, with versions
swapped while requests run. The same semantics as ``io.jarscore.registry.ModelRegistry`` in Java.

Requests take no lock on the registry: each reads the current (immutable) dict of served versions and
takes a reference on the version it scores with, so it finishes on that version even if a swap retires
it meanwhile; a retired version closes (its JVM class loader with it) when its last request releases
it. Loads, unloads and reloads are serialized, and a version serves only once it is complete on disk,
loaded, and accepted by every ``before_swap`` validator."""

from __future__ import annotations

import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

from jarscore.errors import JarscoreError, ModelNotServedError, RepositoryError, VersionLoadError
from jarscore.scorer.artifact import JAR, Artifact, sha256_of
from jarscore.scorer.labels import LABELS_FILE, read_labels
from jarscore.scorer.metrics import Metrics, prometheus
from jarscore.scorer.repository import Repository, VersionPolicy, check_version, fingerprint
from jarscore.scorer.routing import Router
from jarscore.scorer.scorer import Scorer
from jarscore.scorer.signing import KeyFiles, trusted_keys_for
from jarscore.scorer.verification import check_recorded_outputs

log = logging.getLogger(__name__)

_SHADOW_QUEUE = 1024
# A refused version whose files have not changed is tried again after this back-off, doubling up to
# the cap: a cause outside its folder (memory, a validator's data) may have gone away.
_RETRY_FIRST_SECONDS = 5.0
_RETRY_MAX_SECONDS = 300.0


@dataclass
class _Refusal:
    fingerprint: str   # the folder as it was before the attempt that failed
    message: str
    next_try: float    # time.monotonic()
    delay: float


class _Versions(dict):
    """A model's served versions (version -> ModelVersion), published whole, with the version that
    serves requests without a route (``primary``; the highest when it is None or not served)."""

    primary: int | None = None

    def default(self) -> "ModelVersion":
        return self[self.primary] if self.primary in self else self[max(self)]


@dataclass(frozen=True)
class Result:
    """What a version computed (``values``), and which model name and version computed it."""

    model: str
    version: int
    values: Any


class ModelVersion:
    """One loaded version of a model, reference-counted: the registry holds one reference while it
    serves and every request one while it scores; it closes when the count reaches zero."""

    def __init__(self, artifact: Artifact, name: str, version: int, scorer: Scorer):
        self.name = name
        self.version = version
        self.directory = artifact.directory
        self.manifest = artifact.manifest
        self._scorer: Scorer | None = scorer
        self._lock = threading.Lock()
        self._references = 1
        self._retired = False
        self._closed = threading.Event()

    @property
    def scorer(self) -> Scorer:
        """The loaded model. Score through the registry, which keeps the version open meanwhile."""
        scorer = self._scorer
        if scorer is None:
            raise JarscoreError(f"{self} is closed: it was retired and its requests have finished")
        return scorer

    @property
    def retired(self) -> bool:
        return self._retired

    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def wait_closed(self, timeout: float | None = None) -> bool:
        """Waits until the version has closed (its requests drained); True if it did within the timeout."""
        return self._closed.wait(timeout)

    def _try_acquire(self) -> bool:
        with self._lock:
            if self._references == 0:
                return False
            self._references += 1
            return True

    def _release(self) -> None:
        with self._lock:
            self._references -= 1
            last = self._references == 0
        if last:
            scorer, self._scorer = self._scorer, None  # drop the Java reference so its classes can unload
            scorer.close()
            self._closed.set()

    def _retire(self) -> None:
        with self._lock:
            if self._retired:
                return
            self._retired = True
        self._release()

    def __repr__(self) -> str:
        return f"{self.name} v{self.version}"


Validator = Callable[[ModelVersion], Any]


def verify_outputs(candidate: ModelVersion) -> bool:
    """The default ``before_swap`` check: the JAR still matches its manifest, and the candidate
    reproduces the outputs the converter recorded for the manifest's verification rows."""
    expected = candidate.manifest["files"][JAR]["sha256"]
    actual = sha256_of(candidate.directory / JAR)
    if actual != expected:
        raise JarscoreError(f"{JAR} changed after it was checked (sha256 {actual}, manifest says {expected})")
    check_recorded_outputs(candidate.scorer, candidate.manifest, str(candidate))
    return True


class ModelRegistry:
    """Serves the models under ``root``. ``policy`` applies to every model unless ``policies`` names one;
    the default validator :func:`verify_outputs` runs before any added with :meth:`before_swap`.
    ``trusted_keys`` (public key files; default $JARSCORE_TRUSTED_KEYS): when there are any, a version
    serves only if one of them signed it (docs/artifact-format.md), checked before any class loads."""

    def __init__(self, root: str | Path, policy: VersionPolicy | None = None,
                 policies: Mapping[str, VersionPolicy] | None = None, trusted_keys: KeyFiles = None):
        self.repository = Repository(root)
        self._trusted = trusted_keys_for(trusted_keys)
        self._policy = policy or VersionPolicy.latest()
        self._policies = dict(policies or {})
        self._validators: list[Validator] = [verify_outputs]
        self._after_swap: list[Callable[[ModelVersion | None, ModelVersion | None], Any]] = []
        self._on_error: list[Callable[[Exception], Any]] = []
        self._served: dict[str, _Versions] = {}  # replaced whole on every swap, never mutated
        self._routes: dict[str, Router] = {}
        self._label_routes: dict[str, dict[str | int, int]] = {}  # weights naming labels, resolved at each poll
        self._labels: dict[str, dict[str, int]] = {}    # the labels honoured: each names a served version
        self._named: dict[str, dict[str, int]] = {}     # labels.json's labels, as last read validly
        self._label_problems: dict[tuple[str, str], str] = {}  # reported once each: (model, label) -> what
        self._shadows: dict[str, tuple[int, Callable[[Result, Result], Any]]] = {}
        self._refused: dict[Path, _Refusal] = {}
        self._metrics = Metrics()
        self._swap_lock = threading.RLock()
        self._shadow_queue: queue.Queue | None = None
        self._shadow_thread: threading.Thread | None = None
        self._watcher: Watcher | None = None
        self._watcher_lock = threading.Lock()
        self._closed = False

    # configuration ------------------------------------------------------------------------------
    def policy_for(self, name: str) -> VersionPolicy:
        return self._policies.get(name, self._policy)

    def set_policy(self, name: str, policy: VersionPolicy) -> None:
        self._policies[name] = policy

    def before_swap(self, validator: Validator) -> Validator:
        """Adds a check a candidate version must pass before it serves: returning False or raising
        refuses it. Usable as a decorator."""
        self._validators.append(validator)
        return validator

    def after_swap(self, callback: Callable[[ModelVersion | None, ModelVersion | None], Any]):
        """Called after a swap with the version that served by default before (or None) and the one
        after (or None). Usable as a decorator."""
        self._after_swap.append(callback)
        return callback

    def on_error(self, callback: Callable[[Exception], Any]):
        """Called with every failed load (:class:`VersionLoadError`) and every failing callback."""
        self._on_error.append(callback)
        return callback

    def route(self, name: str, weights: Mapping[int | str, int]) -> None:
        """Routes requests that carry a key between versions by weight; see :class:`scorer.routing.Router`.
        A key of ``weights`` may be a label (``{"stable": 95, "canary": 5}``): it is resolved to the
        version the label names now, and again at every poll; a label not honoured gets no traffic."""
        if any(isinstance(key, str) for key in weights):
            Router({i: w for i, w in enumerate(weights.values(), 1)})   # checks the weights
            with self._swap_lock:
                self._label_routes[name] = dict(weights)
                self._resolve_route(name)
            return
        router = Router(weights)
        with self._swap_lock:
            self._label_routes.pop(name, None)
            self._routes[name] = router

    def clear_route(self, name: str) -> None:
        with self._swap_lock:
            self._label_routes.pop(name, None)
            self._routes.pop(name, None)

    def shadow(self, name: str, version: int, callback: Callable[[Result, Result], Any]) -> None:
        """Scores every request of ``name`` on ``version`` as well, on a background thread, and hands
        both results to ``callback(primary, shadow)``; the caller only ever gets the primary result."""
        with self._swap_lock:
            if self._shadow_thread is None:
                self._shadow_queue = queue.Queue(_SHADOW_QUEUE)
                self._shadow_thread = threading.Thread(target=self._shadow_loop, name="jarscore-shadow", daemon=True)
                self._shadow_thread.start()
            self._shadows[name] = (int(version), callback)

    def clear_shadow(self, name: str) -> None:
        self._shadows.pop(name, None)

    # explicit hooks -----------------------------------------------------------------------------
    def reload(self) -> None:
        """Makes the served versions of every model in the repository match its version policy: loads
        the complete versions the policy selects, then unloads those it no longer selects. Versions
        refused before are tried again. A version that fails is reported (on_error, the log) once for as
        long as it fails the same way unchanged; the versions serving stay. A model with no complete
        version left keeps serving what it has."""
        self._reload_all(retry_refused=True)

    def poll(self) -> None:
        """What the watcher calls: :meth:`reload`, except that a refused version is tried again only once
        any file of its folder changed, or after a back-off (5 s, doubling up to 5 minutes)."""
        self._reload_all(retry_refused=False)

    def _reload_all(self, *, retry_refused: bool) -> None:
        with self._swap_lock:
            try:
                self._require_open()
                for name in self.repository.model_names():
                    self._reload(name, retry_refused)
            except JarscoreError as exc:
                self._report(exc)
                raise

    def load(self, name: str, version: int) -> ModelVersion:
        """Loads one version and makes it serve (under the latest policy: instead of the others).
        Raises :class:`VersionLoadError` (also reported to on_error) if it is incomplete, fails to load
        or is refused; the versions serving stay."""
        with self._swap_lock:
            self._require_open()
            directory = self.repository.directory(name, version)
            before = fingerprint(directory)
            policy = self.policy_for(name)
            try:
                loaded = self._swap_in(name, int(version), directory,
                                       keep=set(self._labels.get(name, {}).values()) if policy.single else None,
                                       primary=int(version) if policy.single else None)
            except VersionLoadError as exc:
                self._refuse(directory, before, exc)
                raise
            self._refused.pop(directory, None)
            return loaded

    def unload(self, name: str, version: int) -> bool:
        """Stops serving a version; it closes once its requests in flight finish. False if it was not served."""
        with self._swap_lock:
            before = self._served.get(name, {})
            leaving = before.get(version)
            if leaving is None:
                return False
            after = {v: m for v, m in before.items() if v != version}
            self._publish(name, after, before.primary)
            self._notify_swap(before.default(), self._served[name].default() if after else None)
            leaving._retire()
            log.info("unloaded %s", leaving)
            return True

    def watch(self, interval: float = 5.0) -> "Watcher":
        """Polls the repository every ``interval`` seconds on a daemon thread; :meth:`close` stops it."""
        with self._watcher_lock:  # not the swap lock: the old watcher may be waiting for it inside reload()
            if self._watcher is not None:
                self._watcher.stop()
            self._watcher = Watcher(self, interval)
            self._watcher.start()
            return self._watcher

    # scoring ------------------------------------------------------------------------------------
    def predict(self, name: str, X: Any, key: str | None = None) -> Result:
        """:meth:`Scorer.predict` on the version serving ``name`` (chosen by ``key`` when routed)."""
        return self._call(name, key, lambda scorer: scorer.predict(X))

    def predict_proba(self, name: str, X: Any, key: str | None = None) -> Result:
        return self._call(name, key, lambda scorer: scorer.predict_proba(X))

    def evaluate(self, name: str, X: Any, key: str | None = None) -> Result:
        return self._call(name, key, lambda scorer: scorer.evaluate(X))

    def predict_one(self, name: str, row: Any, key: str | None = None) -> Result:
        return self._call(name, key, lambda scorer: scorer.predict_one(row))

    def _call(self, name: str, key: str | None, scoring: Callable[[Scorer], Any]) -> Result:
        version = self._acquire(name, key)
        start = time.perf_counter()
        failed = True
        try:
            result = Result(name, version.version, scoring(version._scorer))
            failed = False
            shadow = self._shadows.get(name)
            if shadow is not None and shadow[0] != version.version:
                self._submit_shadow(name, shadow, scoring, result)
            return result
        finally:
            self._metrics.record_request(name, version.version, time.perf_counter() - start, failed)
            version._release()

    def _acquire(self, name: str, key: str | None) -> ModelVersion:
        # If a swap retires and closes the version between reading the dict and taking the reference,
        # the swap has already published a newer dict: read again.
        while True:
            versions = self._served.get(name)
            if not versions:
                if self._closed:
                    raise ModelNotServedError("the model registry is closed")
                raise ModelNotServedError(
                    f"model '{name}' has no version serving (serving: {sorted(self._served)}); call "
                    f"load('{name}', version) or reload(), or check {self.repository.root / name}")
            chosen = versions.default()
            router = self._routes.get(name) if key is not None else None
            if router is not None:
                routed = router.pick(key, versions.keys())
                if routed is not None:
                    chosen = versions[routed]
            if chosen._try_acquire():
                return chosen

    def _submit_shadow(self, name, shadow, scoring, primary: Result) -> None:
        try:
            self._shadow_queue.put_nowait((name, shadow, scoring, primary))
        except queue.Full:
            self._metrics.record_shadow(name, shadow[0], "dropped")

    def _shadow_loop(self) -> None:
        while True:
            task = self._shadow_queue.get()
            if task is None:
                return
            name, (version_number, callback), scoring, primary = task
            version = self._served.get(name, {}).get(version_number)
            if version is None or not version._try_acquire():
                self._metrics.record_shadow(name, version_number, "dropped")
                continue
            self._metrics.record_shadow(name, version_number, "requests")
            try:
                result = Result(name, version_number, scoring(version._scorer))
            except Exception as exc:  # a shadow failure never reaches the caller
                self._metrics.record_shadow(name, version_number, "errors")
                log.debug("shadow scoring on %s failed: %s", version, exc)
                continue
            finally:
                version._release()
            try:
                callback(primary, result)
            except Exception as exc:
                log.warning("the shadow callback of %s failed: %s", name, exc, exc_info=True)
                self._report(exc)

    # state --------------------------------------------------------------------------------------
    def versions(self, name: str) -> list[int]:
        """The versions of ``name`` serving now (empty if none)."""
        return sorted(self._served.get(name, {}))

    def current_version(self, name: str) -> int | None:
        """The version that serves requests without a routing key: the one the policy chose (the label's
        under a label policy, else the highest of the policy's); None if none."""
        versions = self._served.get(name)
        return versions.default().version if versions else None

    def labels(self, name: str) -> dict[str, int]:
        """The labels of ``name`` the registry honours now (label -> version): each names a served version."""
        return dict(self._labels.get(name, {}))

    def version_for_label(self, name: str, label: str) -> int:
        """The served version ``label`` names; ModelNotServedError for a label not set or not honoured."""
        version = self._labels.get(name, {}).get(label)
        if version is None:
            raise ModelNotServedError(
                f"model '{name}' has no label '{label}' serving (labels honoured: {self.labels(name) or 'none'}); "
                f"set it with 'jarscore label {self.repository.root} {name} {label}=VERSION'")
        return version

    def model_names(self) -> list[str]:
        return sorted(self._served)

    def metrics(self) -> dict:
        """Requests, errors and latency per model and version; see :meth:`scorer.metrics.Metrics.snapshot`."""
        current = {name: versions.default().version for name, versions in list(self._served.items()) if versions}
        return self._metrics.snapshot(current)

    def prometheus(self) -> str:
        """:meth:`metrics` in the Prometheus text exposition format."""
        return prometheus(self.metrics())

    def close(self) -> None:
        """Stops the watcher and shadow scoring and retires every version (each closes once drained)."""
        with self._watcher_lock:
            if self._watcher is not None:
                self._watcher.stop()
                self._watcher = None
        with self._swap_lock:
            self._closed = True
            if self._shadow_thread is not None:
                self._shadow_queue.put(None)
            served, self._served = self._served, {}
            for versions in served.values():
                for version in versions.values():
                    version._retire()

    def __enter__(self) -> "ModelRegistry":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    # swapping -----------------------------------------------------------------------------------
    def _reload(self, name: str, retry_refused: bool) -> None:
        policy = self.policy_for(name)
        directories = self.repository.version_directories(name)
        named = self._read_labels(name)
        usable = set(directories)
        while True:
            current = self._served.get(name, {})
            usable = {v for v in usable
                      if v in current or self._worth_trying(name, v, directories[v], retry_refused)}
            targets = self._label_targets(name, named, usable, current)
            chosen = policy.select(usable, targets)
            wanted = set(chosen) | set(targets.values())
            primary = max(chosen) if chosen else None
            failed = None
            # The policy's versions first: under latest, the new one replaces the old before labels add theirs.
            for version in [*sorted(chosen), *sorted(wanted - set(chosen))]:
                if version in current:
                    continue
                before = fingerprint(directories[version])
                try:
                    self._swap_in(name, version, directories[version], keep=wanted, primary=primary)
                except VersionLoadError as exc:
                    self._refuse(directories[version], before, exc)
                    failed = version
                    break
                self._refused.pop(directories[version], None)
            if failed is not None:
                usable.discard(failed)
                continue  # the policy may pick another version now, e.g. the latest one that loads
            if not wanted:
                if current:
                    log.debug("%s: no complete version selected by the policy (%s); keeping %s",
                              name, policy, sorted(current))
                self._honour_labels(name, named, targets, directories)
                return
            served = self._served.get(name, _Versions())
            if served and served.default().version != primary and primary in served:
                before = served.default()   # e.g. a label policy's label moved to a version loaded already
                self._publish(name, served, primary)
                self._notify_swap(before, self._served[name].default())
            for version in sorted(served):
                if version not in wanted:
                    self.unload(name, version)
            self._honour_labels(name, named, targets, directories)
            return

    # labels -------------------------------------------------------------------------------------
    def _read_labels(self, name: str) -> dict[str, int]:
        """labels.json's labels; an invalid file is reported once and the labels last read stay."""
        try:
            named = dict(read_labels(self.repository.root / name).labels)
        except RepositoryError as exc:
            self._report_label_problem(name, LABELS_FILE, f"{exc}; keeping the labels read before "
                                       f"({self._named.get(name) or 'none'})", exc)
            return self._named.get(name, {})
        self._label_problems.pop((name, LABELS_FILE), None)
        self._named[name] = named
        return named

    def _label_targets(self, name: str, named: dict[str, int], usable: set[int], current: Mapping) -> dict[str, int]:
        """The version each label should name here: the one labels.json names if it can serve; else the
        one it named before if that still serves (serving goes on as it was); else the label is left out."""
        honoured = self._labels.get(name, {})
        targets = {}
        for label, version in named.items():
            if version in usable:
                targets[label] = version
            elif honoured.get(label) in current:
                targets[label] = honoured[label]
        return targets

    def _honour_labels(self, name: str, named: dict[str, int], targets: dict[str, int],
                       directories: dict[int, Path]) -> None:
        served = self._served.get(name, {})
        self._labels = {**self._labels, name: {label: v for label, v in sorted(targets.items()) if v in served}}
        for label, version in named.items():
            if self._labels[name].get(label) == version:
                self._label_problems.pop((name, label), None)
                continue
            directory = directories.get(version, self.repository.directory(name, version))
            refusal = self._refused.get(directory)
            why = ("it is not in the repository" if version not in directories
                   else f"it was refused ({refusal.message})" if refusal is not None
                   else "it is not complete (no manifest yet)")
            kept = self._labels[name].get(label)
            problem = (f"label '{label}' names it, but {why}; the label is ignored"
                       + (f" and stays at version {kept}" if kept is not None else ""))
            self._report_label_problem(name, label, problem, VersionLoadError(name, version, directory, problem))
        for label in [label for (model, label) in self._label_problems if model == name]:
            if label != LABELS_FILE and label not in named:
                self._label_problems.pop((name, label), None)
        self._resolve_route(name)

    def _report_label_problem(self, name: str, label: str, problem: str, exc: JarscoreError) -> None:
        if self._label_problems.get((name, label)) == problem:
            return
        self._label_problems[(name, label)] = problem
        self._metrics.record_load_error(name)
        log.warning("%s", exc)
        self._report(exc)

    def _resolve_route(self, name: str) -> None:
        """Routes the label weights of ``name`` to the versions its labels name now."""
        weights = self._label_routes.get(name)
        if weights is None:
            return
        labels = self._labels.get(name, {})
        resolved: dict[int, int] = {}
        for key, weight in weights.items():
            version = labels.get(key) if isinstance(key, str) else int(key)
            if version is not None:
                resolved[version] = resolved.get(version, 0) + weight
        if resolved:
            self._routes[name] = Router(resolved)
        else:
            self._routes.pop(name, None)

    def _worth_trying(self, name: str, version: int, directory: Path, retry_refused: bool) -> bool:
        """False for a directory that is not a version yet (no manifest), or that was refused and has not
        changed since, unless retrying refused versions or its back-off has passed."""
        if not (directory / "manifest.json").is_file():
            log.debug("%s v%s: no manifest yet in %s; not a complete version", name, version, directory)
            return False
        refusal = self._refused.get(directory)
        return (refusal is None or retry_refused or refusal.fingerprint != fingerprint(directory)
                or time.monotonic() >= refusal.next_try)

    def _refuse(self, directory: Path, before: str, exc: VersionLoadError) -> None:
        """Remembers a refusal; reports it unless the same folder, unchanged, failed the same way before."""
        previous = self._refused.get(directory)
        repeated = previous is not None and previous.fingerprint == before and previous.message == str(exc)
        delay = min(previous.delay * 2, _RETRY_MAX_SECONDS) if repeated else _RETRY_FIRST_SECONDS
        self._refused[directory] = _Refusal(before, str(exc), time.monotonic() + delay, delay)
        if repeated:
            log.debug("%s (unchanged, reported before; next try in %.0f s)", exc, delay)
        else:
            self._failed(exc)

    def _swap_in(self, name: str, version: int, directory: Path, *, keep: set[int] | None,
                 primary: int | None) -> ModelVersion:
        """Loads a version and publishes it. Under a single-version policy it replaces the versions
        served except those in ``keep`` (which labels or the policy still want); ``primary`` becomes
        the default version if it is served."""
        artifact = check_version(name, version, directory, self._trusted)
        try:
            scorer = Scorer.load_artifact(artifact)
        except JarscoreError as exc:
            raise VersionLoadError(name, version, directory, f"cannot load its JAR: {exc}") from exc
        candidate = ModelVersion(artifact, name, version, scorer)
        self._validate(candidate)
        before = self._served.get(name, _Versions())
        single = self.policy_for(name).single
        after = {v: m for v, m in before.items() if not single or v in (keep or ())}
        after[version] = candidate
        self._publish(name, after, primary if primary in after else before.primary)
        self._notify_swap(before.default() if before else None, self._served[name].default())
        for old in before.values():
            if after.get(old.version) is not old:
                old._retire()
        log.info("%s serving (versions %s, from %s)", candidate, sorted(after), directory)
        return candidate

    def _validate(self, candidate: ModelVersion) -> None:
        for i, validator in enumerate(self._validators):
            which = ("the verification check" if validator is verify_outputs
                     else f"before_swap validator {getattr(validator, '__name__', repr(validator))}")
            try:
                refusal = None if validator(candidate) is not False else f"{which} said no"
            except Exception as exc:
                refusal = f"{which} failed: {exc}"
            if refusal is not None:
                candidate._retire()
                raise VersionLoadError(candidate.name, candidate.version, candidate.directory, f"refused: {refusal}")

    def _publish(self, name: str, versions: dict[int, ModelVersion], primary: int | None = None) -> None:
        served = dict(self._served)
        if versions:
            published = _Versions(sorted(versions.items()))
            published.primary = primary if primary in versions else None
            served[name] = published
        else:
            served.pop(name, None)
        self._served = served

    def _notify_swap(self, before: ModelVersion | None, after: ModelVersion | None) -> None:
        for callback in list(self._after_swap):
            try:
                callback(before, after)
            except Exception as exc:
                log.warning("an after_swap callback failed: %s", exc, exc_info=True)
                self._report(exc)

    def _failed(self, exc: VersionLoadError) -> None:
        self._metrics.record_load_error(exc.model)
        serving = self.versions(exc.model)
        log.warning("%s; %s", exc, f"still serving versions {serving}" if serving else "nothing serves it")
        self._report(exc)

    def _report(self, exc: Exception) -> None:
        for callback in list(self._on_error):
            try:
                callback(exc)
            except Exception as inner:
                log.warning("an on_error callback failed: %s", inner, exc_info=True)

    def _require_open(self) -> None:
        if self._closed:
            raise JarscoreError(f"the model registry over {self.repository.root} is closed")
        if not self.repository.root.is_dir():
            raise JarscoreError(f"model repository not found: {self.repository.root} (expected "
                                "ROOT/<name>/<version>/ directories written by 'jarscore convert')")


class Watcher:
    """Polls the repository: every ``interval`` seconds (from the end of the previous poll) it calls
    :meth:`ModelRegistry.poll`. One daemon thread that sleeps in between."""

    def __init__(self, registry: ModelRegistry, interval: float):
        if not interval > 0:
            raise ValueError(f"the watcher's interval must be positive, got {interval!r}")
        self.registry = registry
        self.interval = float(interval)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> None:
        if self.running:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name=f"jarscore-watcher {self.registry.repository.root}",
                                        daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stops polling; waits for a reload in progress to finish (it is not interrupted mid-load)."""
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
        self._thread = None

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.registry.poll()
            except Exception as exc:  # poll() has reported it; keep polling
                log.warning("reload failed: %s", exc)
            self._stop.wait(self.interval)
