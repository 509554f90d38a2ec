"""The consent page a third-party application's authorization request shows (``kairos.identity.grants``)."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from fastapi import Request, Response

from kairos.identity import pages
from kairos.identity.consent_texts import describe_scope
from kairos.identity.domain.client_grants import scope_meaning

CSRF_COOKIE = "kairos_csrf"  # the sign-in pages' double-submit cookie (``kairos.identity.api``)


@dataclass(frozen=True)
class ConsentPrompt:
    """What the authorization endpoint found to ask: which application, which scopes, and the page's ticket."""

    ticket: str
    client_name: str
    scopes: tuple[str, ...]
    display_name: str


def render_consent_page(request: Request, prompt: ConsentPrompt, *, cookie_path: str) -> Response:
    token = request.cookies.get(CSRF_COOKIE) or secrets.token_urlsafe(32)
    lang = pages.language(request)
    response = pages.render(
        request,
        "consent.html",
        {
            "client_name": prompt.client_name,
            "scope_lines": [describe_scope(scope_meaning(scope), lang) for scope in prompt.scopes],
            "display_name": prompt.display_name,
            "ticket": prompt.ticket,
            "csrf_token": token,
        },
    )
    response.set_cookie(CSRF_COOKIE, token, httponly=True, samesite="strict", path=cookie_path)
    return response
