"""Ed25519 signatures on artifacts (docs/artifact-format.md, "Signature"): key pairs, signing an
artifact's manifest, and checking it against trusted public keys. The cryptography is the
``cryptography`` package's; this module only decides what is signed and what is refused."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Union

from jarscore.errors import ArtifactError, KeyFileError, SignatureError

SIGNATURE = "signature.json"
ALGORITHM = "Ed25519"
SIGNATURE_FORMAT = 1
KEY_ID_HEX_DIGITS = 16
DEFAULT_KEY_NAME = "jarscore-signing"
TRUSTED_KEYS_ENV = "JARSCORE_TRUSTED_KEYS"

KeyFiles = Union["TrustedKeys", Iterable[Union[str, os.PathLike]], None]


def key_id(public_key) -> str:
    """The first 16 hex digits of the SHA-256 of the key's DER SubjectPublicKeyInfo (what
    ``openssl pkey -pubin -outform DER | sha256sum`` prints for its PEM file)."""
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    return hashlib.sha256(der).hexdigest()[:KEY_ID_HEX_DIGITS]


def generate_key_pair(directory: str | Path, name: str = DEFAULT_KEY_NAME) -> tuple[Path, Path, str]:
    """Writes ``DIR/NAME.key`` (PKCS#8 PEM, unencrypted, mode 0600, created so that it is never
    readable by others) and ``DIR/NAME.pub`` (SubjectPublicKeyInfo PEM); returns both paths and
    the key id. Existing files are never overwritten."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    directory = Path(directory)
    private_path, public_path = directory / f"{name}.key", directory / f"{name}.pub"
    for path in (private_path, public_path):
        if path.exists():
            raise KeyFileError(f"{path} already exists; keygen never overwrites a key (choose another --out "
                               "or --name)")
    directory.mkdir(parents=True, exist_ok=True)
    private_key = Ed25519PrivateKey.generate()
    private_pem = private_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                            serialization.NoEncryption())
    public_pem = private_key.public_key().public_bytes(serialization.Encoding.PEM,
                                                       serialization.PublicFormat.SubjectPublicKeyInfo)
    descriptor = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "wb") as out:
        out.write(private_pem)
    os.chmod(private_path, 0o600)   # whatever the umask
    try:
        with open(public_path, "xb") as out:
            out.write(public_pem)
    except BaseException:
        private_path.unlink(missing_ok=True)
        raise
    return private_path, public_path, key_id(private_key.public_key())


def load_private_key(path: str | Path):
    """An Ed25519 private key from a PEM file written by :func:`generate_key_pair`."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    data = _read_key_file(Path(path), "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"signing key {path} is not an unencrypted PEM private key ({exc}); make one with "
                           "'jarscore keygen --out DIR'") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise KeyFileError(f"signing key {path} is a {type(key).__name__}, not an Ed25519 key; make one with "
                           "'jarscore keygen --out DIR'")
    return key


def load_public_key(path: str | Path):
    """An Ed25519 public key from a PEM file (``-----BEGIN PUBLIC KEY-----``)."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    data = _read_key_file(Path(path), "trusted key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyFileError(f"trusted key {path} is not a PEM public key ({exc}); give the .pub file written "
                           "by 'jarscore keygen'") from None
    if not isinstance(key, Ed25519PublicKey):
        raise KeyFileError(f"trusted key {path} is a {type(key).__name__}, not an Ed25519 key")
    return key


def _read_key_file(path: Path, role: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read {role} {path}: {exc.strerror or exc}") from None


def sign_manifest(directory: Path, private_key) -> dict:
    """Writes ``directory/signature.json``: the key id and the Ed25519 signature of manifest.json's
    exact bytes. Written beside and renamed into place, so a reader sees the old file or the new."""
    from jarscore.scorer.artifact import MANIFEST

    manifest_bytes = (directory / MANIFEST).read_bytes()
    entry = {"format": SIGNATURE_FORMAT, "algorithm": ALGORITHM, "key_id": key_id(private_key.public_key()),
             "signature": base64.b64encode(private_key.sign(manifest_bytes)).decode("ascii")}
    partial = directory / f".{SIGNATURE}.partial-{os.getpid()}"
    try:
        partial.write_text(json.dumps(entry, indent=2) + "\n", encoding="utf-8")
        os.replace(partial, directory / SIGNATURE)
    finally:
        partial.unlink(missing_ok=True)
    return entry


def sign_artifact(directory: str | Path, key_path: str | Path) -> dict:
    """Signs an existing artifact (``jarscore sign``) after checking that every file its manifest
    lists has its recorded size and sha256: a modified artifact is refused, not blessed."""
    from jarscore.scorer.artifact import read_artifact

    private_key = load_private_key(key_path)
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"artifact directory not found: {directory}")
    read_artifact(directory)
    return sign_manifest(directory, private_key)


@dataclass(frozen=True)
class TrustedKeys:
    """Public keys whose signatures make an artifact loadable, by key id. ``files`` are the PEM files
    they were read from (a pickled or cloned Scorer reads them again)."""

    keys: dict
    files: tuple[str, ...]

    @classmethod
    def from_files(cls, paths: Iterable[str | os.PathLike]) -> "TrustedKeys":
        keys, files = {}, []
        for path in paths:
            public_key = load_public_key(path)
            keys[key_id(public_key)] = public_key
            files.append(str(path))
        return cls(keys, tuple(files))

    @classmethod
    def from_environment(cls) -> "TrustedKeys":
        """$JARSCORE_TRUSTED_KEYS: public key files separated by ',' or the path separator (':')."""
        return cls.from_files(parse_key_list(os.environ.get(TRUSTED_KEYS_ENV, "")))

    def __bool__(self) -> bool:
        return bool(self.keys)

    def verify(self, directory: Path, manifest_bytes: bytes) -> str:
        """Refuses (SignatureError) unless ``directory/signature.json`` is a signature of
        ``manifest_bytes`` by one of these keys; returns that key's id."""
        from cryptography.exceptions import InvalidSignature

        entry = _read_signature(directory)
        key = self.keys.get(entry["key_id"])
        if key is None:
            raise SignatureError(f"artifact {directory} is refused: it is signed by key {entry['key_id']}, which is "
                                 f"not one of the trusted keys ({', '.join(sorted(self.keys))})")
        try:
            key.verify(entry["signature"], manifest_bytes)
        except InvalidSignature:
            raise SignatureError(f"artifact {directory} is refused: its signature by key {entry['key_id']} does not "
                                 "match manifest.json (the manifest was changed after it was signed, or the "
                                 "signature is not that key's)") from None
        return entry["key_id"]


def _read_signature(directory: Path) -> dict:
    path = directory / SIGNATURE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SignatureError(f"artifact {directory} is refused: it is not signed ({SIGNATURE} is missing) and "
                             "trusted keys are configured; sign it with 'jarscore sign'") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SignatureError(f"artifact {directory} is refused: cannot read {path}: {exc}") from None
    try:
        entry = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SignatureError(f"artifact {directory} is refused: {path} is not JSON ({exc})") from None
    problem = _signature_problem(entry)
    if problem:
        raise SignatureError(f"artifact {directory} is refused: {path} {problem}")
    return {"key_id": entry["key_id"], "signature": base64.b64decode(entry["signature"], validate=True)}


def _signature_problem(entry) -> str | None:
    if not isinstance(entry, dict):
        return "is not a JSON object"
    fmt = entry.get("format")
    # As strict as Java's reading: 1.0 or true is not the format 1.
    if type(fmt) is not int or fmt != SIGNATURE_FORMAT or entry.get("algorithm") != ALGORITHM:
        return (f"has format {fmt!r} and algorithm {entry.get('algorithm')!r}; expected format "
                f"{SIGNATURE_FORMAT} and algorithm {ALGORITHM!r}")
    if not isinstance(entry.get("key_id"), str):
        return f"has no key_id string (got {entry.get('key_id')!r})"
    signature = entry.get("signature")
    try:
        if isinstance(signature, str) and len(base64.b64decode(signature, validate=True)) == 64:
            return None
    except (binascii.Error, ValueError):
        pass
    return f"has no 64-byte base64 signature (got {signature!r:.80})"


def parse_key_list(text: str) -> list[str]:
    """A list of key files as $JARSCORE_TRUSTED_KEYS and the Kafka app's jarscore.trusted.keys give it."""
    return [part.strip() for part in re.split(rf"[,{re.escape(os.pathsep)}]", text) if part.strip()]


def trusted_keys_for(trusted_keys: KeyFiles) -> TrustedKeys:
    """What a loader's ``trusted_keys`` argument means: None, $JARSCORE_TRUSTED_KEYS; a TrustedKeys,
    itself; public key files, those (none: no signature is required)."""
    if trusted_keys is None:
        return TrustedKeys.from_environment()
    if isinstance(trusted_keys, TrustedKeys):
        return trusted_keys
    if isinstance(trusted_keys, (str, os.PathLike)):
        return TrustedKeys.from_files([trusted_keys])
    return TrustedKeys.from_files(trusted_keys)
