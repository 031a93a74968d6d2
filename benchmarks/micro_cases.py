"""The pytest-benchmark microbenchmarks. The worker fills CASES for one engine and one model, then
runs pytest on this file; every case is one call per round (``iterations=1``), so the saved per-round
timings are per-call latencies, and the next row is handed over by the untimed ``setup``."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import pytest


@dataclass
class Case:
    id: str
    call: Callable[..., Any]
    next_args: Callable[[], tuple]
    rounds: int
    warmup: int


CASES: list[Case] = []


def pytest_generate_tests(metafunc):
    if "case" in metafunc.fixturenames:
        metafunc.parametrize("case", CASES, ids=[case.id for case in CASES])


def test_case(benchmark, case: Case):
    benchmark.pedantic(case.call, setup=lambda: (case.next_args(), {}), rounds=case.rounds,
                       warmup_rounds=case.warmup, iterations=1)


if __name__ == "__main__":
    pytest.main([__file__])
