"""Second factors: TOTP codes (RFC 6238) within one step either side and never twice, recovery codes of 120
bits typed loosely, and the MFA policy per role that decides the step after the password."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest

from kairos.identity.domain.mfa import (
    RECOVERY_CODE_COUNT,
    SignInStep,
    accepted_step,
    is_totp_code,
    new_recovery_codes,
    new_totp_secret,
    next_step,
    provisioning_uri,
    recovery_code_digest,
    time_step,
)
from kairos.identity.domain.roles import Role, requires_mfa

NOON = datetime(2025, 3, 1, 12, 0, 10, tzinfo=UTC)
SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"
OTHER_SECRET = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
STEP = timedelta(seconds=30)


def code_at(moment: datetime) -> str:
    return pyotp.TOTP(SECRET).at(moment)


# --- TOTP ---------------------------------------------------------------------------------------------


def test_a_secret_has_160_bits_and_the_uri_names_the_account_and_issuer() -> None:
    secret = new_totp_secret()
    assert len(secret) == 32  # base32: 5 bits a character
    assert secret != new_totp_secret()
    uri = urlsplit(provisioning_uri(secret, account="doctor@example.org", issuer="Kairos"))
    assert (uri.scheme, uri.netloc) == ("otpauth", "totp")
    assert parse_qs(uri.query) == {"secret": [secret], "issuer": ["Kairos"]}
    assert "doctor%40example.org" in uri.path


def test_the_current_code_is_accepted_for_the_current_step() -> None:
    assert accepted_step(SECRET, code_at(NOON), at=NOON, last_used_step=None) == time_step(NOON)


@pytest.mark.parametrize("offset", [-1, 1])
def test_a_code_one_step_early_or_late_is_accepted(offset: int) -> None:
    code = code_at(NOON + offset * STEP)
    assert accepted_step(SECRET, code, at=NOON, last_used_step=None) == time_step(NOON) + offset


@pytest.mark.parametrize("offset", [-2, 2])
def test_a_code_two_steps_away_is_refused(offset: int) -> None:
    assert accepted_step(SECRET, code_at(NOON + offset * STEP), at=NOON, last_used_step=None) is None


def test_a_code_is_never_accepted_twice_nor_one_older_than_the_last_accepted() -> None:
    used = accepted_step(SECRET, code_at(NOON), at=NOON, last_used_step=None)

    assert accepted_step(SECRET, code_at(NOON), at=NOON, last_used_step=used) is None
    assert accepted_step(SECRET, code_at(NOON - STEP), at=NOON, last_used_step=used) is None
    assert accepted_step(SECRET, code_at(NOON + STEP), at=NOON + STEP, last_used_step=used) == time_step(NOON) + 1


@pytest.mark.parametrize("typed", ["", "12345", "1234567", "abcdef", "12 34 5x"])
def test_answers_that_are_not_six_digits_are_not_totp_codes(typed: str) -> None:
    assert not is_totp_code(typed)
    assert accepted_step(SECRET, typed, at=NOON, last_used_step=None) is None


def test_spaces_in_a_typed_code_do_not_matter() -> None:
    code = code_at(NOON)
    spaced = f" {code[:3]} {code[3:]} "
    assert is_totp_code(spaced)
    assert accepted_step(SECRET, spaced, at=NOON, last_used_step=None) == time_step(NOON)


def test_another_secrets_code_is_refused() -> None:
    assert accepted_step(SECRET, pyotp.TOTP(OTHER_SECRET).at(NOON), at=NOON, last_used_step=None) is None


def test_times_must_be_aware() -> None:
    with pytest.raises(ValueError, match="aware"):
        time_step(datetime(2025, 3, 1, 12, 0))


# --- recovery codes -------------------------------------------------------------------------------------


def test_ten_distinct_recovery_codes_of_120_bits_are_made() -> None:
    codes = new_recovery_codes()
    assert len(codes) == len(set(codes)) == RECOVERY_CODE_COUNT
    for code in codes:
        assert len(code.replace("-", "")) * 5 >= 120
        assert recovery_code_digest(code) is not None


def test_a_recovery_code_is_recognised_however_it_is_typed() -> None:
    code = new_recovery_codes()[0]
    digest = recovery_code_digest(code)
    for typed in (code.upper(), code.replace("-", ""), code.replace("-", " "), f"  {code}  "):
        assert recovery_code_digest(typed) == digest


def test_letters_that_look_like_digits_are_read_as_the_digits() -> None:
    assert recovery_code_digest("0000-1111-2222-3333-4444-5555") == recovery_code_digest(
        "oooo-iiii-2222-3333-4444-5555"
    )
    assert recovery_code_digest("1111-0000-2222-3333-4444-5555") == recovery_code_digest(
        "LLLL-OOOO-2222-3333-4444-5555"
    )


@pytest.mark.parametrize("typed", ["", "123456", "abcd-efgh", "uuuu-uuuu-uuuu-uuuu-uuuu-uuuu", "a" * 25])
def test_text_that_cannot_be_a_recovery_code_has_no_digest(typed: str) -> None:
    assert recovery_code_digest(typed) is None


# --- the MFA policy -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("roles", "required"),
    [
        ({Role.PATIENT}, False),
        ({Role.PROFESSIONAL}, True),
        ({Role.STAFF}, True),
        ({Role.DOMAIN_ADMIN}, True),
        ({Role.OPERATOR}, True),
        ({Role.PATIENT, Role.STAFF}, True),
        (set(), False),
    ],
)
def test_professionals_staff_admins_and_operators_must_use_a_second_factor(roles: set[Role], required: bool) -> None:
    assert requires_mfa(frozenset(roles)) is required


@pytest.mark.parametrize(
    ("required", "enrolled", "step"),
    [
        (False, False, None),
        (False, True, SignInStep.CODE),  # whoever set up a second factor is asked for it
        (True, True, SignInStep.CODE),
        (True, False, SignInStep.ENROL),
    ],
)
def test_the_step_after_the_password(required: bool, enrolled: bool, step: SignInStep | None) -> None:
    assert next_step(requires_mfa=required, has_totp=enrolled) is step
