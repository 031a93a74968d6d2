"""Trained model -> PMML -> transpiled JAR -> verified, versioned artifact."""

from jarscore.converter.convert import convert

__all__ = ["convert"]
