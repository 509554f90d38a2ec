"""Who is calling, and the ``require(...)`` dependencies that routes use to say who may.

Claims carried by Kairos access tokens: ``sub``; ``client_id``; ``scope`` (space-separated, OAuth 2.0);
``roles`` and ``permissions`` (lists, effective in the organisation named by ``org``).
"""

from __future__ import annotations

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
            claims=claims,
            token=token,
        )

    def has_role(self, role: str) -> bool:
        return role in self.roles

    def has_permission(self, permission: str) -> bool:
        return permission in self.permissions

    def has_scope(self, scope: str) -> bool:
        return scope in self.scopes


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        return value.split()
    if isinstance(value, list | tuple):
        return (str(item) for item in value)
    return ()


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
) -> Callable[..., Coroutine[Any, Any, Principal]]:
    """A dependency that lets the call through only with every permission and scope, and any of the roles.

    >>> @router.post("/domains", dependencies=[Depends(require(permissions=["domains:manage"]))])
    """
    needed_permissions = frozenset(permissions)
    any_role = frozenset(roles)
    needed_scopes = frozenset(scopes)

    async def check(principal: CurrentPrincipal) -> Principal:
        missing = (needed_permissions - principal.permissions) | (needed_scopes - principal.scopes)
        if missing or (any_role and not (any_role & principal.roles)):
            raise ProblemError(403, "forbidden", "Forbidden", "The caller lacks a required permission, role or scope")
        return principal

    return check
