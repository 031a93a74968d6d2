"""The peers' parity check is real: each peer, loaded with the right model, agrees with the native
library on the held-out rows, and loaded with another model it is refused before anything is timed.
On the suite's small (quick) LightGBM and XGBoost models, which share their held-out rows; built in
the session's quick benchmark run's cache (conftest's bench_cache), where that run has built them."""

from __future__ import annotations

import pytest

from benchmarks import peers, suite
from benchmarks.interface import ParityError, check_parity
from benchmarks.suite import build, standard_specs

PAIRS = [("onnxruntime", "lgbm500", "xgb500"), ("lleaves", "lgbm500", "xgb500"), ("tl2cgen", "xgb500", "lgbm500")]


@pytest.fixture(scope="module")
def models(bench_cache):
    specs = standard_specs(quick=True)
    with pytest.MonkeyPatch.context() as patch:
        # build() reads the module's cache folder; the peers' converters, in processes of their own, the variable
        patch.setattr(suite, "CACHE", bench_cache)
        patch.setenv("JARSCORE_BENCH_CACHE", str(bench_cache))
        built = {name: build(specs[name], log=lambda line: None) for name in ("lgbm500", "xgb500")}
        for name, model in built.items():
            assert model.folder.parent == bench_cache
            wanted = [peer for peer, own, _ in PAIRS if own == name]
            records = peers.prepare(wanted, model, quick_run=False, timeout=600, log=lambda line: None)
            assert all("seconds" in record for record in records.values()), records
    return built


@pytest.mark.parametrize("peer, own, other", PAIRS)
def test_a_peer_agrees_with_its_own_model_and_is_refused_on_another(models, peer, own, other):
    engine = peers.PEERS[peer]()
    engine.check(models[own])
    engine.setup(models[own])
    try:
        summary = check_parity(engine, models[own])
        assert summary["mismatches"] == 0 and summary["rows"] == 1000
        assert models[own].parity_rows().equals(models[other].parity_rows())
        with pytest.raises(ParityError, match=r"of 1000 held-out rows differ from the native library"):
            check_parity(engine, models[other])
    finally:
        engine.close()


def test_a_peer_that_cannot_take_a_model_says_why(models):
    with pytest.raises(peers.NotApplicable, match="lleaves compiles LightGBM models only, not xgboost"):
        peers.PEERS["lleaves"]().check(models["xgb500"])
    records = peers.prepare(["lleaves"], models["xgb500"], quick_run=False, timeout=60, log=lambda line: None)
    assert records == {"lleaves": {"unavailable": "lleaves compiles LightGBM models only, not xgboost"}}


def test_a_peer_whose_package_is_missing_says_what_to_install(models):
    class Uninstalled(peers.LleavesEngine):
        packages = ("lleaves", "no-such-distribution-for-jarscore")

    with pytest.raises(peers.NotApplicable, match=r"^no-such-distribution-for-jarscore not installed \(the \[peers\] extra"):
        Uninstalled().check(models["lgbm500"])
