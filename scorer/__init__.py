"""Score jarscore artifacts in-process: ``from scorer import Scorer``, or serve a repository of
versioned models with hot reload and A/B routing: ``from scorer import ModelRegistry``."""

from scorer.registry import ModelRegistry, ModelVersion, Result, Watcher, verify_outputs
from scorer.repository import VersionPolicy
from scorer.scorer import Scorer

__all__ = ["ModelRegistry", "ModelVersion", "Result", "Scorer", "VersionPolicy", "Watcher", "verify_outputs"]
