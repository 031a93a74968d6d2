"""Score jarscore artifacts in-process (``Scorer``), or serve a repository of versioned models with
hot reload and A/B routing (``ModelRegistry``). Both are re-exported by ``jarscore``."""

from jarscore.scorer.registry import ModelRegistry, ModelVersion, Result, Watcher, verify_outputs
from jarscore.scorer.repository import VersionPolicy
from jarscore.scorer.scorer import Scorer

__all__ = ["ModelRegistry", "ModelVersion", "Result", "Scorer", "VersionPolicy", "Watcher", "verify_outputs"]
