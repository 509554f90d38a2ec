"""Third-party applications' access, under ``/api/v1/identity``: the consent page's answer
(``POST /authorize/consent``; the page itself is shown by ``/authorize``) and the person's own grants
(``/me/grants``): list, revoke."""

from __future__ import annotations

import secrets
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

from authlib.oauth2 import OAuth2Error
from fastapi import APIRouter, Depends, Form, Request, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session
from starlette.datastructures import Headers

from kairos.identity import grants, pages
from kairos.identity.api import CSRF_COOKIE, State, _response, _run
from kairos.identity.domain.client_grants import ClientGrant, NoGrantToRevoke
from kairos.identity.grants import ConsentNotPending, GrantListing
from kairos.identity.oauth import HttpRequest, KairosRequest, load_account
from kairos.identity.sessions import Sessions
from kairos.identity.sessions_api import IdentityCaller, Me
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http import problems
from kairos.platform.http.pagination import Page, PageRequest, page_request
from kairos.platform.runtime import unit_of_work

router = APIRouter(tags=["grants"])

problems.register(NoGrantToRevoke, status=404, slug="not-found", title="Not Found")

Uow = Annotated[UnitOfWork, Depends(unit_of_work)]
PageDep = Annotated[PageRequest, Depends(page_request)]


class ClientGrantRead(BaseModel):
    client_id: str
    client_name: str | None = None
    scopes: list[str]
    granted_at: datetime
    revoked_at: datetime | None = None


def grant_read(grant: ClientGrant, client_name: str | None = None) -> ClientGrantRead:
    return ClientGrantRead(
        client_id=grant.client_id,
        client_name=client_name,
        scopes=sorted(grant.scopes),
        granted_at=grant.granted_at,
        revoked_at=grant.revoked_at,
    )


@router.post("/authorize/consent", response_model=None)
async def answer_consent(
    request: Request,
    identity: State,
    decision: Annotated[Literal["allow", "deny"], Form()],
    ticket: Annotated[str, Form(max_length=100)] = "",
    csrf_token: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    """The consent page's answer: allow (the grant is remembered, the code issued) or deny (``access_denied``)."""
    expected = request.cookies.get(CSRF_COOKIE)
    if not expected or not csrf_token or not secrets.compare_digest(expected, csrf_token):
        return pages.render(request, "error.html", {"message": pages.text(request, "csrf_failed")}, status=403)
    browser = await Sessions(identity.runtime, identity.hasher).current(request)
    if browser is None or browser.pending_step is not None:
        return pages.render(request, "error.html", {"message": pages.text(request, "consent_expired")}, status=403)
    allow = decision == "allow"
    try:
        pending = await grants.answer_consent(
            uow=identity.runtime.unit_of_work(), ticket=ticket, session_id=browser.id, allow=allow
        )
    except ConsentNotPending:
        return pages.render(request, "error.html", {"message": pages.text(request, "consent_expired")}, status=400)
    # The code is issued for the authorization request stored with the ticket, never for anything the form says.
    http = HttpRequest(
        method="GET",
        url=f"{identity.issuer}/authorize?{pending.authorization_query}",
        headers=Headers(raw=request.headers.raw),
        query=parse_qsl(pending.authorization_query, keep_blank_values=True),
    )

    def respond(session: Session) -> tuple[str, Any]:
        oauth_request = KairosRequest(http, session)
        account = load_account(session, pending.user_id) if allow else None
        try:
            grant = identity.server.get_consent_grant(oauth_request, end_user=account)
        except OAuth2Error as error:
            if error.redirect_uri:
                return "response", identity.server.authorization_error(oauth_request, error)
            return "error", error
        if allow and account is None:  # disabled since the page was shown
            return "expired", None
        if account is not None:
            oauth_request.user = account
            oauth_request.session_id = browser.id
            oauth_request.auth_time = browser.created_at
            oauth_request.amr = list(browser.methods)
        # RFC 6749 §4.1.2.1: no user granted it, so Authlib answers access_denied (with state, and iss: RFC 9207).
        return "response", identity.server.create_authorization_response(oauth_request, grant_user=account, grant=grant)

    outcome, result = await _run(identity, respond)
    if outcome == "error":
        return pages.render(request, "error.html", {"message": result.description or result.error}, status=400)
    if outcome == "expired":
        return pages.render(request, "error.html", {"message": pages.text(request, "consent_expired")}, status=400)
    return _response(result)


@router.get("/me/grants")
async def list_my_grants(me: Me, caller: IdentityCaller, uow: Uow, page: PageDep) -> Page[ClientGrantRead]:
    """The applications you allow to use your account, and what each may do."""
    listings, next_cursor = await grants.list_grants(uow=uow, by=caller, user_id=me.id, page=page)
    return Page(items=[_listing_read(listing) for listing in listings], next_cursor=next_cursor)


@router.delete("/me/grants/{client_id}")
async def revoke_my_grant(client_id: str, me: Me, caller: IdentityCaller, uow: Uow) -> ClientGrantRead:
    """Take back an application's access: the grant ends and the application's tokens for you are revoked."""
    return grant_read(await grants.revoke_grant(uow=uow, by=caller, user_id=me.id, client_id=client_id))


def _listing_read(listing: GrantListing) -> ClientGrantRead:
    return grant_read(listing.grant, listing.client_name)
