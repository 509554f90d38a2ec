"""A token issuer for tests: signs access tokens with its own keys and serves them as JWKS over real HTTP.

Stands in for the identity service until it issues tokens; services verify against it exactly as they
will against identity (JWKS fetched over HTTP, cached, refetched on an unknown ``kid``).
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm


class SigningKey:
    def __init__(self, algorithm: str = "RS256") -> None:
        self.kid = uuid.uuid4().hex
        self.algorithm = algorithm
        self.private: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
        if algorithm == "RS256":
            self.private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
            public = json.loads(RSAAlgorithm.to_jwk(self.private.public_key()))
        elif algorithm == "ES256":
            self.private = ec.generate_private_key(ec.SECP256R1())
            public = json.loads(ECAlgorithm.to_jwk(self.private.public_key()))
        else:
            raise ValueError(algorithm)
        self.jwk: dict[str, Any] = {**public, "kid": self.kid, "alg": algorithm, "use": "sig"}


class TestIssuer:
    """``with TestIssuer() as issuer: token = issuer.token(sub="u1", roles=["operator"])``."""

    __test__ = False  # not a pytest test class

    def __init__(self, *, audience: str = "kairos") -> None:
        self.audience = audience
        self.keys: list[SigningKey] = [SigningKey()]
        self.jwks_requests = 0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def issuer(self) -> str:
        return self.url

    @property
    def jwks_url(self) -> str:
        return f"{self.url}/jwks"

    def __enter__(self) -> TestIssuer:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def rotate(self, algorithm: str = "RS256") -> SigningKey:
        """Publish a new signing key beside the old ones; new tokens are signed with it."""
        key = SigningKey(algorithm)
        self.keys.append(key)
        return key

    def token(
        self,
        *,
        sub: str = "user-1",
        roles: Iterable[str] = (),
        permissions: Iterable[str] = (),
        scope: str = "",
        org: str | None = None,
        global_permissions: Iterable[str] = (),
        expires_in: int = 300,
        key: SigningKey | None = None,
        **overrides: Any,
    ) -> str:
        signing = key or self.keys[-1]
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": sub,
            "iat": now,
            "exp": now + expires_in,
            "jti": uuid.uuid4().hex,
            "roles": list(roles),
            "permissions": list(permissions),
            "scope": scope,
            "client_id": "kairos-tests",
        }
        if org is not None:
            claims["org"] = org
        if global_permissions:  # held through global roles, valid in every organisation (Kairos tokens' claim)
            claims["global_permissions"] = list(global_permissions)
        claims.update(overrides)
        claims = {name: value for name, value in claims.items() if value is not None}
        return jwt.encode(claims, signing.private, algorithm=signing.algorithm, headers={"kid": signing.kid})

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path != "/jwks":
                    self.send_error(404)
                    return
                issuer.jwks_requests += 1
                body = json.dumps({"keys": [key.jwk for key in issuer.keys]}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_: Any) -> None:
                pass

        return Handler
