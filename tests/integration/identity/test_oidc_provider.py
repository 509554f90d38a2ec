"""The OpenID Connect provider, driven by a standard client (Authlib's) over real HTTP, as relying
parties will: discovery, authorization code + PKCE with a browser sign-in, ID token, userinfo, refresh
rotation with reuse detection, client credentials, introspection, revocation and logout."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata

from kairos.identity.demo import DEMO_PASSWORD
from kairos.platform.auth.tokens import JwksCache, TokenVerifier
from tests.integration.identity.conftest import (
    DOCTOR,
    PATIENT,
    REDIRECT_URI,
    Provider,
    sign_in_and_authorize,
    web_client,
)

pytestmark = pytest.mark.integration


async def test_discovery_is_valid_provider_metadata(provider: Provider) -> None:
    metadata = AuthorizationServerMetadata(provider.metadata)
    metadata.validate()
    assert provider.metadata["issuer"] == provider.issuer
    assert provider.metadata["code_challenge_methods_supported"] == ["S256"]
    assert "implicit" not in provider.metadata["grant_types_supported"]
    assert "password" not in provider.metadata["grant_types_supported"]
    assert provider.metadata["authorization_response_iss_parameter_supported"] is True


async def test_a_patient_signs_in_with_code_and_pkce_and_the_services_accept_the_token(provider: Provider) -> None:
    verifier = generate_token(64)
    nonce = generate_token(20)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, state = client.create_authorization_url(
            provider.metadata["authorization_endpoint"], code_verifier=verifier, nonce=nonce
        )
        callback = await sign_in_and_authorize(provider, browser, url, PATIENT)
        query = parse_qs(urlsplit(callback).query)
        assert callback.startswith(REDIRECT_URI)
        assert query["state"] == [state]
        assert query["iss"] == [provider.issuer]  # RFC 9207

        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )

    async with httpx.AsyncClient() as client:
        keys = jwt.PyJWKSet.from_dict((await client.get(provider.metadata["jwks_uri"])).json())
    id_token = token["id_token"]
    claims = jwt.decode(
        id_token,
        keys[jwt.get_unverified_header(id_token)["kid"]].key,
        algorithms=["RS256"],
        audience=provider.web_client_id,
        issuer=provider.issuer,
    )
    assert claims["nonce"] == nonce
    assert claims["email"] == PATIENT

    # Every service verifies access tokens the same way: the platform's verifier against the JWKS.
    verifier_of_services = TokenVerifier(
        issuer=provider.issuer, audience="kairos", jwks=JwksCache(provider.metadata["jwks_uri"])
    )
    principal = await verifier_of_services.verify(token["access_token"])
    assert principal.subject == claims["sub"]
    assert principal.roles == {"patient"}
    assert "appointments:request" in principal.permissions
    assert principal.organisation_id is None

    async with httpx.AsyncClient() as client:
        info = await client.get(
            provider.metadata["userinfo_endpoint"], headers={"Authorization": f"Bearer {token['access_token']}"}
        )
    assert info.status_code == 200
    assert info.json()["sub"] == claims["sub"]
    assert info.json()["email_verified"] is True


async def test_a_professionals_token_carries_the_organisation_and_its_permissions(provider: Provider) -> None:
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        callback = await sign_in_and_authorize(provider, browser, url, DOCTOR)
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["roles"] == ["professional"]
    assert "appointments:decide" in claims["permissions"]
    assert claims["org"]


async def test_refresh_tokens_rotate_and_a_reused_one_revokes_the_whole_family(provider: Provider) -> None:
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        callback = await sign_in_and_authorize(provider, browser, url, PATIENT)
        first = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        second = await client.refresh_token(provider.metadata["token_endpoint"], refresh_token=first["refresh_token"])
        assert second["refresh_token"] != first["refresh_token"]

        async with httpx.AsyncClient() as attacker:
            replay = await attacker.post(
                provider.metadata["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": first["refresh_token"],
                    "client_id": provider.web_client_id,
                },
            )
            assert replay.status_code == 400
            assert replay.json()["error"] == "invalid_grant"
            # The legitimate holder's newer token died with the family.
            after = await attacker.post(
                provider.metadata["token_endpoint"],
                data={
                    "grant_type": "refresh_token",
                    "refresh_token": second["refresh_token"],
                    "client_id": provider.web_client_id,
                },
            )
            assert after.status_code == 400
            introspected = await attacker.post(
                provider.metadata["introspection_endpoint"],
                data={"token": second["access_token"]},
                auth=(provider.service_client_id, provider.service_client_secret),
            )
            assert introspected.json() == {"active": False}


async def test_a_service_gets_a_token_with_client_credentials_and_introspection_and_revocation_agree(
    provider: Provider,
) -> None:
    async with AsyncOAuth2Client(
        client_id=provider.service_client_id, client_secret=provider.service_client_secret, scope="system/*.read"
    ) as service:
        token = await service.fetch_token(provider.metadata["token_endpoint"], grant_type="client_credentials")
    assert token["scope"] == "system/*.read"
    assert "refresh_token" not in token
    claims = jwt.decode(token["access_token"], options={"verify_signature": False})
    assert claims["sub"] == provider.service_client_id

    auth = (provider.service_client_id, provider.service_client_secret)
    async with httpx.AsyncClient() as client:
        active = await client.post(
            provider.metadata["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth
        )
        assert active.json()["active"] is True
        assert active.json()["scope"] == "system/*.read"
        revoked = await client.post(
            provider.metadata["revocation_endpoint"], data={"token": token["access_token"]}, auth=auth
        )
        assert revoked.status_code == 200
        after = await client.post(
            provider.metadata["introspection_endpoint"], data={"token": token["access_token"]}, auth=auth
        )
        assert after.json() == {"active": False}


@pytest.mark.parametrize(
    ("change", "expected_error"),
    [
        ({"code_challenge": None, "code_challenge_method": None}, "invalid_request"),
        ({"code_challenge_method": "plain"}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
    ],
)
async def test_authorization_requests_without_s256_pkce_or_for_implicit_are_refused(
    provider: Provider, change: dict[str, str | None], expected_error: str
) -> None:
    params = {
        "response_type": "code",
        "client_id": provider.web_client_id,
        "redirect_uri": REDIRECT_URI,
        "scope": "openid",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }
    params.update(change)  # type: ignore[arg-type]
    async with httpx.AsyncClient() as browser:
        response = await browser.get(
            provider.metadata["authorization_endpoint"], params={k: v for k, v in params.items() if v is not None}
        )
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == [expected_error]
    assert query["state"] == ["s1"]
    assert query["iss"] == [provider.issuer]


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "http://127.0.0.1:9/callback/",
        "http://127.0.0.1:9/callback?x=1",
        "http://127.0.0.1:9/Callback",
        "https://127.0.0.1:9/callback",
        "http://127.0.0.1:9/callback#frag",
        "http://evil.example/callback",
    ],
)
async def test_a_redirect_uri_that_is_not_exactly_registered_is_never_redirected_to(
    provider: Provider, redirect_uri: str
) -> None:
    async with httpx.AsyncClient() as browser:
        response = await browser.get(
            provider.metadata["authorization_endpoint"],
            params={
                "response_type": "code",
                "client_id": provider.web_client_id,
                "redirect_uri": redirect_uri,
                "scope": "openid",
                "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
                "code_challenge_method": "S256",
            },
        )
    assert response.status_code == 400
    assert "location" not in response.headers


async def test_a_code_is_single_use_and_bound_to_its_verifier(provider: Provider) -> None:
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        callback = await sign_in_and_authorize(provider, browser, url, PATIENT)
    code = parse_qs(urlsplit(callback).query)["code"][0]
    exchange = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "client_id": provider.web_client_id,
    }
    async with httpx.AsyncClient() as client:
        wrong = await client.post(
            provider.metadata["token_endpoint"], data={**exchange, "code_verifier": generate_token(64)}
        )
        assert wrong.status_code == 400
        assert wrong.json()["error"] == "invalid_grant"
        first = await client.post(provider.metadata["token_endpoint"], data={**exchange, "code_verifier": verifier})
        assert first.status_code == 200
        again = await client.post(provider.metadata["token_endpoint"], data={**exchange, "code_verifier": verifier})
        assert again.status_code == 400


async def test_a_wrong_password_is_refused_without_saying_which_part_was_wrong(provider: Provider) -> None:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{provider.issuer}/sign-in")
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
        assert csrf is not None
        wrong_password = await browser.post(
            f"{provider.issuer}/sign-in",
            data={"email": PATIENT, "password": "not the password at all", "csrf_token": csrf.group(1)},
        )
        unknown_user = await browser.post(
            f"{provider.issuer}/sign-in",
            data={"email": "nobody@demo.kairos.test", "password": DEMO_PASSWORD, "csrf_token": csrf.group(1)},
        )
    assert wrong_password.status_code == unknown_user.status_code == 401
    assert "kairos_session" not in wrong_password.cookies
    message = re.search(r'role="alert">([^<]+)<', wrong_password.text)
    assert message is not None
    assert message.group(1) in unknown_user.text


async def test_a_sign_in_without_the_csrf_token_is_refused(provider: Provider) -> None:
    async with httpx.AsyncClient() as browser:
        await browser.get(f"{provider.issuer}/sign-in")
        forged = await browser.post(
            f"{provider.issuer}/sign-in", data={"email": PATIENT, "password": DEMO_PASSWORD, "csrf_token": "forged"}
        )
    assert forged.status_code == 403
    assert "kairos_session" not in forged.cookies


async def test_the_sign_in_page_speaks_french_when_asked(provider: Provider) -> None:
    async with httpx.AsyncClient() as browser:
        page = await browser.get(f"{provider.issuer}/sign-in", headers={"Accept-Language": "fr-FR,fr;q=0.9"})
    assert '<html lang="fr">' in page.text
    assert "Mot de passe" in page.text


async def test_logout_ends_the_session_and_returns_to_a_registered_uri_only(provider: Provider) -> None:
    verifier = generate_token(64)
    async with web_client(provider) as client, httpx.AsyncClient() as browser:
        url, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        callback = await sign_in_and_authorize(provider, browser, url, PATIENT)
        token = await client.fetch_token(
            provider.metadata["token_endpoint"], authorization_response=callback, code_verifier=verifier
        )
        out = await browser.get(
            provider.metadata["end_session_endpoint"],
            params={
                "id_token_hint": token["id_token"],
                "post_logout_redirect_uri": "http://127.0.0.1:9/signed-out",
                "state": "bye",
            },
        )
        assert out.status_code == 303
        assert out.headers["location"] == "http://127.0.0.1:9/signed-out?state=bye"
        # Signed out: authorizing again asks for the password.
        again, _ = client.create_authorization_url(provider.metadata["authorization_endpoint"], code_verifier=verifier)
        assert (await browser.get(again)).status_code == 303
        refreshed = await browser.post(
            provider.metadata["token_endpoint"],
            data={
                "grant_type": "refresh_token",
                "refresh_token": token["refresh_token"],
                "client_id": provider.web_client_id,
            },
        )
        assert refreshed.status_code == 400, "signing out revokes the session's refresh tokens"

        elsewhere = await browser.get(
            provider.metadata["end_session_endpoint"],
            params={"id_token_hint": token["id_token"], "post_logout_redirect_uri": "http://evil.example/"},
        )
        assert elsewhere.status_code == 200
        assert "location" not in elsewhere.headers
