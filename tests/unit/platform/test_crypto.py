"""Encryption at rest, without a database: the token format, its tamper evidence, and the keyring's rules."""

from __future__ import annotations

import base64
import json
import uuid

import pytest
from pydantic import SecretStr

from kairos.platform.config import Settings, load_settings
from kairos.platform.crypto import (
    DataKey,
    DecryptionFailed,
    Keyring,
    KeyringError,
    LookupHasher,
    WrappedKey,
    decode_text,
    encode_text,
    load_keyring,
    token_data_key_id,
)

CONTEXT = b"identity.users.email:0192f0c4-7d5e-7000-8000-000000000001"
KEY_1 = bytes(range(32))
KEY_2 = bytes(range(32, 64))


def b64(material: bytes) -> str:
    return base64.b64encode(material).decode()


def keyring_json(active: str = "k1", **keys: bytes) -> str:
    return json.dumps({"active": active, "keys": {kek_id: b64(material) for kek_id, material in keys.items()}})


def test_a_token_decrypts_in_its_context_and_names_its_data_key() -> None:
    key = DataKey.generate()

    token = key.encrypt(b"jane@example.org", context=CONTEXT)

    assert key.decrypt(token, context=CONTEXT) == b"jane@example.org"
    assert token[0] == 1
    assert token_data_key_id(token) == key.id
    assert len(token) == 1 + 16 + 12 + len(b"jane@example.org") + 16
    assert b"jane@example.org" not in token


def test_the_same_value_encrypts_differently_every_time() -> None:
    key = DataKey.generate()
    assert key.encrypt(b"same", context=CONTEXT) != key.encrypt(b"same", context=CONTEXT)


def test_an_empty_value_round_trips() -> None:
    key = DataKey.generate()
    assert key.decrypt(key.encrypt(b"", context=CONTEXT), context=CONTEXT) == b""


def test_altering_any_byte_of_a_token_makes_it_fail() -> None:
    key = DataKey.generate()
    token = key.encrypt(b"allergic to penicillin", context=CONTEXT)

    for position in range(len(token)):
        altered = bytearray(token)
        altered[position] ^= 0x01
        with pytest.raises(DecryptionFailed):
            key.decrypt(bytes(altered), context=CONTEXT)


@pytest.mark.parametrize("cut", [1, 16, 40])
def test_a_truncated_or_extended_token_fails(cut: int) -> None:
    key = DataKey.generate()
    token = key.encrypt(b"allergic to penicillin", context=CONTEXT)

    with pytest.raises(DecryptionFailed):
        key.decrypt(token[:-cut], context=CONTEXT)
    with pytest.raises(DecryptionFailed):
        key.decrypt(token + b"\x00" * cut, context=CONTEXT)


def test_a_token_does_not_decrypt_in_another_context() -> None:
    key = DataKey.generate()
    token = key.encrypt(b"jane@example.org", context=b"identity.users.email:user-1")

    with pytest.raises(DecryptionFailed):
        key.decrypt(token, context=b"identity.users.email:user-2")
    with pytest.raises(DecryptionFailed):
        key.decrypt(token, context=b"identity.users.phone:user-1")


def test_another_key_under_the_same_id_cannot_decrypt() -> None:
    key = DataKey.generate()
    impostor = DataKey(key.id, bytes(32))

    with pytest.raises(DecryptionFailed):
        impostor.decrypt(key.encrypt(b"secret", context=CONTEXT), context=CONTEXT)


def test_a_context_is_required() -> None:
    key = DataKey.generate()
    with pytest.raises(ValueError, match="context"):
        key.encrypt(b"secret", context=b"")


def test_a_data_key_never_shows_its_material() -> None:
    key = DataKey(uuid.uuid4(), KEY_1)
    assert KEY_1.hex() not in repr(key)
    assert str(KEY_1) not in repr(key)


URLSAFE_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def test_tokens_as_text_round_trip_and_only_in_their_canonical_spelling() -> None:
    token = DataKey.generate().encrypt(b"note", context=CONTEXT)  # 49 bytes: the last character has spare bits

    text = encode_text(token)
    same_bytes_other_spelling = text[:-1] + URLSAFE_ALPHABET[URLSAFE_ALPHABET.index(text[-1]) + 1]

    assert decode_text(text) == token
    assert set(text) <= set(URLSAFE_ALPHABET)
    for bad in (
        text + "!",
        text + "=",
        text[:5] + "+" + text[6:],
        text[:5] + "/" + text[6:],
        same_bytes_other_spelling,
    ):
        with pytest.raises(DecryptionFailed):
            decode_text(bad)


def test_a_keyring_wraps_data_keys_bound_to_their_id() -> None:
    keyring = Keyring(active="k1", keys={"k1": KEY_1})
    data_key = DataKey.generate()

    wrapped = keyring.wrap(data_key.material, data_key_id=data_key.id)

    assert wrapped.kek_id == "k1"
    assert wrapped.algorithm == "A256GCMKW"
    assert data_key.material not in wrapped.wrapped
    assert keyring.unwrap(wrapped, data_key_id=data_key.id) == data_key.material
    with pytest.raises(KeyringError, match="does not unwrap"):
        keyring.unwrap(wrapped, data_key_id=uuid.uuid4())


def test_a_data_key_wrapped_by_a_missing_kek_names_it() -> None:
    old = Keyring(active="k1", keys={"k1": KEY_1})
    data_key = DataKey.generate()
    wrapped = old.wrap(data_key.material, data_key_id=data_key.id)

    with pytest.raises(KeyringError, match="'k1', which is not in KAIROS_ENCRYPTION_KEYS"):
        Keyring(active="k2", keys={"k2": KEY_2}).unwrap(wrapped, data_key_id=data_key.id)
    with pytest.raises(KeyringError, match="does not unwrap"):
        Keyring(active="k1", keys={"k1": KEY_2}).unwrap(wrapped, data_key_id=data_key.id)
    with pytest.raises(KeyringError, match="does not unwrap"):
        old.unwrap(WrappedKey("k1", "A256GCMKW", b"short"), data_key_id=data_key.id)


def test_a_keyring_parses_from_json_and_never_shows_its_keys() -> None:
    keyring = Keyring.from_json(keyring_json("k2", k1=KEY_1, k2=KEY_2))

    assert keyring.active_id == "k2"
    assert keyring.ids == {"k1", "k2"}
    assert b64(KEY_1) not in repr(keyring)
    assert Keyring.from_json(keyring.to_json()).ids == {"k1", "k2"}


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ("not json", "is not valid JSON"),
        ('["k1"]', "must be a JSON object"),
        ('{"keys": {"k1": "AAAA"}}', "must name the active key"),
        ('{"active": "k1"}', "must hold at least one key"),
        ('{"active": "k1", "keys": {}}', "must hold at least one key"),
        ('{"active": "k1", "keys": {"k1": 5}}', "key 'k1' must be a base64 string"),
        ('{"active": "k1", "keys": {"k1": "not base64!"}}', "key 'k1' is not valid base64"),
        (keyring_json(k1=KEY_1[:16]), "key 'k1' is 16 bytes; a key-encryption key is 32"),
        (keyring_json(k1=KEY_1 + b"\x00"), "key 'k1' is 33 bytes"),
        (keyring_json("k3", k1=KEY_1, k2=KEY_2), r"the active key 'k3' is not one of the keys \(k1, k2\)"),
        (keyring_json("bad id", **{"bad id": KEY_1}), "key id 'bad id' is not"),
        (json.dumps({"active": "k1", "keys": {"k1": b64(KEY_1)}, "activ": "k2"}), "unexpected fields: activ"),
    ],
)
def test_a_misconfigured_keyring_is_refused_with_a_clear_message(document: str, message: str) -> None:
    with pytest.raises(KeyringError, match=message) as refused:
        Keyring.from_json(document)
    assert str(refused.value).startswith("KAIROS_ENCRYPTION_KEYS")
    assert b64(KEY_1[:16]) not in str(refused.value)
    assert b64(KEY_1) not in str(refused.value)


def test_the_keyring_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAIROS_ENCRYPTION_KEYS", keyring_json("k2", k1=KEY_1, k2=KEY_2))

    settings = load_settings()

    assert b64(KEY_1) not in repr(settings)
    assert load_keyring(settings).active_id == "k2"


def test_an_external_database_without_keys_is_refused() -> None:
    settings = Settings(database_url=SecretStr("postgresql://db:5432/postgres"), encryption_keys=None)

    with pytest.raises(KeyringError, match="KAIROS_ENCRYPTION_KEYS is not set"):
        load_keyring(settings)


def test_a_lookup_hash_is_keyed_per_data_key_and_per_purpose() -> None:
    key = DataKey.generate()
    hasher = LookupHasher.derived_from(key)

    digest = hasher.digest("jane@example.org", purpose="identity.users.email")

    assert len(digest) == 32
    assert (
        LookupHasher.derived_from(DataKey(key.id, key.material)).digest(
            "jane@example.org", purpose="identity.users.email"
        )
        == digest
    )  # another process, the same data key
    assert hasher.digest("jane@example.org", purpose="chat.people.email") != digest
    assert hasher.digest("jane@example.org ", purpose="identity.users.email") != digest  # normalising is the caller's
    assert LookupHasher.derived_from(DataKey.generate()).digest("jane@example.org", purpose="identity.users.email") != (
        digest
    )
    assert key.material.hex() not in repr(hasher)
    with pytest.raises(ValueError, match="purpose"):
        hasher.digest("jane@example.org", purpose="")
