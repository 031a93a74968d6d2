"""Weighted A/B routing between versions by a stable hash of a request key: a key always goes to the
same version while the weights and the served versions stay the same, on every instance and in Java
(``io.jarscore.registry.Router``) alike."""

from __future__ import annotations

from typing import Collection, Mapping

_MASK = (1 << 64) - 1
_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3


def stable_hash(key: str) -> int:
    """64-bit FNV-1a of the key's UTF-8 bytes, then MurmurHash3's fmix64 to spread similar keys."""
    h = _FNV_OFFSET
    for byte in key.encode("utf-8"):
        h = ((h ^ byte) * _FNV_PRIME) & _MASK
    h ^= h >> 33
    h = (h * 0xFF51AFD7ED558CCD) & _MASK
    h ^= h >> 33
    h = (h * 0xC4CEB9FE1A85EC53) & _MASK
    h ^= h >> 33
    return h


class Router:
    """``weights``: version to a positive share of the traffic, e.g. ``{1: 90, 2: 10}``."""

    def __init__(self, weights: Mapping[int, int]):
        if not weights:
            raise ValueError("routing needs at least one version with a weight")
        for version, weight in weights.items():
            if not isinstance(weight, int) or isinstance(weight, bool) or weight <= 0:
                raise ValueError(f"routing weight of version {version} must be a positive integer, got {weight!r}")
        self.weights = dict(sorted((int(v), w) for v, w in weights.items()))

    def pick(self, key: str, served: Collection[int]) -> int | None:
        """The version for ``key`` among the routed versions that are ``served``; None if none is.
        Versions are taken in ascending order, each owning a slice of the hash range as wide as its weight."""
        routed = [(v, w) for v, w in self.weights.items() if v in served]
        total = sum(w for _, w in routed)
        if total == 0:
            return None
        point = stable_hash(key) % total
        for version, weight in routed:
            point -= weight
            if point < 0:
                return version
        raise AssertionError("unreachable: point is below the total weight")

    def __repr__(self) -> str:
        return f"Router({self.weights})"
