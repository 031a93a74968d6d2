"""jarscore: trained models as verified, transpiled JARs, scored in-process from Python and Java."""

__version__ = "0.1.0"
