"""Key-encryption keys (KEKs): the secrets that wrap every service's data keys.

They come from the secret provider as ``KAIROS_ENCRYPTION_KEYS`` (environment or secret file; in
production a Kubernetes secret or an Azure Key Vault secret mounted as a file)::

    {"active": "k2", "keys": {"k1": "<base64 of 32 bytes>", "k2": "<base64 of 32 bytes>"}}

The active one wraps new and re-wrapped data keys; the others only unwrap, until ``rewrap_data_keys``
has moved every data key off them and they can be removed. Data keys are wrapped with AES-256-GCM, their
id as associated data, so a wrapped key cannot be passed off as another one.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import re
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from uuid import UUID

import structlog
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

if TYPE_CHECKING:
    from kairos.platform.config import Settings

log = structlog.get_logger(__name__)

KEK_BYTES = 32
WRAP_ALGORITHM = "A256GCMKW"  # JOSE's name for key wrapping with AES-GCM (RFC 7518 §4.7)
WRAP_NONCE_BYTES = 12
SETTING = "KAIROS_ENCRYPTION_KEYS"
DEVELOPMENT_KEYRING = Path("secrets") / "encryption-keys.json"

_KEK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")


class KeyringError(Exception):
    """The key-encryption keys are missing or misconfigured, or lack a key some data key is wrapped by."""


@dataclass(frozen=True)
class WrappedKey:
    kek_id: str
    algorithm: str
    wrapped: bytes


class Keyring:
    """The key-encryption keys by id, and which one is active. Never shows key material in its repr."""

    def __init__(self, *, active: str, keys: Mapping[str, bytes]) -> None:
        for kek_id, material in keys.items():
            if not _KEK_ID.fullmatch(kek_id):
                raise KeyringError(f"key id {kek_id!r} is not 1–64 letters, digits, '.', '_' or '-'")
            if len(material) != KEK_BYTES:
                raise KeyringError(f"key {kek_id!r} is {len(material)} bytes; a key-encryption key is {KEK_BYTES}")
        if active not in keys:
            raise KeyringError(f"the active key {active!r} is not one of the keys ({', '.join(sorted(keys))})")
        self.active_id = active
        self._keys = {kek_id: AESGCM(material) for kek_id, material in keys.items()}
        self._material = dict(keys)

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._keys)

    def __repr__(self) -> str:
        return f"Keyring(active={self.active_id!r}, ids={sorted(self._keys)!r})"

    @classmethod
    def generate(cls, kek_id: str = "dev-1") -> Keyring:
        return cls(active=kek_id, keys={kek_id: AESGCM.generate_key(bit_length=KEK_BYTES * 8)})

    @classmethod
    def from_json(cls, text: str, *, source: str = SETTING) -> Keyring:
        """Parse and validate; errors name ``source`` and never contain key material."""
        try:
            document: Any = json.loads(text)
        except json.JSONDecodeError as error:
            raise KeyringError(f"{source} is not valid JSON ({error.msg} at character {error.pos})") from None
        if not isinstance(document, dict):
            raise KeyringError(f'{source} must be a JSON object: {{"active": "<id>", "keys": {{"<id>": "<base64>"}}}}')
        unexpected = sorted(set(document) - {"active", "keys"})
        if unexpected:
            raise KeyringError(f"{source} has unexpected fields: {', '.join(unexpected)}")
        active, encoded = document.get("active"), document.get("keys")
        if not isinstance(active, str):
            raise KeyringError(f'{source} must name the active key: "active": "<id>"')
        if not isinstance(encoded, dict) or not encoded:
            raise KeyringError(f'{source} must hold at least one key: "keys": {{"<id>": "<base64 of 32 bytes>"}}')
        keys: dict[str, bytes] = {}
        for kek_id, value in encoded.items():
            if not isinstance(value, str):
                raise KeyringError(f"{source}: key {kek_id!r} must be a base64 string")
            try:
                keys[kek_id] = base64.b64decode(value, validate=True)
            except (binascii.Error, ValueError):
                raise KeyringError(f"{source}: key {kek_id!r} is not valid base64") from None
        try:
            return cls(active=active, keys=keys)
        except KeyringError as error:
            raise KeyringError(f"{source}: {error}") from None

    def to_json(self) -> str:
        keys = {kek_id: base64.b64encode(material).decode("ascii") for kek_id, material in self._material.items()}
        return json.dumps({"active": self.active_id, "keys": keys}, indent=2)

    def wrap(self, material: bytes, *, data_key_id: UUID) -> WrappedKey:
        """Wrap a data key under the active key-encryption key."""
        nonce = os.urandom(WRAP_NONCE_BYTES)
        wrapped = self._keys[self.active_id].encrypt(nonce, material, _wrap_context(data_key_id))
        return WrappedKey(kek_id=self.active_id, algorithm=WRAP_ALGORITHM, wrapped=nonce + wrapped)

    def unwrap(self, wrapped: WrappedKey, *, data_key_id: UUID) -> bytes:
        if wrapped.algorithm != WRAP_ALGORITHM:
            raise KeyringError(f"data key {data_key_id} is wrapped with {wrapped.algorithm}, which this keyring lacks")
        kek = self._keys.get(wrapped.kek_id)
        if kek is None:
            raise KeyringError(
                f"data key {data_key_id} is wrapped by key-encryption key {wrapped.kek_id!r}, which is not in "
                f"{SETTING} ({', '.join(sorted(self._keys))}); add it back, or rewrap before removing a key"
            )
        nonce, sealed = wrapped.wrapped[:WRAP_NONCE_BYTES], wrapped.wrapped[WRAP_NONCE_BYTES:]
        try:
            if len(nonce) != WRAP_NONCE_BYTES:
                raise InvalidTag
            return kek.decrypt(nonce, sealed, _wrap_context(data_key_id))
        except InvalidTag:
            raise KeyringError(
                f"data key {data_key_id} does not unwrap with key-encryption key {wrapped.kek_id!r}: "
                "the key under that id changed, or the stored data key was altered"
            ) from None


def _wrap_context(data_key_id: UUID) -> bytes:
    return b"kairos.data_key.v1:" + data_key_id.bytes


def load_keyring(settings: Settings) -> Keyring:
    """The process's keyring, resolved from the settings as configured (call it before an embedded
    database's URL is filled in: an unset ``database_url`` is what marks the all-in-one shape).

    - ``KAIROS_ENCRYPTION_KEYS`` set: parsed and validated.
    - unset, embedded database: a key generated once into ``<data_dir>/secrets/encryption-keys.json``.
    - unset, external database: refused; a production database never gets a key nobody provisioned.
    """
    if settings.encryption_keys is not None:
        return Keyring.from_json(settings.encryption_keys.get_secret_value())
    if settings.database_url is not None:
        raise KeyringError(
            f"{SETTING} is not set: with an external database (KAIROS_DATABASE_URL) the key-encryption keys "
            "must come from the secret provider; see docs/crypto.md"
        )
    return development_keyring(settings.data_dir)


def development_keyring(data_dir: Path) -> Keyring:
    """The all-in-one shape's keyring: read from the data directory, or created there once (mode 0600)."""
    path = data_dir / DEVELOPMENT_KEYRING
    if path.exists():
        return _read_development_keyring(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    keyring = Keyring.generate()
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=".encryption-keys.", suffix=".tmp")  # 0600
    try:
        with os.fdopen(descriptor, "w") as file:
            file.write(keyring.to_json())
            file.flush()
            os.fsync(file.fileno())
        try:
            os.link(temporary, path)  # atomic, and fails if another process created it first
        except FileExistsError:
            return _read_development_keyring(path)
    finally:
        os.unlink(temporary)
    log.warning(
        "crypto.development_keyring_created",
        path=str(path),
        detail=f"a key-encryption key was generated for this machine; set {SETTING} from a secret store in "
        "production, and keep this file with the data it protects",
    )
    return keyring


def _read_development_keyring(path: Path) -> Keyring:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        log.warning("crypto.development_keyring_exposed", path=str(path), mode=oct(mode))
    return Keyring.from_json(path.read_text(), source=str(path))
