"""The online-learning loop (models/online_learning.py) against a real broker for three versions: every
event is scored at least once, each output carries the version stable when it was scored, and the
hold-out metric of the promoted versions never gets worse."""

from __future__ import annotations

from models.kafka_broker import KafkaBroker, kafka_test_classpath
from models.online_learning import TOPICS, run


def test_the_loop_scores_every_event_with_the_promoted_version(tmp_path):
    with KafkaBroker(kafka_test_classpath(log=lambda line: None), TOPICS) as broker:
        record = run(tmp_path, broker.bootstrap_servers, rounds=3, per_round=300, log=print)

    assert [r.version for r in record.rounds] == [1, 2, 3]
    sent = set(record.expected) | {probe for _, _, probes in record.probes for probe in probes}
    assert len(record.expected) == 900 and sent <= set(record.scored), "every event is scored, none lost"

    # A round's events were sent while the app served `stable` and scored before the next promotion.
    wrong = {event: versions for event, versions in record.scored.items()
             if event in record.expected and set(versions) != {record.expected[event]}}
    assert wrong == {}
    # After a promotion, probes carry the old version until the app's next poll, then the new one.
    for old, new, probes in record.probes:
        carried = [record.scored[probe][0] for probe in probes]
        assert carried[-1] == new and set(carried) <= {old, new} and carried == sorted(carried, key=lambda v: v == new)

    promoted = [r.metric for r in record.rounds if r.promoted]
    assert len(promoted) >= 2, "the later versions learned from more events"
    assert promoted == sorted(promoted), "roc_auc of the promoted versions never drops"
    for r in record.rounds:
        assert r.promoted == (r.stable_metric is None or r.metric >= r.stable_metric)
