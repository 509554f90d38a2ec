"""Argon2id hashing really hashes (with small parameters here), verifies, asks for re-hashing when the
parameters change, and keeps its work off the event loop."""

from __future__ import annotations

import threading
import unicodedata

import argon2
import pytest

from kairos.identity.passwords import OWASP_RECOMMENDED, Argon2Parameters, PasswordHasher, UnreadablePasswordHash

SMALL = Argon2Parameters(memory_kib=8, iterations=1, lanes=1)
PASSWORD = "velvet lantern orbit"


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(SMALL)


def test_the_default_parameters_are_owasps_argon2id_recommendation() -> None:
    assert (OWASP_RECOMMENDED.memory_kib, OWASP_RECOMMENDED.iterations, OWASP_RECOMMENDED.lanes) == (19 * 1024, 2, 1)
    assert PasswordHasher().parameters == OWASP_RECOMMENDED


def test_a_hash_is_a_salted_argon2id_string_that_records_its_parameters(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)

    assert stored.startswith("$argon2id$v=19$m=8,t=1,p=1$")
    assert PASSWORD not in stored
    assert hasher.hash(PASSWORD) != stored  # a fresh salt every time
    assert argon2.extract_parameters(stored).salt_len == 16


def test_the_right_password_verifies_and_a_wrong_one_does_not(hasher: PasswordHasher) -> None:
    stored = hasher.hash(PASSWORD)

    assert hasher.verify(stored, PASSWORD) is True
    assert hasher.verify(stored, PASSWORD.upper()) is False
    assert hasher.verify(stored, PASSWORD + " ") is False


def test_a_password_verifies_whichever_unicode_form_it_is_typed_in(hasher: PasswordHasher) -> None:
    stored = hasher.hash(unicodedata.normalize("NFC", "crème brûlée à la carte"))

    assert hasher.verify(stored, unicodedata.normalize("NFD", "crème brûlée à la carte"))


def test_a_lone_surrogate_fails_verification_instead_of_raising(hasher: PasswordHasher) -> None:
    assert hasher.verify(hasher.hash(PASSWORD), "velvet\ud800lantern") is False


def test_a_hash_made_with_other_parameters_needs_rehashing(hasher: PasswordHasher) -> None:
    stronger = PasswordHasher(Argon2Parameters(memory_kib=16, iterations=2, lanes=1))
    stored = hasher.hash(PASSWORD)

    assert hasher.needs_rehash(stored) is False
    assert stronger.needs_rehash(stored) is True
    assert stronger.verify(stored, PASSWORD)  # old hashes keep working until they are replaced


@pytest.mark.parametrize("stored", ["", "plain text", "$2b$12$R9h/cIPz0gi.URNNX3kh2OPST9/PgBkqquzi.Ss7KIUgO2t0jWMUW"])
def test_a_stored_value_that_is_not_an_argon2_hash_is_reported(hasher: PasswordHasher, stored: str) -> None:
    with pytest.raises(UnreadablePasswordHash):
        hasher.verify(stored, PASSWORD)
    with pytest.raises(UnreadablePasswordHash):
        hasher.needs_rehash(stored)


def test_an_unknown_account_costs_one_real_verification_with_the_same_parameters(
    hasher: PasswordHasher, monkeypatch: pytest.MonkeyPatch
) -> None:
    verified: list[str] = []
    real_verify = argon2.PasswordHasher.verify

    def recording_verify(self: argon2.PasswordHasher, stored: str | bytes, password: str | bytes) -> bool:
        verified.append(stored if isinstance(stored, str) else stored.decode())
        return real_verify(self, stored, password)

    monkeypatch.setattr(argon2.PasswordHasher, "verify", recording_verify)

    assert hasher.verify_unknown_account(PASSWORD) is False
    assert len(verified) == 1
    assert hasher.needs_rehash(verified[0]) is False


class ThreadRecordingHasher(PasswordHasher):
    def __init__(self) -> None:
        super().__init__(SMALL)
        self.threads: list[threading.Thread] = []

    def hash(self, password: str) -> str:
        self.threads.append(threading.current_thread())
        return super().hash(password)

    def verify(self, stored_hash: str, password: str) -> bool:
        self.threads.append(threading.current_thread())
        return super().verify(stored_hash, password)

    def verify_unknown_account(self, password: str) -> bool:
        self.threads.append(threading.current_thread())
        return super().verify_unknown_account(password)


async def test_the_async_methods_hash_and_verify_in_another_thread() -> None:
    hasher = ThreadRecordingHasher()

    stored = await hasher.hash_async(PASSWORD)
    assert await hasher.verify_async(stored, PASSWORD) is True
    assert await hasher.verify_async(stored, "wrong") is False
    assert await hasher.verify_unknown_account_async(PASSWORD) is False

    assert len(hasher.threads) == 4
    assert all(thread is not threading.current_thread() for thread in hasher.threads)
