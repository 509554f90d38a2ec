"""Encryption at rest against the real PostgreSQL: data keys created once per database and shared by every
process, rotated and re-wrapped without losing what they encrypted; the development keyring on disk; and
the ``kairos keys`` commands."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import stat
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine as sa_create_engine
from sqlalchemy import select
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from kairos.platform.config import Settings, load_settings
from kairos.platform.crypto import (
    DataCipher,
    DecryptionFailed,
    Keyring,
    KeyringError,
    load_data_key,
    load_keyring,
    token_data_key_id,
)
from kairos.platform.db.engine import create_engine, create_sessionmaker
from kairos.platform.db.migrate import PLATFORM_HISTORY, ensure_database, upgrade
from kairos.platform.db.schema import data_keys
from kairos.platform.testing.infrastructure import unique_name
from tests.conftest import POSTGRES_URL
from tests.integration.platform.harness import Database, platform_database

pytestmark = pytest.mark.integration

KEK_1 = os.urandom(32)
KEK_2 = os.urandom(32)


def keyring_json(active: str, **keys: bytes) -> str:
    return json.dumps(
        {"active": active, "keys": {kek_id: base64.b64encode(material).decode() for kek_id, material in keys.items()}}
    )


def keyring(active: str, **keys: bytes) -> Keyring:
    """A fresh keyring instance each call, as another process would parse it."""
    return Keyring.from_json(keyring_json(active, **keys))


@pytest.fixture
async def database(database_prefix: str) -> AsyncIterator[Database]:
    created = await platform_database(POSTGRES_URL, database_prefix, "crypto")
    yield created
    await created.engine.dispose()


@pytest.fixture
async def other_process(database: Database) -> AsyncIterator[Database]:
    """The same database through an engine of its own, as a second process would hold it."""
    engine = create_engine(database.url, pool_size=2)
    yield Database(database.url, engine, create_sessionmaker(engine))
    await engine.dispose()


def cipher(database: Database, ring: Keyring, *, active_key_max_age: float = 300.0) -> DataCipher:
    return DataCipher(keyring=ring, sessionmaker=database.sessionmaker, active_key_max_age=active_key_max_age)


async def test_the_first_use_creates_one_data_key_that_every_process_shares(
    database: Database, other_process: Database
) -> None:
    first, second = cipher(database, keyring("k1", k1=KEK_1)), cipher(other_process, keyring("k1", k1=KEK_1))

    token_1, token_2 = await asyncio.gather(
        first.encrypt(b"jane@example.org", context=b"identity.users.email:1"),
        second.encrypt(b"john@example.org", context=b"identity.users.email:2"),
    )
    again = await first.encrypt(b"later", context=b"identity.users.email:3")

    assert token_data_key_id(token_1) == token_data_key_id(token_2) == token_data_key_id(again)
    assert await database.scalar("SELECT count(*) FROM data_keys") == 1
    assert await second.decrypt(token_1, context=b"identity.users.email:1") == b"jane@example.org"
    restarted = cipher(database, keyring("k1", k1=KEK_1))
    assert await restarted.decrypt(token_2, context=b"identity.users.email:2") == b"john@example.org"
    assert await restarted.prepare() == token_data_key_id(token_1)


async def test_text_round_trips_and_keeps_to_its_context(database: Database) -> None:
    texts = cipher(database, keyring("k1", k1=KEK_1))

    token = await texts.encrypt_text("Zoë, allergic to penicillin", context=b"appointments.notes.body:7")

    assert await texts.decrypt_text(token, context=b"appointments.notes.body:7") == "Zoë, allergic to penicillin"
    with pytest.raises(DecryptionFailed):
        await texts.decrypt_text(token, context=b"appointments.notes.body:8")


async def test_the_wrapped_key_in_the_table_is_not_the_raw_key(database: Database) -> None:
    ring = keyring("k1", k1=KEK_1)
    token = await cipher(database, ring).encrypt(b"secret", context=b"chat.messages.body:1")

    async with database.sessionmaker() as session:
        row = (await session.execute(select(data_keys))).one()
        raw = await load_data_key(session, ring, row.id)

    assert raw is not None
    assert row.id == token_data_key_id(token)
    assert row.kek_id == "k1"
    assert row.wrap_algorithm == "A256GCMKW"
    assert row.retired_at is None
    assert len(row.wrapped_key) == 12 + 32 + 16
    assert raw.material not in row.wrapped_key
    assert KEK_1 not in row.wrapped_key


async def test_a_token_from_another_database_does_not_decrypt(database: Database, database_prefix: str) -> None:
    ring = keyring("k1", k1=KEK_1)
    elsewhere = await platform_database(POSTGRES_URL, database_prefix, "crypto_other")
    try:
        token = await cipher(elsewhere, ring).encrypt(b"secret", context=b"chat.messages.body:1")
        with pytest.raises(DecryptionFailed, match="no data key"):
            await cipher(database, ring).decrypt(token, context=b"chat.messages.body:1")
    finally:
        await elsewhere.engine.dispose()


async def test_rotation_keeps_old_tokens_readable_and_encrypts_under_the_new_key(
    database: Database, other_process: Database
) -> None:
    rotating = cipher(database, keyring("k1", k1=KEK_1))
    following = cipher(other_process, keyring("k1", k1=KEK_1), active_key_max_age=0)
    old = await rotating.encrypt(b"before", context=b"documents.files.name:1")

    rotated = await rotating.rotate_data_key()
    new = await rotating.encrypt(b"after", context=b"documents.files.name:2")
    from_other_process = await following.encrypt(b"after too", context=b"documents.files.name:3")

    assert token_data_key_id(old) != rotated.id
    assert token_data_key_id(new) == token_data_key_id(from_other_process) == rotated.id
    assert rotated.is_active
    for reader in (rotating, following, cipher(database, keyring("k1", k1=KEK_1))):
        assert await reader.decrypt(old, context=b"documents.files.name:1") == b"before"
        assert await reader.decrypt(new, context=b"documents.files.name:2") == b"after"
    records = await rotating.list_data_keys()
    assert [record.id for record in records] == [token_data_key_id(old), rotated.id]
    assert [record.is_active for record in records] == [False, True]


async def test_rewrap_under_a_new_kek_lets_the_old_one_be_removed(database: Database) -> None:
    before = cipher(database, keyring("k1", k1=KEK_1))
    old = await before.encrypt(b"first", context=b"assistant.forms.answers:1")
    await before.rotate_data_key()
    newer = await before.encrypt(b"second", context=b"assistant.forms.answers:2")
    wrapped_before = await database.rows("SELECT id, wrapped_key FROM data_keys ORDER BY created_at, id")

    moving = cipher(database, keyring("k2", k1=KEK_1, k2=KEK_2))
    rewrapped = await moving.rewrap_data_keys()

    assert sorted(rewrapped) == sorted(key_id for key_id, _ in wrapped_before)
    assert await moving.rewrap_data_keys() == []
    assert await database.rows("SELECT DISTINCT kek_id FROM data_keys") == [("k2",)]
    wrapped_after = await database.rows("SELECT id, wrapped_key FROM data_keys ORDER BY created_at, id")
    assert all(after != before for after, before in zip(wrapped_after, wrapped_before, strict=True))

    only_new = cipher(database, keyring("k2", k2=KEK_2))
    assert await only_new.decrypt(old, context=b"assistant.forms.answers:1") == b"first"
    assert await only_new.decrypt(newer, context=b"assistant.forms.answers:2") == b"second"
    with pytest.raises(KeyringError, match="'k2', which is not in KAIROS_ENCRYPTION_KEYS"):
        await cipher(database, keyring("k1", k1=KEK_1)).decrypt(old, context=b"assistant.forms.answers:1")


async def test_a_lookup_hash_survives_rotations_and_is_the_databases_own(
    database: Database, database_prefix: str
) -> None:
    first = cipher(database, keyring("k1", k1=KEK_1))
    address = await first.lookup_hash("jane@example.org", purpose="identity.users.email")

    assert len(address) == 32
    assert await first.lookup_hash("jane@example.org", purpose="identity.users.email") == address
    assert await first.lookup_hash("jane@example.org", purpose="chat.people.email") != address
    assert await first.lookup_hash("jane@example.com", purpose="identity.users.email") != address
    await first.rotate_data_key()
    await cipher(database, keyring("k2", k1=KEK_1, k2=KEK_2)).rewrap_data_keys()
    after_both = cipher(database, keyring("k2", k2=KEK_2))  # a new process, the old KEK gone
    assert await after_both.lookup_hash("jane@example.org", purpose="identity.users.email") == address
    elsewhere = await platform_database(POSTGRES_URL, database_prefix, "crypto_lookup")
    try:  # another database, the same KEK: another lookup key
        other = cipher(elsewhere, keyring("k1", k1=KEK_1))
        assert await other.lookup_hash("jane@example.org", purpose="identity.users.email") != address
    finally:
        await elsewhere.engine.dispose()


async def test_a_synchronous_session_decrypts_what_the_cipher_encrypted(database: Database) -> None:
    token = await cipher(database, keyring("k1", k1=KEK_1)).encrypt_text("Jane", context=b"identity.users.name:1")
    reader = cipher(database, keyring("k1", k1=KEK_1))  # nothing in memory: the key is loaded on the session
    sync_engine = sa_create_engine(database.url.set(drivername="postgresql+psycopg"))

    def read() -> str:
        with Session(sync_engine) as session:
            return reader.decrypt_text_sync(token, context=b"identity.users.name:1", session=session)

    try:
        assert await asyncio.to_thread(read) == "Jane"
        with pytest.raises(DecryptionFailed), Session(sync_engine) as session:
            reader.decrypt_text_sync(token, context=b"identity.users.name:2", session=session)
    finally:
        sync_engine.dispose()


async def test_a_kek_with_other_material_under_the_same_id_unwraps_nothing(database: Database) -> None:
    token = await cipher(database, keyring("k1", k1=KEK_1)).encrypt(b"secret", context=b"identity.mfa.secret:1")

    with pytest.raises(KeyringError, match="does not unwrap"):
        await cipher(database, keyring("k1", k1=KEK_2)).decrypt(token, context=b"identity.mfa.secret:1")


def test_the_development_keyring_is_created_once_with_mode_0600_and_reused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", database_url=None, encryption_keys=None)

    created = load_keyring(settings)
    path = tmp_path / "data" / "secrets" / "encryption-keys.json"
    reused = load_keyring(settings)

    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert reused.to_json() == created.to_json() == path.read_text()
    assert [entry.name for entry in path.parent.iterdir()] == ["encryption-keys.json"]  # no temporary left


def test_the_keys_come_from_a_secret_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "kairos_encryption_keys").write_text(keyring_json("k2", k1=KEK_1, k2=KEK_2))
    monkeypatch.setenv("KAIROS_SECRETS_DIR", str(tmp_path))
    monkeypatch.delenv("KAIROS_ENCRYPTION_KEYS", raising=False)

    ring = load_keyring(load_settings(database_url="postgresql://db:5432/postgres"))

    assert (ring.active_id, ring.ids) == ("k2", {"k1", "k2"})


async def kairos(*arguments: str, env: dict[str, str]) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("kairos")),
        *arguments,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout=60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_keys_commands_rotate_and_rewrap_a_services_data_keys(database_prefix: str) -> None:
    prefix = f"{database_prefix}{unique_name('cli')}_"
    identity_url = make_url(POSTGRES_URL).set(drivername="postgresql+asyncpg", database=f"{prefix}identity")
    await ensure_database(identity_url)
    await upgrade(identity_url, [PLATFORM_HISTORY])
    engine = create_engine(identity_url, pool_size=2)
    identity = Database(identity_url, engine, create_sessionmaker(engine))
    env = {name: value for name, value in os.environ.items() if not name.startswith("KAIROS_")}
    env |= {"KAIROS_DATABASE_URL": POSTGRES_URL, "KAIROS_DATABASE_PREFIX": prefix, "KAIROS_LOG_LEVEL": "WARNING"}
    try:
        token = await cipher(identity, keyring("k1", k1=KEK_1)).encrypt(b"key", context=b"identity.jwks.private:1")

        status, out, _ = await kairos(
            "keys", "rotate-data-key", "identity", env=env | {"KAIROS_ENCRYPTION_KEYS": keyring_json("k1", k1=KEK_1)}
        )
        assert status == 0
        rotated = json.loads(out)
        assert rotated["service"] == "identity"
        assert (rotated["data_keys"], rotated["keks_in_use"], rotated["active_kek"]) == (2, ["k1"], "k1")

        both = keyring_json("k2", k1=KEK_1, k2=KEK_2)
        status, out, _ = await kairos("keys", "rewrap", "identity", env=env | {"KAIROS_ENCRYPTION_KEYS": both})
        assert status == 0
        rewrapped = json.loads(out)
        assert (len(rewrapped["rewrapped"]), rewrapped["keks_in_use"], rewrapped["data_keys"]) == (2, ["k2"], 2)

        only_new = cipher(identity, keyring("k2", k2=KEK_2))
        assert await only_new.decrypt(token, context=b"identity.jwks.private:1") == b"key"
        assert str(await only_new.prepare()) == rotated["data_key"]

        status, _, err = await kairos("keys", "rewrap", "identity", env=env)
        assert status == 2
        assert "KAIROS_ENCRYPTION_KEYS is not set" in err
        status, _, err = await kairos("keys", "rewrap", "billing", env=env | {"KAIROS_ENCRYPTION_KEYS": both})
        assert status == 2
        assert "unknown service 'billing'" in err
    finally:
        await engine.dispose()
