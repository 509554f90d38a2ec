"""A software passkey authenticator for the tests: an EC P-256 key per credential, answering WebAuthn ceremonies as
a browser and a platform authenticator together would (W3C WebAuthn Level 3 §6.1 authenticator data, §6.5.4
"none" attestation, §5.8.1 client data, §6.3.3 assertion signature over authenticator data ‖ SHA-256(client data)).
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_USER_PRESENT = 0x01
FLAG_USER_VERIFIED = 0x04
FLAG_ATTESTED_CREDENTIAL = 0x40


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def from_b64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    credential_id: bytes
    rp_id: str
    user_handle: bytes
    key: ec.EllipticCurvePrivateKey
    sign_count: int = 0

    def cose_public_key(self) -> bytes:
        numbers = self.key.public_key().public_numbers()
        # COSE_Key, EC2 (kty 2), ES256 (alg -7), P-256 (crv 1) — RFC 9053 §7.1.1
        return cbor2.dumps({1: 2, 3: -7, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


@dataclass
class SoftAuthenticator:
    origin: str
    verifies_user: bool = True
    credentials: list[SoftCredential] = field(default_factory=list)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps(
            {"type": kind, "challenge": challenge, "origin": origin or self.origin, "crossOrigin": False}
        ).encode()

    def _flags(self) -> int:
        return FLAG_USER_PRESENT | (FLAG_USER_VERIFIED if self.verifies_user else 0)

    def create(self, options: dict[str, Any], *, origin: str | None = None) -> dict[str, Any]:
        """navigator.credentials.create({publicKey: options}), as its JSON form (RegistrationResponseJSON)."""
        rp_id = options["rp"]["id"]
        credential = SoftCredential(
            credential_id=secrets.token_bytes(32),
            rp_id=rp_id,
            user_handle=from_b64url(options["user"]["id"]),
            key=ec.generate_private_key(ec.SECP256R1()),
        )
        attested = (
            bytes(16)  # AAGUID: none given
            + struct.pack(">H", len(credential.credential_id))
            + credential.credential_id
            + credential.cose_public_key()
        )
        authenticator_data = (
            hashlib.sha256(rp_id.encode()).digest()
            + bytes([self._flags() | FLAG_ATTESTED_CREDENTIAL])
            + struct.pack(">I", credential.sign_count)
            + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": authenticator_data})
        self.credentials.append(credential)
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(self._client_data("webauthn.create", options["challenge"], origin)),
                "attestationObject": b64url(attestation),
                "transports": ["internal", "hybrid"],
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {"credProps": {"rk": True}},
        }

    def get(
        self, options: dict[str, Any], *, credential: SoftCredential | None = None, origin: str | None = None
    ) -> dict[str, Any]:
        """navigator.credentials.get({publicKey: options}), as its JSON form (AuthenticationResponseJSON)."""
        allowed = {from_b64url(item["id"]) for item in options.get("allowCredentials", [])}
        chosen = credential or next(c for c in self.credentials if not allowed or c.credential_id in allowed)
        chosen.sign_count += 1
        authenticator_data = (
            hashlib.sha256(options["rpId"].encode()).digest()
            + bytes([self._flags()])
            + struct.pack(">I", chosen.sign_count)
        )
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = chosen.key.sign(
            authenticator_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(chosen.credential_id),
            "rawId": b64url(chosen.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(authenticator_data),
                "signature": b64url(signature),
                "userHandle": b64url(chosen.user_handle),
            },
            "authenticatorAttachment": "platform",
            "clientExtensionResults": {},
        }
