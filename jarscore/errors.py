"""The project's error types. Every error a user can cause subclasses JarscoreError."""


class JarscoreError(Exception):
    """Base class of every error jarscore raises on purpose."""


class InputError(JarscoreError, ValueError):
    """Rows that cannot be scored: a missing field, a wrong type, an unknown category, inf, ..."""


class ArtifactError(JarscoreError):
    """An artifact or model file that cannot be read, or that is incomplete."""


class ConversionError(JarscoreError):
    """A model that cannot be turned into PMML or a JAR."""


class ParityError(ConversionError):
    """The PMML or the JAR disagrees with the native model beyond tolerance."""


class JvmError(JarscoreError):
    """The JVM or jarscore's JVM runtime is missing or failed."""


class ModelError(JarscoreError):
    """The model itself failed while scoring a row (e.g. a missing value it cannot handle)."""
