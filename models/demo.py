"""`make demo`: train the bundled demo model, convert it into a verified artifact, score it from
Python and from Java, and print a parity and latency summary."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

import lightgbm
import numpy as np

from jarscore import Scorer, convert
from jarscore.scorer import jvm
from models.demo_data import credit_frame

MODELS = Path(__file__).resolve().parent
TRAINED = MODELS / "trained"
ARTIFACTS = MODELS / "artifacts"


def main() -> int:
    frame, target = credit_frame()
    train, holdout = slice(0, 5000), slice(5000, None)
    print("== training LightGBM on 5000 rows (held out: 1000)")
    model = lightgbm.LGBMClassifier(n_estimators=200, num_leaves=31, learning_rate=0.05, verbose=-1, random_state=1)
    model.fit(frame.iloc[train], target.iloc[train])
    TRAINED.mkdir(parents=True, exist_ok=True)
    model.booster_.save_model(str(TRAINED / "credit_lgbm.txt"))

    print("== converting: model -> PMML -> JAR -> parity check -> artifact")
    out = ARTIFACTS / "credit" / "1"
    sample = frame.iloc[holdout]
    started = time.perf_counter()
    scorer = convert(model, out, sample=sample, name="credit", version=1, force=True, log=print)
    print(f"   converted in {time.perf_counter() - started:.1f} s -> {out}")

    print("== scoring held-out rows from Python")
    rows = sample.head(5)
    proba = scorer.predict_proba(rows)[:, 1]
    native = model.predict_proba(rows)[:, 1]
    for i, (ours, theirs) in enumerate(zip(proba, native)):
        print(f"   row {i}: jarscore p(default)={ours:.10f}  lightgbm={theirs:.10f}")
    everything = scorer.predict_proba(sample)[:, 1]
    print(f"   all {len(sample)} held-out rows: max |jarscore - lightgbm| = "
          f"{np.max(np.abs(everything - model.predict_proba(sample)[:, 1])):.3g}")

    print("== scoring the same rows from Java (io.jarscore.runtime.ScoreCsvCommand)")
    csv = TRAINED / "credit_sample.csv"
    rows.to_csv(csv, index=False)
    java = subprocess.run([jvm.java_executable(), "-cp", ":".join(jvm.classpath()),
                           "io.jarscore.runtime.ScoreCsvCommand", str(out), str(csv)],
                          capture_output=True, text=True)
    if java.returncode != 0:
        print(java.stderr, file=sys.stderr)
        return 1
    print("   " + java.stdout.strip().replace("\n", "\n   "))

    print("== single-row latency (median of 2000 calls after warm-up, this machine, one run)")
    row = sample.iloc[0].to_dict()
    booster = model.booster_
    native_row = sample.iloc[[0]]
    ours = _median_us(lambda: scorer.predict_one(row))
    theirs = _median_us(lambda: booster.predict(native_row))
    print(f"   jarscore predict_one (mapping row): {ours:8.1f} us")
    print(f"   lightgbm Booster.predict (1 row):   {theirs:8.1f} us")
    print("   (one quick run on this machine, not for quoting: `jarscore bench` runs the full suite,"
          " side by side; docs/benchmarks.md)")
    return 0


def _median_us(call, warmup: int = 500, runs: int = 2000) -> float:
    for _ in range(warmup):
        call()
    times = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        call()
        times.append(time.perf_counter_ns() - start)
    return statistics.median(times) / 1000


if __name__ == "__main__":
    sys.exit(main())
