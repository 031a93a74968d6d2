"""The online-learning loop, end to end (``python -m models.online_learning``; docs/delivery.md).

Labelled events arrive on a Kafka topic. The Kafka scoring app (the runnable jar, policy
``label:stable``) scores every event with the version labelled ``stable`` and stamps that version on
its output. A trainer reads the same events; every N events it continues training its LightGBM model
from the previous booster, converts it (with the parity gate), publishes it into the repository as
``canary`` and promotes it through the hold-out gate. The app follows ``stable`` at its next poll.

The broker is the one the Kafka app's tests start (models/kafka_broker.py). The loop runs in rounds so
that what each output should carry is known: a round's events are sent while the app serves the
stable version and all scored before the trainer promotes; after a promotion, probe events are sent
one at a time until an output carries the new version."""

from __future__ import annotations

import argparse
import contextlib
import json
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import lightgbm
import numpy as np
import pandas as pd
from confluent_kafka import Consumer, Producer

from jarscore import convert
from jarscore.delivery import promote, publish, set_labels
from models.kafka_broker import APP_JAR, KafkaBroker, kafka_test_classpath

NAME = "clicks"
FEATURES = ["x0", "x1", "x2", "x3", "x4"]
TOPICS = {"events": 2, "scores": 2, "dead-letters": 1, "control": 1}
TREES_PER_UPDATE = 15
POLL_MS = 300          # the app's repository watcher
WAIT_SECONDS = 180     # a bound on every wait for the app, so a broken run stops instead of hanging


def events(count: int, seed: int) -> pd.DataFrame:
    """Labelled events: five numeric features and a 0/1 label drawn from a fixed nonlinear logit."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(count, len(FEATURES)))
    logit = 1.2 * x[:, 0] - 0.8 * x[:, 1] + 0.9 * x[:, 2] * x[:, 3] + 0.6 * np.sin(3 * x[:, 4])
    frame = pd.DataFrame(x, columns=FEATURES)
    frame["label"] = (rng.random(count) < 1 / (1 + np.exp(-logit))).astype(int)
    return frame


@dataclass
class Round:
    """One update: the version published as canary, its hold-out metric, and the gate's decision."""

    version: int
    metric: float
    stable_metric: float | None
    promoted: bool
    stable: int          # the version labelled stable after the gate


@dataclass
class Record:
    """What the loop sent and what the app answered, for the checks of tests/test_online_learning.py."""

    rounds: list[Round] = field(default_factory=list)
    expected: dict[str, int] = field(default_factory=dict)               # event id -> version it must carry
    probes: list[tuple[int, int, list[str]]] = field(default_factory=list)  # (old, new, probe ids in order)
    scored: dict[str, list[int]] = field(default_factory=dict)           # event id -> versions of its outputs


class Trainer:
    """Reads labelled events and updates a LightGBM model every ``batch`` events, continuing from the
    previous booster (``init_model``)."""

    def __init__(self, bootstrap: str):
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "online-trainer",
                                   "auto.offset.reset": "earliest"})
        self._consumer.subscribe(["events"])
        self.model: lightgbm.LGBMClassifier | None = None

    def next_batch(self, size: int) -> pd.DataFrame:
        rows = []
        deadline = time.monotonic() + WAIT_SECONDS
        while len(rows) < size:
            if time.monotonic() > deadline:
                raise TimeoutError(f"the trainer read {len(rows)} of {size} events in {WAIT_SECONDS} s")
            message = self._consumer.poll(0.5)
            if message is None or message.error():
                continue
            event = json.loads(message.value())
            if not event.get("probe"):
                rows.append(event)
        return pd.DataFrame(rows)[FEATURES + ["label"]]

    def update(self, batch: pd.DataFrame) -> lightgbm.LGBMClassifier:
        model = lightgbm.LGBMClassifier(n_estimators=TREES_PER_UPDATE, num_leaves=7, learning_rate=0.1,
                                        min_child_samples=10, n_jobs=1, deterministic=True, random_state=7,
                                        verbose=-1)
        model.fit(batch[FEATURES], batch["label"], init_model=self.model.booster_ if self.model else None)
        self.model = model
        return model

    def close(self) -> None:
        self._consumer.close()


class Outputs:
    """Reads the app's output topic: event id -> the versions its outputs carry."""

    def __init__(self, bootstrap: str, scored: dict[str, list[int]]):
        self._consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"online-outputs-{time.time_ns()}",
                                   "auto.offset.reset": "earliest"})
        self._consumer.subscribe(["scores", "dead-letters"])
        self.scored = scored

    def wait_for(self, ids: list[str]) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not all(i in self.scored for i in ids):
            if time.monotonic() > deadline:
                missing = [i for i in ids if i not in self.scored]
                raise TimeoutError(f"{len(missing)} events unscored after {WAIT_SECONDS} s, e.g. {missing[:3]}")
            message = self._consumer.poll(0.5)
            if message is None or message.error():
                continue
            if message.topic() == "dead-letters":
                raise RuntimeError(f"the app sent event {message.key()!r} to the dead letters: {message.value()!r}")
            self.scored.setdefault(message.key().decode(), []).append(json.loads(message.value())["version"])

    def close(self) -> None:
        self._consumer.close()


class ScoringApp:
    """The Kafka scoring app (jvm/kafka-app's runnable jar) following ``stable`` in the repository."""

    def __init__(self, bootstrap: str, repository: Path, workdir: Path):
        self._config = workdir / "scoring-app.properties"
        self._config.write_text("\n".join([
            f"bootstrap.servers={bootstrap}", f"application.id=jarscore-online-{time.time_ns()}",
            "jarscore.input.topic=events", "jarscore.output.topic=scores",
            "jarscore.dlq.topic=dead-letters", "jarscore.control.topic=control",
            f"jarscore.model.root={repository}", f"jarscore.model.name={NAME}",
            "jarscore.model.policy=label:stable", f"jarscore.watch.interval.ms={POLL_MS}",
            "processing.guarantee=at_least_once", "commit.interval.ms=1000", ""]))
        self._log = workdir / "scoring-app.log"
        self._process: subprocess.Popen | None = None

    def __enter__(self) -> "ScoringApp":
        if not APP_JAR.is_file():
            raise FileNotFoundError(f"{APP_JAR} is missing: build it with 'make setup'")
        with open(self._log, "wb") as log:
            self._process = subprocess.Popen(["java", "-Xmx384m", "-jar", str(APP_JAR), "--config", str(self._config)],
                                             stdout=log, stderr=subprocess.STDOUT)
        return self

    def __exit__(self, *exc_info) -> None:
        self._process.terminate()    # the app closes its streams and registry on SIGTERM
        try:
            self._process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()


def send(producer: Producer, rows: pd.DataFrame, ids: list[str], probe: bool = False) -> None:
    for event_id, row in zip(ids, rows.to_dict("records")):
        producer.produce("events", key=event_id, value=json.dumps({**row, "probe": probe}))
    producer.flush()


def run(workdir: Path, bootstrap: str, rounds: int = 3, per_round: int = 400, log=print) -> Record:
    """Runs ``rounds`` updates of ``per_round`` events each against the broker at ``bootstrap``; the
    repository, hold-out rows and build folders go under ``workdir``."""
    repository = workdir / "repository"
    repository.mkdir(parents=True)
    holdout = events(600, seed=1000)
    holdout_csv = workdir / "holdout.csv"
    holdout.to_csv(holdout_csv, index=False)
    record = Record()
    stream = events(rounds * per_round, seed=1)
    producer = Producer({"bootstrap.servers": bootstrap, "linger.ms": 5})
    stable = None
    with contextlib.ExitStack() as stack:
        trainer = Trainer(bootstrap)
        stack.callback(trainer.close)
        outputs = Outputs(bootstrap, record.scored)
        stack.callback(outputs.close)
        for r in range(rounds):
            batch_ids = [f"r{r}-e{i}" for i in range(per_round)]
            send(producer, stream.iloc[r * per_round:(r + 1) * per_round], batch_ids)
            if stable is not None:       # the app serves `stable`: the round's events must carry it
                record.expected.update(dict.fromkeys(batch_ids, stable))
                outputs.wait_for(batch_ids)
            model = trainer.update(trainer.next_batch(per_round))
            built = workdir / "build" / f"round-{r}"
            convert(model, built, sample=holdout[FEATURES].head(200), name=NAME, version=r + 1,
                    log=lambda line: None).close()
            version = int(publish(built, repository, version="auto").name)
            set_labels(repository, NAME, {"canary": version})
            gate = promote(repository, NAME, holdout=holdout_csv, metric="roc_auc", candidate="canary",
                           target="label")
            log(f"round {r}: v{version} roc_auc {gate.candidate_metric:.4f}"
                + (f" (stable v{gate.stable_version}: {gate.stable_metric:.4f})" if gate.stable_version else "")
                + (" -> promoted" if gate.promoted else " -> kept stable"))
            before, stable = stable, version if gate.promoted else stable
            record.rounds.append(Round(version, gate.candidate_metric, gate.stable_metric, gate.promoted, stable))
            if before is None:           # the first version: the app starts on it and scores round 0's events
                record.expected.update(dict.fromkeys(batch_ids, stable))
                stack.enter_context(ScoringApp(bootstrap, repository, workdir))
                outputs.wait_for(batch_ids)
            elif stable != before:
                record.probes.append((before, stable, _probe_until(producer, outputs, r, stable)))
    return record


def _probe_until(producer: Producer, outputs: Outputs, r: int, version: int, limit: int = 500) -> list[str]:
    """Sends probe events one at a time until an output carries ``version``; returns their ids."""
    ids = []
    rows = events(limit, seed=10_000 + r)
    for k in range(limit):
        ids.append(f"r{r}-p{k}")
        send(producer, rows.iloc[[k]], ids[-1:], probe=True)
        outputs.wait_for(ids[-1:])
        if outputs.scored[ids[-1]][-1] == version:
            return ids
        time.sleep(POLL_MS / 3000)
    raise TimeoutError(f"after {limit} probes the app still did not serve v{version}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m models.online_learning", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=4, help="model updates (default 4)")
    parser.add_argument("--events-per-round", type=int, default=500, help="events between updates (default 500)")
    args = parser.parse_args(argv)
    classpath = kafka_test_classpath()
    with tempfile.TemporaryDirectory(prefix="jarscore-online-") as tmp, KafkaBroker(classpath, TOPICS) as broker:
        print(f"broker at {broker.bootstrap_servers}; repository in {tmp}/repository")
        record = run(Path(tmp), broker.bootstrap_servers, args.rounds, args.events_per_round)
    outputs = sum(len(v) for v in record.scored.values())
    print(f"{len(record.scored)} events scored ({outputs} outputs); stable went "
          + " -> ".join(f"v{r.stable}" for r in record.rounds if r.promoted))
    return 0


if __name__ == "__main__":
    sys.exit(main())
