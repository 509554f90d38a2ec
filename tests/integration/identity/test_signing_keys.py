"""Signing-key rotation as an operator does it (``kairos keys rotate-signing``), seen by services that verify
tokens against the JWKS: both keys published, new tokens on the new key, tokens in flight still valid, the
retired key gone once its tokens have expired; and the private keys encrypted at rest."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest
from sqlalchemy import select, update

from kairos.identity.keys import PUBLISHED_AFTER_RETIREMENT
from kairos.identity.tables import signing_keys
from kairos.platform.auth.tokens import InvalidToken, JwksCache, TokenVerifier
from kairos.platform.crypto import DecryptionFailed
from tests.conftest import POSTGRES_URL, TEST_KEYRING
from tests.integration.identity.conftest import PATIENT, Provider, bearer, sign_in

pytestmark = pytest.mark.integration


def services_verifier(provider: Provider, *, min_refresh_interval: float = 10.0) -> TokenVerifier:
    """How every other service verifies identity's tokens: the platform's verifier, JWKS over HTTP."""
    jwks = JwksCache(provider.metadata["jwks_uri"], min_refresh_interval=min_refresh_interval)
    return TokenVerifier(issuer=provider.issuer, audience="kairos", jwks=jwks)


async def published_kids(provider: Provider) -> set[str]:
    async with httpx.AsyncClient() as client:
        return {key["kid"] for key in (await client.get(provider.metadata["jwks_uri"])).json()["keys"]}


def kid_of(token: str) -> str:
    kid: str = jwt.get_unverified_header(token)["kid"]
    return kid


def rotate_signing_key(provider: Provider) -> dict[str, object]:
    """The operator's command, run against the provider's database."""
    environment = {
        **os.environ,
        "KAIROS_DATABASE_URL": POSTGRES_URL,
        "KAIROS_DATABASE_PREFIX": provider.runtime.settings.database_prefix,
        "KAIROS_ENCRYPTION_KEYS": TEST_KEYRING.to_json(),
        "KAIROS_LOG_LEVEL": "WARNING",
    }
    done = subprocess.run(
        [sys.executable, "-m", "kairos", "keys", "rotate-signing"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    output: dict[str, object] = json.loads(done.stdout)
    return output


async def test_a_rotation_publishes_both_keys_signs_with_the_new_and_keeps_tokens_in_flight_valid(
    provider: Provider,
) -> None:
    identity = provider.identity
    before = await sign_in(provider, PATIENT)
    old_kid = kid_of(before.access_token)
    # A service that fetched the JWKS before the rotation (refetching on an unknown kid at once, not after 10 s).
    already_running = services_verifier(provider, min_refresh_interval=0.0)
    assert (await already_running.verify(before.access_token)).subject == str(before.user_id)

    rotated = rotate_signing_key(provider)
    new_kid = rotated["kid"]
    assert isinstance(new_kid, str)
    assert new_kid != old_kid
    assert rotated["published_kids"] == [old_kid, new_kid]
    await identity.reload_keys()  # what every instance does within KEY_RELOAD_SECONDS

    assert await published_kids(provider) == {old_kid, new_kid}
    after = await sign_in(provider, PATIENT)
    assert kid_of(after.access_token) == new_kid
    assert kid_of(after.id_token) == new_kid

    # A token signed before the rotation still verifies, at a service and at identity itself.
    assert (await services_verifier(provider).verify(before.access_token)).subject == str(before.user_id)
    assert (await already_running.verify(before.access_token)).subject == str(before.user_id)
    # A service that cached the old key set fetches the new key on first sight of its kid.
    assert (await already_running.verify(after.access_token)).subject == str(after.user_id)
    async with httpx.AsyncClient() as client:
        info = await client.get(provider.metadata["userinfo_endpoint"], headers=bearer(before.access_token))
    assert info.status_code == 200

    # Once the retired key's tokens have all expired, it is no longer published, and its tokens are refused.
    async with provider.runtime.unit_of_work() as uow:
        await uow.session.execute(
            update(signing_keys)
            .where(signing_keys.c.kid == old_kid)
            .values(retired_at=datetime.now(UTC) - PUBLISHED_AFTER_RETIREMENT - timedelta(minutes=1))
        )
        await uow.commit()
    await identity.reload_keys()

    assert await published_kids(provider) == {new_kid}
    with pytest.raises(InvalidToken):
        await services_verifier(provider).verify(before.access_token)
    assert (await services_verifier(provider).verify(after.access_token)).subject == str(after.user_id)
    async with httpx.AsyncClient() as client:
        info = await client.get(provider.metadata["userinfo_endpoint"], headers=bearer(before.access_token))
    assert info.status_code == 401


async def test_private_keys_are_encrypted_at_rest(provider: Provider) -> None:
    identity = provider.identity
    in_memory = identity.keys.current
    pem_body = b"".join(line for line in in_memory.private_pem.splitlines() if not line.startswith(b"-----"))

    async with provider.runtime.sessionmaker() as session:
        rows = (await session.execute(select(signing_keys.c.kid, signing_keys.c.private_key))).all()

    assert rows
    for kid, stored in rows:
        assert b"PRIVATE KEY" not in stored
        assert b"-----BEGIN" not in stored
        for start in range(0, len(pem_body) - 64, 64):
            assert pem_body[start : start + 64] not in stored  # not even a line of the key's base64
        opened = await provider.runtime.cipher.decrypt(
            stored, context=f"identity.signing_keys.private_key:{kid}".encode()
        )
        assert opened.startswith(b"-----BEGIN PRIVATE KEY-----")
        if kid == in_memory.kid:
            assert opened == in_memory.private_pem
    # Sealed to its row: the key of one kid does not open as another's.
    if len(rows) > 1:
        with pytest.raises(DecryptionFailed):
            await provider.runtime.cipher.decrypt(
                rows[0][1], context=f"identity.signing_keys.private_key:{rows[1][0]}".encode()
            )
