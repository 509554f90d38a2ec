"""Encryption at rest of personal and health data: AES-256-GCM under per-service data keys, themselves
wrapped by key-encryption keys from the secret provider, with rotation of both (docs/crypto.md).

In a service's composition root::

    cipher = DataCipher(keyring=load_keyring(settings), sessionmaker=runtime.sessionmaker)
    token = await cipher.encrypt(note.encode(), context=f"appointments.notes.body:{note_id}".encode())
"""

from kairos.platform.crypto.cipher import DataCipher
from kairos.platform.crypto.data_keys import (
    DataKeyRecord,
    ensure_active_data_key,
    first_data_key,
    list_data_keys,
    load_data_key,
    rewrap_data_keys,
    rotate_data_key,
)
from kairos.platform.crypto.keyring import Keyring, KeyringError, WrappedKey, development_keyring, load_keyring
from kairos.platform.crypto.lookup import LookupHasher
from kairos.platform.crypto.tokens import DataKey, DecryptionFailed, decode_text, encode_text, token_data_key_id

__all__ = [
    "DataCipher",
    "DataKey",
    "DataKeyRecord",
    "DecryptionFailed",
    "Keyring",
    "KeyringError",
    "LookupHasher",
    "WrappedKey",
    "decode_text",
    "development_keyring",
    "encode_text",
    "ensure_active_data_key",
    "first_data_key",
    "list_data_keys",
    "load_data_key",
    "load_keyring",
    "rewrap_data_keys",
    "rotate_data_key",
    "token_data_key_id",
]
