"""Second factors: TOTP codes (RFC 6238) and recovery codes, and which step a sign-in needs next.

**TOTP.** HMAC-SHA-1, 6 digits, 30-second steps: RFC 6238's defaults, which every authenticator app reads
from the ``otpauth://`` URI. Secrets are 160 bits (RFC 4226 §4 R6). A code is accepted for the current step
and one step either side (RFC 6238 §5.2 allows a step of transmission delay; phones' clocks drift too), and
only for a step later than the last one accepted, so no code is ever accepted twice (§5.2: the verifier
"MUST NOT accept the second attempt of the same OTP after the successful validation").

**Recovery codes.** Ten single-use look-up secrets of 120 bits each (24 characters of Crockford's base32,
shown in groups of four). A look-up secret of at least 112 bits may be stored as a plain approved hash
(NIST SP 800-63B §5.1.2.2; shorter ones would need a salted password hash), so each is kept as a SHA-256
digest: checking one costs one hash and an indexed lookup, where argon2 would cost one slow hash for every
unused code on every attempt and add nothing against guessing 2**120 values.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime
from enum import StrEnum

import pyotp

TOTP_STEP_SECONDS = 30
TOTP_DIGITS = 6
TOTP_WINDOW = 1  # steps accepted either side of the current one
TOTP_SECRET_BYTES = 20  # 160 bits

RECOVERY_CODE_COUNT = 10
RECOVERY_CODE_LENGTH = 24  # characters of 5 bits: 120 bits
RECOVERY_ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"  # Crockford's base32: no i, l, o, u
_READ_AS = str.maketrans({"i": "1", "l": "1", "o": "0"})  # what Crockford reads a mistyped letter as

_TOTP_CODE = re.compile(r"\d{6}")


class SignInStep(StrEnum):
    """What a browser session must still do after the password before it may be used."""

    CODE = "code"  # answer with a TOTP or recovery code
    ENROL = "enrol"  # set up TOTP: the account's role requires a second factor and it has none


def next_step(*, requires_mfa: bool, has_totp: bool) -> SignInStep | None:
    """The step after a correct password; None when the password alone completes the sign-in."""
    if has_totp:
        return SignInStep.CODE
    if requires_mfa:
        return SignInStep.ENROL
    return None


# --- TOTP ----------------------------------------------------------------------------------------------


def new_totp_secret() -> str:
    """A random secret, in the base32 form authenticator apps take."""
    return pyotp.random_base32(length=TOTP_SECRET_BYTES * 8 // 5)


def provisioning_uri(secret: str, *, account: str, issuer: str) -> str:
    """The ``otpauth://totp/…`` URI a QR code carries (Google Authenticator's key URI format)."""
    return _totp(secret).provisioning_uri(name=account, issuer_name=issuer)


def time_step(at: datetime) -> int:
    """The RFC 6238 time step (T) of a moment."""
    _require_aware(at)
    return int(at.timestamp()) // TOTP_STEP_SECONDS


def is_totp_code(text: str) -> bool:
    """Whether an answer is shaped like a TOTP code (six digits, spaces allowed) rather than a recovery code."""
    return _TOTP_CODE.fullmatch(_without_spaces(text)) is not None


def accepted_step(secret: str, code: str, *, at: datetime, last_used_step: int | None) -> int | None:
    """The time step ``code`` is valid for, within the window and after ``last_used_step``; None if none is."""
    typed = _without_spaces(code)
    if _TOTP_CODE.fullmatch(typed) is None:
        return None
    totp = _totp(secret)
    current = time_step(at)
    for step in range(current - TOTP_WINDOW, current + TOTP_WINDOW + 1):
        if last_used_step is not None and step <= last_used_step:
            continue  # used already, or older than a code already used (RFC 6238 §5.2)
        if hmac.compare_digest(totp.generate_otp(step), typed):
            return step
    return None


def _totp(secret: str) -> pyotp.TOTP:
    return pyotp.TOTP(secret, digits=TOTP_DIGITS, interval=TOTP_STEP_SECONDS)


# --- recovery codes ------------------------------------------------------------------------------------------


def new_recovery_codes() -> list[str]:
    """Fresh codes, formatted for reading (``abcd-efgh-…``); show them once, keep only their digests."""
    return [
        _grouped("".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH)))
        for _ in range(RECOVERY_CODE_COUNT)
    ]


def recovery_code_digest(text: str) -> bytes | None:
    """SHA-256 of the code as typed, normalised (case, separators, Crockford's look-alike letters read as
    digits); None when the text cannot be a recovery code. A plain hash suffices for 120 bits (see above)."""
    compact = re.sub(r"[\s-]", "", text).lower().translate(_READ_AS)
    if len(compact) != RECOVERY_CODE_LENGTH or any(char not in RECOVERY_ALPHABET for char in compact):
        return None
    return hashlib.sha256(compact.encode("ascii")).digest()


def _grouped(code: str) -> str:
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def _without_spaces(text: str) -> str:
    return re.sub(r"\s", "", text)


def _require_aware(moment: datetime) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError("times must be timezone-aware")
