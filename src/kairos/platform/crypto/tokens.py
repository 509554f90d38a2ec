"""The ciphertext format: AES-256-GCM under a data key, with the key's id and the caller's context bound in.

A token is self-describing, so data written before a rotation still decrypts after it::

    token v1        = 0x01 | data key id (16 bytes, UUID) | nonce (12 random bytes) | ciphertext | tag (16 bytes)
    associated data = 0x01 | data key id | context

The context (``b"identity.users.email:<user id>"``) is not stored: the reader must name it again, so a
token copied to another row or field fails authentication (NIST SP 800-38D, additional authenticated data).
"""

from __future__ import annotations

import base64
import binascii
import os
import re
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from kairos.platform.ids import new_id

TOKEN_VERSION = 1
DATA_KEY_BYTES = 32  # AES-256
NONCE_BYTES = 12  # random 96-bit nonces: at most 2^32 values per key (NIST SP 800-38D §8.3)
TAG_BYTES = 16
HEADER_BYTES = 1 + 16
MIN_TOKEN_BYTES = HEADER_BYTES + NONCE_BYTES + TAG_BYTES

_URLSAFE_BASE64 = re.compile(r"[A-Za-z0-9_-]*")


class DecryptionFailed(Exception):
    """The token is malformed, was altered, belongs to another context, or names a data key this database lacks."""


def token_data_key_id(token: bytes) -> UUID:
    """The id of the data key a token was encrypted under, read from its header."""
    if len(token) < MIN_TOKEN_BYTES:
        raise DecryptionFailed("the token is too short")
    if token[0] != TOKEN_VERSION:
        raise DecryptionFailed(f"unknown token version {token[0]}")
    return UUID(bytes=token[1:HEADER_BYTES])


class DataKey:
    """One data-encryption key, unwrapped; encrypts and decrypts tokens."""

    __slots__ = ("_aead", "id", "material")

    def __init__(self, id: UUID, material: bytes) -> None:
        if len(material) != DATA_KEY_BYTES:
            raise ValueError(f"a data key is {DATA_KEY_BYTES} bytes, not {len(material)}")
        self.id = id
        self.material = material
        self._aead = AESGCM(material)

    @classmethod
    def generate(cls) -> DataKey:
        return cls(new_id(), AESGCM.generate_key(bit_length=DATA_KEY_BYTES * 8))

    def __repr__(self) -> str:
        return f"DataKey(id={self.id})"

    def encrypt(self, plaintext: bytes, *, context: bytes) -> bytes:
        header = bytes([TOKEN_VERSION]) + self.id.bytes
        nonce = os.urandom(NONCE_BYTES)
        return header + nonce + self._aead.encrypt(nonce, plaintext, header + _checked(context))

    def decrypt(self, token: bytes, *, context: bytes) -> bytes:
        if token_data_key_id(token) != self.id:
            raise DecryptionFailed("the token was encrypted under another data key")
        header, nonce = token[:HEADER_BYTES], token[HEADER_BYTES : HEADER_BYTES + NONCE_BYTES]
        try:
            return self._aead.decrypt(nonce, token[HEADER_BYTES + NONCE_BYTES :], header + _checked(context))
        except InvalidTag:
            raise DecryptionFailed("the token was altered or belongs to another context") from None


def encode_text(token: bytes) -> str:
    """A token as text for text and JSON columns: URL-safe base64 without padding (RFC 4648 §5)."""
    return base64.urlsafe_b64encode(token).rstrip(b"=").decode("ascii")


def decode_text(text: str) -> bytes:
    if not _URLSAFE_BASE64.fullmatch(text):
        raise DecryptionFailed("the token is not URL-safe base64")
    try:
        token = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise DecryptionFailed("the token is not URL-safe base64") from None
    if encode_text(token) != text:  # only the canonical spelling: no ignored trailing bits
        raise DecryptionFailed("the token is not canonical URL-safe base64")
    return token


def _checked(context: bytes) -> bytes:
    if not context:
        raise ValueError("give a context (such as b'identity.users.email:<user id>') that names where the data lives")
    return context
