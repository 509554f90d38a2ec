"""Every route of every service refuses a caller without a valid token (OWASP API2), except the few that are
public by design and listed here with the reason.

The routes are read from each service's own OpenAPI document, so an endpoint added later is checked without
anyone remembering to: it must either authenticate or be added below, in review. (Routes hidden from the
document are the identity's sign-in pages, public by nature.) The calls never
reach a database: a missing or forged token is refused before any work (and before the body is validated).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import httpx
import pytest

from kairos.platform.config import SERVICES, Settings, TransportKind
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.platform.testing.issuer import TestIssuer
from kairos.services import definition

pytestmark = pytest.mark.integration

PROBLEM = "application/problem+json"
HTTP_METHODS = {"GET", "POST", "PUT", "PATCH", "DELETE"}

# (service, method, path template) → why anyone may call it without a token.
PUBLIC: dict[tuple[str, str, str], str] = {}
PUBLIC_PATTERNS: list[tuple[str, str, str]] = [
    # Every service: probes and metrics are for the orchestrator and Prometheus on the internal network.
    ("*", "GET", r"^/health/(live|ready)$"),
    ("*", "GET", r"^/metrics$"),
    # Identity: the OpenID provider's own protocol endpoints authenticate clients or users their own way
    # (client secrets, PKCE, browser sessions with CSRF tokens), and its pages are where one signs in.
    ("identity", "*", r"^/\.well-known/"),
    ("identity", "*", r"^/api/v1/identity/(\.well-known/|jwks|authorize|token|revoke|introspect|userinfo|logout)"),
    ("identity", "*", r"^/api/v1/identity/(sign-in|signed-in|sign-out|mfa|register|verify|password|forgot|reset)"),
    ("identity", "*", r"^/api/v1/identity/(consent|static|ui)"),
    # Signing in through an organisation's own identity provider is part of signing in: browser pages bound to
    # the attempt by its state cookie, with CSRF tokens on the forms.
    ("identity", "*", r"^/api/v1/identity/federation/(callback|link|discover|\{provider_id\}/start)$"),
    # Appointments: the FHIR CapabilityStatement is public by the FHIR specification; calendar feeds are
    # authorised by the secret in their URL (a token of their own, checked by the endpoint).
    ("appointments", "GET", r"^/fhir/R4/(metadata|\.well-known/smart-configuration)$"),
    ("appointments", "GET", r"^/api/v1/appointments/feeds/"),
    # Appointments: the catalogue — professionals, their domains' forms, working hours and free times — is
    # browsed before signing in, as on any booking site; it holds no personal data of patients.
    (
        "appointments",
        "GET",
        r"^/api/v1/appointments/(directory|domains|domains/\{name\}|resources|slots"
        r"|resources/\{resource_id\}/(schedule|professional|slots|slots/explain|slots/stream))$",
    ),
    # The gateway's own pages: the web app's files, the combined API description, and the names of the
    # services it routes to (names only, as the README lists them: no addresses, no health).
    ("gateway", "GET", r"^/(api/docs|api/openapi\.json)"),
    ("gateway", "GET", r"^/api/v1/gateway/routes$"),
]


@dataclass(frozen=True)
class Route:
    service: str
    method: str
    path: str

    def __str__(self) -> str:
        return f"{self.service} {self.method} {self.path}"

    @property
    def public(self) -> bool:
        return any(
            service in ("*", self.service) and method in ("*", self.method) and re.search(pattern, self.path)
            for service, method, pattern in PUBLIC_PATTERNS
        )

    def concrete_path(self) -> str:
        """The template with its parameters filled with values of a plausible shape."""
        return re.sub(r"\{[^}]+\}", str(uuid.UUID(int=7)), self.path)


def routes_of(runtime: ServiceRuntime) -> Iterator[Route]:
    for path, operations in runtime.app.openapi()["paths"].items():
        for method in operations:
            if method.upper() in HTTP_METHODS:
                yield Route(runtime.name, method.upper(), path)


@pytest.fixture(scope="module")
async def runtimes(base_settings: Settings) -> AsyncIterator[dict[str, ServiceRuntime]]:
    """Each service's application, built as it runs, on a database that is never reached."""
    settings = base_settings.model_copy(update={"transport": TransportKind.IN_PROCESS})
    built = {
        name: ServiceRuntime(
            definition(name),
            settings=settings,
            database_url=database_url(settings, name),
            transport=InProcessTransport(),
        )
        for name in SERVICES
    }
    yield built
    for runtime in built.values():
        await runtime.engine.dispose()


def _protected(runtimes: dict[str, ServiceRuntime]) -> list[Route]:
    return [route for runtime in runtimes.values() for route in routes_of(runtime) if not route.public]


async def _call(runtime: ServiceRuntime, route: Route, headers: dict[str, str]) -> httpx.Response:
    transport = httpx.ASGITransport(app=runtime.app)
    async with httpx.AsyncClient(transport=transport, base_url="http://service.test") as client:
        return await client.request(route.method, route.concrete_path(), headers=headers, json={})


async def test_every_service_has_protected_routes(runtimes: dict[str, ServiceRuntime]) -> None:
    protected = _protected(runtimes)
    assert {route.service for route in protected} >= {"identity", "appointments", "monitoring"}
    assert len(protected) > 30


async def test_no_route_answers_without_a_token(runtimes: dict[str, ServiceRuntime]) -> None:
    answered = {}
    for route in _protected(runtimes):
        response = await _call(runtimes[route.service], route, {})
        answered[str(route)] = (response.status_code, response.headers.get("content-type"))
    not_refused = {route: answer for route, answer in answered.items() if answer != (401, PROBLEM)}
    if not_refused:
        pytest.fail("answered without a token, not with a 401 problem:\n" + _listing(not_refused))


async def test_no_route_accepts_a_forged_token(runtimes: dict[str, ServiceRuntime], issuer: TestIssuer) -> None:
    """Signed by a key the issuer never published: every protected route refuses it."""
    with TestIssuer() as impostor:
        forged = impostor.token(sub="intruder", roles=["operator"], permissions=["*"], iss=issuer.issuer)
    answered = {}
    for route in _protected(runtimes):
        response = await _call(runtimes[route.service], route, {"Authorization": f"Bearer {forged}"})
        answered[str(route)] = response.status_code
    not_refused = {route: status for route, status in answered.items() if status != 401}
    if not_refused:
        pytest.fail("answered a forged token, not with 401:\n" + _listing(not_refused))


def _listing(answers: dict[str, object]) -> str:
    return "\n".join(f"  {route}: {answer}" for route, answer in sorted(answers.items()))
