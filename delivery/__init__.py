"""Putting versions into a model repository and moving its labels: ``publish`` an artifact, ``set_labels``,
``rollback``, ``retire`` old versions, ``promote`` a candidate through a hold-out gate
(docs/delivery.md). The registries follow the repository at their next poll."""

from jarscore.delivery.labelling import retire, rollback, set_labels
from jarscore.delivery.promote import Promotion, promote
from jarscore.delivery.publish import publish

__all__ = ["Promotion", "promote", "publish", "retire", "rollback", "set_labels"]
