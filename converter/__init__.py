"""Trained model -> PMML -> transpiled JAR -> verified, versioned artifact."""

from converter.convert import convert

__all__ = ["convert"]
