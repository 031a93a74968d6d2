"""Per model and version: requests, errors, a latency histogram and shadow scoring; per model: load
failures and the current version. Read as a dict or in Prometheus text format, in the same shape as
``io.jarscore.registry.Metrics`` on the Java side."""

from __future__ import annotations

import bisect
import threading
from typing import Any, Mapping

#: Histogram bucket upper bounds in seconds (the same in Java).
BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class _Series:
    __slots__ = ("requests", "errors", "buckets", "seconds", "shadow_requests", "shadow_errors", "shadow_dropped")

    def __init__(self):
        self.requests = self.errors = 0
        self.buckets = [0] * (len(BUCKETS) + 1)  # the last one counts requests above every bound
        self.seconds = 0.0
        self.shadow_requests = self.shadow_errors = self.shadow_dropped = 0

    def snapshot(self) -> dict:
        cumulative, running = {}, 0
        for bound, count in zip(BUCKETS, self.buckets):
            running += count
            cumulative[str(bound)] = running
        cumulative["+Inf"] = self.requests
        return {"requests": self.requests, "errors": self.errors,
                "latency_seconds": {"buckets": cumulative, "sum": self.seconds, "count": self.requests},
                "shadow_requests": self.shadow_requests, "shadow_errors": self.shadow_errors,
                "shadow_dropped": self.shadow_dropped}


class Metrics:
    def __init__(self):
        self._lock = threading.Lock()
        self._series: dict[str, dict[int, _Series]] = {}
        self._load_errors: dict[str, int] = {}

    def _of(self, model: str, version: int) -> _Series:
        versions = self._series.setdefault(model, {})
        series = versions.get(version)
        if series is None:
            series = versions[version] = _Series()
        return series

    def record_request(self, model: str, version: int, seconds: float, failed: bool) -> None:
        with self._lock:
            series = self._of(model, version)
            series.requests += 1
            series.errors += failed
            series.seconds += seconds
            series.buckets[bisect.bisect_left(BUCKETS, seconds)] += 1

    def record_shadow(self, model: str, version: int, outcome: str) -> None:
        """``outcome``: "requests", "errors" or "dropped"."""
        with self._lock:
            series = self._of(model, version)
            setattr(series, f"shadow_{outcome}", getattr(series, f"shadow_{outcome}") + 1)

    def record_load_error(self, model: str) -> None:
        with self._lock:
            self._load_errors[model] = self._load_errors.get(model, 0) + 1

    def snapshot(self, current_versions: Mapping[str, int]) -> dict:
        """{"models": {name: {"current_version", "load_errors", "versions": {version: {"requests", "errors",
        "latency_seconds": {"buckets": {le: cumulative count}, "sum", "count"}, "shadow_requests",
        "shadow_errors", "shadow_dropped"}}}}}"""
        with self._lock:
            names = sorted(set(self._series) | set(current_versions) | set(self._load_errors))
            models = {}
            for name in names:
                versions = self._series.get(name, {})
                models[name] = {"current_version": current_versions.get(name),
                                "load_errors": self._load_errors.get(name, 0),
                                "versions": {v: versions[v].snapshot() for v in sorted(versions)}}
        return {"models": models}


def prometheus(snapshot: Mapping[str, Any]) -> str:
    """The snapshot in the Prometheus text exposition format (version 0.0.4)."""
    models = snapshot["models"]
    lines: list[str] = []

    def header(metric, kind, text):
        lines.append(f"# HELP {metric} {text}")
        lines.append(f"# TYPE {metric} {kind}")

    def each_version():
        for name, model in models.items():
            for version, values in model["versions"].items():
                yield f'model="{_escape(name)}",version="{version}"', values

    for metric, key, text in (("jarscore_requests_total", "requests", "Scoring requests per model and version."),
                              ("jarscore_errors_total", "errors", "Scoring requests that raised an error.")):
        header(metric, "counter", text)
        lines += [f"{metric}{{{labels}}} {values[key]}" for labels, values in each_version()]
    header("jarscore_request_duration_seconds", "histogram", "Scoring latency in seconds.")
    for labels, values in each_version():
        latency = values["latency_seconds"]
        for le, count in latency["buckets"].items():
            lines.append(f'jarscore_request_duration_seconds_bucket{{{labels},le="{le}"}} {count}')
        lines.append(f"jarscore_request_duration_seconds_sum{{{labels}}} {latency['sum']!r}")
        lines.append(f"jarscore_request_duration_seconds_count{{{labels}}} {latency['count']}")
    for metric, key, text in (
            ("jarscore_shadow_requests_total", "shadow_requests", "Shadow scorings per model and version."),
            ("jarscore_shadow_errors_total", "shadow_errors", "Shadow scorings that raised an error."),
            ("jarscore_shadow_dropped_total", "shadow_dropped", "Shadow scorings dropped because the queue was full.")):
        header(metric, "counter", text)
        lines += [f"{metric}{{{labels}}} {values[key]}" for labels, values in each_version()]
    header("jarscore_current_version", "gauge", "The version that serves requests without a routing key.")
    lines += [f'jarscore_current_version{{model="{_escape(name)}"}} {model["current_version"]}'
              for name, model in models.items() if model["current_version"] is not None]
    header("jarscore_load_errors_total", "counter", "Versions that failed to load or were refused.")
    lines += [f'jarscore_load_errors_total{{model="{_escape(name)}"}} {model["load_errors"]}'
              for name, model in models.items()]
    return "\n".join(lines) + "\n"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
