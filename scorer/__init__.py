"""Score jarscore artifacts in-process: ``from scorer import Scorer``."""

from scorer.scorer import Scorer

__all__ = ["Scorer"]
