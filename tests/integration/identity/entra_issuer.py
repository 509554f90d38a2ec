"""A second OpenID provider for the tests, behaving as Microsoft Entra ID's v2.0 endpoints do, on a real local port.

What it copies from Entra: discovery under ``/{tenant}/v2.0/.well-known/openid-configuration`` whose ``issuer``
is the tenant's (``…/{tid}/v2.0``) or, for ``organizations`` and ``common``, the template ``…/{tenantid}/v2.0``;
keys at ``/discovery/v2.0/keys``; ``/{tenant}/oauth2/v2.0/authorize`` and ``/token``; ID tokens (RS256) carrying
``tid``, ``oid``, a pairwise ``sub``, ``email``, ``preferred_username``, ``name``, ``nonce`` and ``amr``, and
``iss`` naming the person's own tenant. The authorization endpoint consents at once for ``person`` (whoever the
test says is signed in at the provider). ``tamper`` changes claims of the next ID tokens, to play a dishonest or
misconfigured provider.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import secrets
import socket
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from joserfc import jwt
from joserfc.jwk import RSAKey
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from kairos.platform.aio import cancel_and_wait
from kairos.platform.serve import serve

MULTI_TENANT = ("organizations", "common")


@dataclass
class EntraPerson:
    tenant_id: str
    object_id: str
    email: str | None
    name: str = "Test Person"
    amr: tuple[str, ...] = ("pwd",)

    @property
    def preferred_username(self) -> str | None:
        return self.email


@dataclass
class EntraIssuer:
    base: str
    client_id: str
    client_secret: str
    redirect_uri: str
    person: EntraPerson | None = None
    tamper: dict[str, Any] = field(default_factory=dict)
    key: RSAKey = field(default_factory=lambda: RSAKey.generate_key(2048, parameters={"kid": secrets.token_hex(8)}))
    forged_key: RSAKey | None = None  # signs the next ID tokens instead, under the published key's kid
    _codes: dict[str, dict[str, Any]] = field(default_factory=dict)

    def authority_issuer(self, tenant: str) -> str:
        return f"{self.base}/{tenant}/v2.0"

    # --- endpoints -------------------------------------------------------------------------------------------

    async def discovery(self, request: Request) -> Response:
        tenant = request.path_params["tenant"]
        issuer_tenant = "{tenantid}" if tenant in MULTI_TENANT else tenant
        return JSONResponse(
            {
                "issuer": f"{self.base}/{issuer_tenant}/v2.0",
                "authorization_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/authorize",
                "token_endpoint": f"{self.base}/{tenant}/oauth2/v2.0/token",
                "jwks_uri": f"{self.base}/discovery/v2.0/keys",
                "response_types_supported": ["code", "id_token", "code id_token"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nonce", "tid", "oid", "email", "name"],
                "tenant_region_scope": "EU",
            }
        )

    async def keys(self, request: Request) -> Response:
        return JSONResponse({"keys": [self.key.as_dict(private=False, use="sig", alg="RS256")]})

    async def authorize(self, request: Request) -> Response:
        query = request.query_params
        if query.get("client_id") != self.client_id or query.get("redirect_uri") != self.redirect_uri:
            return JSONResponse({"error": "invalid_request"}, status_code=400)
        if query.get("code_challenge_method") != "S256" or not query.get("code_challenge"):
            return JSONResponse({"error": "invalid_request", "error_description": "PKCE required"}, status_code=400)
        if self.person is None:
            denied = urlencode({"error": "access_denied", "state": query.get("state", "")})
            return RedirectResponse(f"{self.redirect_uri}?{denied}", 302)
        code = secrets.token_urlsafe(24)
        self._codes[code] = {
            "nonce": query.get("nonce"),
            "challenge": query["code_challenge"],
            "scope": query.get("scope", ""),
            "person": self.person,
        }
        return RedirectResponse(f"{self.redirect_uri}?{urlencode({'code': code, 'state': query['state']})}", 302)

    async def token(self, request: Request) -> Response:
        form = await request.form()
        if form.get("client_id") != self.client_id or form.get("client_secret") != self.client_secret:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        grant = self._codes.pop(str(form.get("code", "")), None)
        if grant is None or form.get("grant_type") != "authorization_code":
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        verifier = str(form.get("code_verifier", ""))
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
        if challenge != grant["challenge"] or form.get("redirect_uri") != self.redirect_uri:
            return JSONResponse({"error": "invalid_grant"}, status_code=400)
        person: EntraPerson = grant["person"]
        now = int(time.time())
        claims: dict[str, Any] = {
            "ver": "2.0",
            "iss": self.authority_issuer(person.tenant_id),
            "aud": self.client_id,
            "sub": hashlib.sha256(f"{person.object_id}:{self.client_id}".encode()).hexdigest()[:43],
            "iat": now,
            "nbf": now,
            "exp": now + 3600,
            "nonce": grant["nonce"],
            "tid": person.tenant_id,
            "oid": person.object_id,
            "name": person.name,
            "amr": list(person.amr),
        }
        if person.email:
            claims["email"] = person.email
            claims["preferred_username"] = person.preferred_username
        claims.update(self.tamper)
        id_token = jwt.encode({"alg": "RS256", "kid": self.key.kid}, claims, self.forged_key or self.key)
        return JSONResponse(
            {
                "token_type": "Bearer",
                "scope": grant["scope"],
                "expires_in": 3600,
                "access_token": secrets.token_urlsafe(32),
                "id_token": id_token,
            },
            headers={"Cache-Control": "no-store"},
        )

    def app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/discovery/v2.0/keys", self.keys),
                Route("/{tenant}/v2.0/.well-known/openid-configuration", self.discovery),
                Route("/{tenant}/oauth2/v2.0/authorize", self.authorize),
                Route("/{tenant}/oauth2/v2.0/token", self.token, methods=["POST"]),
            ]
        )


def new_tenant() -> str:
    return str(uuid.uuid4())


@contextlib.asynccontextmanager
async def running_entra(*, redirect_uri: str) -> AsyncIterator[EntraIssuer]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    issuer = EntraIssuer(
        base=f"http://127.0.0.1:{port}",
        client_id=str(uuid.uuid4()),
        client_secret=secrets.token_urlsafe(24),
        redirect_uri=redirect_uri,
    )
    stop = asyncio.Event()
    serving = asyncio.create_task(serve(issuer.app(), host="127.0.0.1", port=port, stop=stop))
    for _ in range(100):
        try:
            _reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.close()
            break
        except OSError:
            await asyncio.sleep(0.05)
    try:
        yield issuer
    finally:
        stop.set()
        await serving
        await cancel_and_wait([serving])
