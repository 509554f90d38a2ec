"""Verify JWT access tokens against the issuer's JWKS.

The key set is cached and fetched again when a token names an unknown ``kid`` (key rotation), at most
once per ``min_refresh_interval``, so a flood of forged ``kid``s cannot hammer the issuer. Issuer,
audience, expiry and an allow-list of algorithms are checked; ``alg=none`` and HMAC can never pass.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

import httpx
import jwt
import structlog
from jwt import PyJWK, PyJWKSet

from kairos.platform.auth.principal import Principal

log = structlog.get_logger(__name__)

ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not ours."""


class JwksUnavailable(Exception):
    """The issuer's key set could not be fetched."""


class JwksCache:
    def __init__(
        self,
        url: str,
        *,
        client: httpx.AsyncClient | None = None,
        max_age: float = 300.0,
        min_refresh_interval: float = 10.0,
    ) -> None:
        self._url = url
        self._client = client or httpx.AsyncClient(timeout=5.0)
        self._max_age = max_age
        self._min_refresh_interval = min_refresh_interval
        self._keys: dict[str, PyJWK] = {}
        self._fetched_at = float("-inf")
        self._failed_at = float("-inf")
        self._lock = asyncio.Lock()

    async def key(self, kid: str) -> PyJWK:
        if time.monotonic() - self._fetched_at > self._max_age:
            await self._refresh(force=True)
        found = self._keys.get(kid)
        if found is None:
            await self._refresh(force=False)
            found = self._keys.get(kid)
        if found is None:
            raise InvalidToken("unknown signing key")
        return found

    async def _refresh(self, *, force: bool) -> None:
        async with self._lock:
            now = time.monotonic()
            since = now - self._fetched_at
            if since < self._min_refresh_interval or (force and since <= self._max_age):
                return
            if now - self._failed_at < self._min_refresh_interval:
                # The issuer failed a moment ago: answer from what we have (or refuse) without asking again.
                if not self._keys:
                    raise JwksUnavailable(self._url)
                return
            try:
                response = await self._client.get(self._url)
                response.raise_for_status()
                key_set = PyJWKSet.from_dict(response.json())
            except (httpx.HTTPError, ValueError, jwt.PyJWKSetError) as error:
                log.warning("auth.jwks_fetch_failed", url=self._url, error=repr(error))
                self._failed_at = time.monotonic()
                if not self._keys:
                    raise JwksUnavailable(self._url) from error
                return
            self._keys = {key.key_id: key for key in key_set.keys if key.key_id}
            self._fetched_at = time.monotonic()

    async def aclose(self) -> None:
        await self._client.aclose()


class TokenVerifier:
    def __init__(
        self,
        *,
        issuer: str,
        audience: str,
        jwks: JwksCache,
        algorithms: Sequence[str] = ("RS256", "ES256", "EdDSA"),
        leeway: float = 30.0,
    ) -> None:
        unsafe = set(algorithms) - ASYMMETRIC_ALGORITHMS
        if unsafe:
            raise ValueError(f"only asymmetric algorithms may verify access tokens, not {sorted(unsafe)}")
        self.issuer = issuer
        self.audience = audience
        self._jwks = jwks
        self._algorithms = list(algorithms)
        self._leeway = leeway

    async def verify(self, token: str) -> Principal:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise InvalidToken("malformed token") from error
        algorithm = header.get("alg")
        if algorithm not in self._algorithms:
            raise InvalidToken("algorithm not allowed")
        kid = header.get("kid")
        if not isinstance(kid, str):
            raise InvalidToken("token names no signing key")
        key = await self._jwks.key(kid)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[algorithm],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self._leeway,
                options={"require": ["exp", "iat", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError as error:
            raise InvalidToken(str(error)) from error
        return Principal.from_claims(claims, token=token)
