"""The project's error types. Every error a user can cause subclasses JarscoreError."""


class JarscoreError(Exception):
    """Base class of every error jarscore raises on purpose."""


class InputError(JarscoreError, ValueError):
    """Rows that cannot be scored: a missing field, a wrong type, an unknown category, inf, ..."""


class ArtifactError(JarscoreError):
    """An artifact or model file that cannot be read, or that is incomplete."""


class SignatureError(ArtifactError):
    """An artifact refused because trusted keys are configured and its signature does not vouch for it:
    it is unsigned, signed by a key that is not trusted, or its signature does not match its manifest.
    The message names the artifact and the reason."""


class KeyFileError(JarscoreError):
    """A signing key or trusted public key file that cannot be read or is not an Ed25519 key."""


class NoProbabilitiesError(ArtifactError, AttributeError):
    """``predict_proba`` of a model without class probabilities (a regressor, or a classifier whose
    PMML has no probability outputs). An AttributeError as well, so ``hasattr(scorer, "predict_proba")``
    is False, as scikit-learn and the libraries built on it expect of such a model."""


class ConversionError(JarscoreError):
    """A model that cannot be turned into PMML or a JAR."""


class ParityError(ConversionError):
    """The PMML or the JAR disagrees with the native model beyond tolerance."""


class JvmError(JarscoreError):
    """The JVM or jarscore's JVM runtime is missing or failed."""


class ModelError(JarscoreError):
    """The model itself failed while scoring a row (e.g. a missing value it cannot handle)."""


class VersionLoadError(ArtifactError):
    """A model version that could not be served: incomplete or corrupt on disk, failing to load, or
    refused by a validator. The message names the model, the version and the directory."""

    def __init__(self, model: str, version: int, directory, problem: str):
        super().__init__(f"model '{model}' version {version} ({directory}): {problem}")
        self.model = model
        self.version = version
        self.directory = directory


class ModelNotServedError(JarscoreError):
    """A request for a model that has no version serving (never loaded, unloaded, or the registry is closed)."""


class OutputError(JarscoreError):
    """A result that cannot be written where it was asked to go: the message names the path and why."""


class RepositoryError(JarscoreError):
    """A model repository operation that cannot be done: publish, label, rollback, retire, promote, or
    an invalid labels.json. The message names the model, the version or label and the file."""


class OutputClosed(OutputError):
    """Whoever read the output stopped reading it (stdout piped into ``head``, say)."""
