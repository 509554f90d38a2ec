"""Who is calling, and the ``require(...)`` dependencies that routes use to say who may.

Claims carried by Kairos access tokens: ``sub``; ``client_id``; ``scope`` (space-separated, OAuth 2.0);
``org``, the one organisation the session acts for; ``roles`` and ``permissions`` (lists: those held globally
and those held in ``org``, nowhere else); ``global_permissions``, the part of ``permissions`` held through global
roles (operator, patient), which apply in every organisation.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any

from fastapi import Depends, Request

from kairos.platform.http.problems import ProblemError

BEARER_CHALLENGE = 'Bearer realm="kairos"'


@dataclass(frozen=True)
class Principal:
    subject: str
    client_id: str | None = None
    organisation_id: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    permissions: frozenset[str] = field(default_factory=frozenset)
    scopes: frozenset[str] = field(default_factory=frozenset)
    global_permissions: frozenset[str] = field(default_factory=frozenset)
    claims: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    token: str = field(default="", repr=False, compare=False)

    @classmethod
    def from_claims(cls, claims: dict[str, Any], *, token: str = "") -> Principal:
        return cls(
            subject=str(claims["sub"]),
            client_id=_str_or_none(claims.get("client_id") or claims.get("azp")),
            organisation_id=_str_or_none(claims.get("org")),
            roles=frozenset(_strings(claims.get("roles"))),
            permissions=frozenset(_strings(claims.get("permissions"))),
            scopes=frozenset(str(claims.get("scope", "")).split()),
            # Only what ``permissions`` also grants: a forged-looking extra claim widens nothing.
            global_permissions=frozenset(_strings(claims.get("global_permissions")))
            & frozenset(_strings(claims.get("permissions"))),
            claims=claims,
            token=token,
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes

    def acts_for(self, organisation_id: object) -> bool:
        """Whether the token was issued for the session acting in this organisation (its ``org``)."""
        return self.organisation_id is not None and _same_id(self.organisation_id, str(organisation_id))

    def may(self, permission: str, *, organisation_id: object) -> bool:
        """Whether the caller holds ``permission`` in this organisation: through a global role anywhere, through
        a role in an organisation only in the one the token acts for."""
        if permission in self.global_permissions:
            return True
        return permission in self.permissions and self.acts_for(organisation_id)


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return (str(item) for item in value)
    return ()


def _same_id(held: str, named: str) -> bool:
    # Organisation ids are UUIDs; a path may spell one in capitals or without hyphens.
    try:
        return uuid.UUID(held) == uuid.UUID(named)
    except ValueError:
        return held == named


def _str_or_none(value: Any) -> str | None:
    return None if value is None else str(value)


def unauthenticated(detail: str) -> ProblemError:
    return ProblemError(
        401,
        "unauthenticated",
        "Unauthorized",
        detail,
        headers={"WWW-Authenticate": f'{BEARER_CHALLENGE}, error="invalid_token"'},
    )


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthenticated("Authorization must be a Bearer token")
    return token.strip()


async def optional_principal(request: Request) -> Principal | None:
    """The verified caller, or None when the request carries no token; a bad token is always refused."""
    from kairos.platform.auth.tokens import InvalidToken, JwksUnavailable

    token = bearer_token(request)
    if token is None:
        return None
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal) and cached.token == token:
        return cached
    try:
        principal = await request.app.state.token_verifier.verify(token)
    except InvalidToken as error:
        raise unauthenticated(str(error)) from error
    except JwksUnavailable as error:
        raise ProblemError(503, "auth-unavailable", "Service Unavailable", "Token keys are unavailable") from error
    request.state.principal = principal
    return principal  # type: ignore[no-any-return]


async def current_principal(principal: Annotated[Principal | None, Depends(optional_principal)]) -> Principal:
    if principal is None:
        raise ProblemError(
            401,
            "unauthenticated",
            "Unauthorized",
            "This endpoint needs an access token",
            headers={"WWW-Authenticate": BEARER_CHALLENGE},
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]
OptionalPrincipal = Annotated[Principal | None, Depends(optional_principal)]


def require(
    *,
    permissions: Iterable[str] = (),
    roles: Iterable[str] = (),
    scopes: Iterable[str] = (),
    organisation_param: str | None = None,
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets the call through only with every permission and scope, and any of the roles.

    With ``organisation_param`` (a path or query parameter naming an organisation), the permissions must be held
    in that organisation: through a global role, or a role in the organisation the token acts for (``org``); a
    token for another organisation, or a missing or malformed parameter, is 403.

    >>> @router.post("/domains", dependencies=[Depends(require(permissions=["domains:manage"]))])
    >>> @router.get("/organisations/{organisation_id}/x", dependencies=[Depends(require(
    ...     permissions=["x:read"], organisation_param="organisation_id"))])
    """
    needed_permissions = frozenset(permissions)
    any_role = frozenset(roles)
    needed_scopes = frozenset(scopes)

    def refuse_unless_held(principal: Principal, organisation: str | None) -> Principal:
        missing = (needed_permissions - principal.permissions) | (needed_scopes - principal.scopes)
        if not missing and organisation_param is not None:
            missing = frozenset(
                permission
                for permission in needed_permissions
                if not organisation or not principal.may(permission, organisation_id=organisation)
            )
            if not organisation:
                missing |= {organisation_param}
        if missing or (any_role and not (any_role & principal.roles)):
            raise ProblemError(403, "forbidden", "Forbidden", "The caller lacks a required permission, role or scope")
        return principal

    async def check(principal: CurrentPrincipal) -> Principal:
        return refuse_unless_held(principal, None)

    if organisation_param is None:
        return check

    async def check_in_organisation(request: Request, principal: CurrentPrincipal) -> Principal:
        named = request.path_params.get(organisation_param) or request.query_params.get(organisation_param)
        return refuse_unless_held(principal, named)

    return check_in_organisation
