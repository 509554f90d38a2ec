"""Passkeys (WebAuthn Level 3): who the relying party is, how many an account keeps, what a use of one proves.

The ceremonies themselves (options, attestation and assertion checks, signature counters) are py_webauthn's
(``kairos.identity.passkeys``); this module holds the rules around them.

- **Relying party.** Its id is the host of identity's public URL, and the only origin accepted is that URL's
  (WebAuthn §5.1.4.1 and §7.1 step 9: a credential is scoped to the RP id, and the client data names the origin).
- **As a second factor** (after a password), a passkey proves possession of a key held by an authenticator
  (RFC 8176 ``hwk``).
- **Without a password**, it must also have verified the person (WebAuthn "user verification": a PIN or a
  biometric on the authenticator), which makes it two factors on its own (NIST SP 800-63B-4 §3.1.7, multi-factor
  cryptographic authenticators); a passkey used so records ``hwk`` and ``mfa``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

MAX_PASSKEYS_PER_ACCOUNT = 20
CHALLENGE_LIFETIME = timedelta(minutes=5)  # a ceremony's options are good this long, once
AMR_HARDWARE_KEY = "hwk"  # RFC 8176 §2
AMR_MULTI_FACTOR = "mfa"  # RFC 8176 §2


class TooManyPasskeys(Exception):
    """The account keeps as many passkeys as it may; remove one first."""


@dataclass(frozen=True)
class RelyingParty:
    id: str  # the RP id: a host name
    name: str
    origin: str  # scheme://host[:port]


def relying_party(public_url: str, *, name: str = "Kairos") -> RelyingParty:
    """The relying party identity's pages are, from the public URL they are reached at."""
    parts = urlsplit(public_url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise ValueError("the public URL must be an http(s) URL with a host")
    return RelyingParty(id=parts.hostname, name=name, origin=f"{parts.scheme}://{parts.netloc}")


def check_room_for_another(count: int) -> None:
    if count >= MAX_PASSKEYS_PER_ACCOUNT:
        raise TooManyPasskeys(f"an account keeps at most {MAX_PASSKEYS_PER_ACCOUNT} passkeys")


def sign_in_methods(*, user_verified: bool) -> tuple[str, ...]:
    """RFC 8176 methods of a sign-in by passkey alone."""
    return (AMR_HARDWARE_KEY, AMR_MULTI_FACTOR) if user_verified else (AMR_HARDWARE_KEY,)
