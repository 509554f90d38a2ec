"""What the sign-in pages share: where an attempt comes from, where to go next, cookies, refusal notices."""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from urllib.parse import urlencode

from fastapi import Request, Response

from kairos.identity import pages
from kairos.identity.domain.mfa import SignInStep
from kairos.identity.domain.throttling import RefusalReason, Refused, source_address
from kairos.identity.sessions import SESSION_COOKIE
from kairos.identity.state import IdentityState
from kairos.identity.throttle import DEVICE_COOKIE

DEVICE_COOKIE_LIFETIME = timedelta(days=180)

STEP_PATHS = {SignInStep.CODE: "/sign-in/code", SignInStep.ENROL: "/mfa/enrol"}

_DISABLED_MESSAGES = {
    RefusalReason.PASSWORD_DISABLED: "password_disabled",
    RefusalReason.CODES_DISABLED: "codes_disabled",
}


def attempt_address(request: Request, identity: IdentityState) -> str:
    """The address sign-in attempts from this request are counted against (see ``source_address``)."""
    return source_address(
        peer=request.client.host if request.client else None,
        forwarded_for=request.headers.getlist("x-forwarded-for"),
        trust_forwarded_for=identity.settings.trust_forwarded_for,
    )


def safe_next(request: Request, next_url: str) -> str:
    """Where to go after a sign-in step: a path of this very origin (the authorization endpoint, or a page of the
    web app the gateway serves here, such as ``/account``), else nowhere. Never another site (no open redirect)."""
    if not next_url.startswith("/") or next_url.startswith("//"):
        return ""  # "//host/…" is another site to a browser (a scheme-relative URL)
    if "\\" in next_url or any(ord(character) < 0x20 or ord(character) == 0x7F for character in next_url):
        return ""  # browsers read a backslash as "/" and drop tabs and newlines (WHATWG URL): no way to a host
    return next_url


def step_location(identity: IdentityState, step: SignInStep, next_url: str) -> str:
    query = f"?{urlencode({'next': next_url})}" if next_url else ""
    return f"{identity.issuer}{STEP_PATHS[step]}{query}"


def set_session_cookie(response: Response, request: Request, identity: IdentityState, value: str) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        value,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path=identity.cookie_path,
    )


def set_device_cookie(response: Response, request: Request, identity: IdentityState, value: str) -> None:
    """Marks this browser as one the account has signed in from (sent back to the sign-in form only)."""
    response.set_cookie(
        DEVICE_COOKIE,
        value,
        max_age=int(DEVICE_COOKIE_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path=identity.cookie_path,
    )


def refusal_notice(request: Request, refusal: Refused, *, now: datetime) -> tuple[str, dict[str, str]]:
    """The localised message for a throttled attempt, and a ``Retry-After`` header when the wait is known."""
    if refusal.until is None:
        return pages.text(request, _DISABLED_MESSAGES.get(refusal.reason, "password_disabled")), {}
    seconds = max(1, math.ceil((refusal.until - now).total_seconds()))
    message = pages.text(request, "throttled").format(wait=pages.duration(request, seconds))
    return message, {"Retry-After": str(seconds)}
