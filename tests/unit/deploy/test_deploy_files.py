"""deploy/Dockerfile and deploy/compose.yaml, checked offline against the code they deploy.

No container engine is needed: compose.yaml is parsed with PyYAML (anchors and merge keys resolved as
compose resolves them), the Dockerfile with a small instruction parser. ``docker compose config`` is run
too when the compose plugin is installed (it needs no daemon).
"""

from __future__ import annotations

import fnmatch
import importlib.util
import json
import re
import shlex
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

from kairos.identity.settings import IdentitySettings
from kairos.platform.config import DEFAULT_BASE_PORT, SERVICES, Settings, load_settings

ROOT = Path(__file__).resolve().parents[3]
DEPLOY = ROOT / "deploy"
COMPOSE_FILE = DEPLOY / "compose.yaml"
DOCKERFILE = DEPLOY / "Dockerfile"
INFRASTRUCTURE = ("postgres", "rabbitmq", "redis")
ENV_PREFIX = "KAIROS_"


def expected_port(service: str) -> int:
    return DEFAULT_BASE_PORT + SERVICES.index(service)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(loaded, dict)
    return loaded


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, Any]:
    return compose["services"]


def environment(service: dict[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two compose forms it is written in."""
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {str(name): str(value) for name, value in env.items()}


def depends_on(service: dict[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on") or {}
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: (spec or {}).get("condition", "service_started") for name, spec in deps.items()}


# --- compose.yaml -------------------------------------------------------------------------------------------


def test_every_service_runs_from_the_one_image_with_its_name_as_command(services: dict[str, Any]) -> None:
    assert set(SERVICES) | set(INFRASTRUCTURE) == set(services)
    images = {services[name]["image"] for name in SERVICES}
    assert len(images) == 1, images
    for name in SERVICES:
        service = services[name]
        assert service["command"] == [name], name
        build = service["build"]
        assert (COMPOSE_FILE.parent / build["context"]).resolve() == ROOT
        assert (ROOT / build["dockerfile"]).resolve() == DOCKERFILE


def test_every_service_listens_on_its_own_port(services: dict[str, Any]) -> None:
    for name in SERVICES:
        assert environment(services[name])["KAIROS_PORT"] == str(expected_port(name)), name


def test_every_service_waits_for_healthy_infrastructure(services: dict[str, Any]) -> None:
    for name in INFRASTRUCTURE:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in SERVICES:
        deps = depends_on(services[name])
        for infrastructure in ("postgres", "rabbitmq"):
            assert deps.get(infrastructure) == "service_healthy", (name, infrastructure)


def test_the_gateway_starts_after_every_service_is_ready(services: dict[str, Any]) -> None:
    deps = depends_on(services["gateway"])
    for name in SERVICES[1:]:
        assert deps.get(name) == "service_healthy", name


def test_every_service_is_health_checked_on_ready(services: dict[str, Any]) -> None:
    for name in SERVICES:
        check = services[name]["healthcheck"]["test"]
        assert check[0] in {"CMD", "CMD-SHELL"}
        assert "/health/ready" in " ".join(check), name


def test_only_the_gateway_is_published(services: dict[str, Any]) -> None:
    published = {name for name, service in services.items() if service.get("ports")}
    assert published == {"gateway"}
    assert [str(port) for port in services["gateway"]["ports"]] == [f"{DEFAULT_BASE_PORT}:{expected_port('gateway')}"]


def test_the_gateway_knows_where_every_service_is(services: dict[str, Any]) -> None:
    urls = json.loads(environment(services["gateway"])["KAIROS_SERVICE_URLS"])
    for name in SERVICES[1:]:
        assert urls[name] == f"http://{name}:{expected_port(name)}", name
        assert name in services  # the host name is the compose service, resolved by compose's DNS
    assert set(urls) <= set(SERVICES)


def test_every_kairos_variable_is_a_setting(services: dict[str, Any]) -> None:
    names = {name for service in SERVICES for name in environment(services[service])}
    assert names, "no environment at all"
    unknown = {name for name in names if not is_setting(name)}
    assert not unknown, f"not fields of kairos.platform.config.Settings: {sorted(unknown)}"


def is_setting(variable: str) -> bool:
    identity_prefix = str(IdentitySettings.model_config.get("env_prefix", "")).upper()
    if variable.startswith(identity_prefix):
        return variable.removeprefix(identity_prefix).lower() in IdentitySettings.model_fields
    return variable.startswith(ENV_PREFIX) and variable.removeprefix(ENV_PREFIX).lower() in Settings.model_fields


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_environment_loads_as_the_service_would_read_it(
    services: dict[str, Any], service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(Settings.model_fields):
        monkeypatch.delenv(ENV_PREFIX + name.upper(), raising=False)
    for name, value in environment(services[service]).items():
        monkeypatch.setenv(name, value)

    settings = load_settings()

    assert settings.service_port(service) == expected_port(service)
    assert settings.transport == "rabbitmq"
    assert settings.database_url is not None
    assert settings.database_url.get_secret_value().startswith("postgresql://")
    assert "@postgres:" in settings.database_url.get_secret_value()
    assert "@rabbitmq:" in settings.rabbitmq_url.get_secret_value()
    assert "//redis:" in settings.redis_url.get_secret_value()
    assert settings.auth_issuer.endswith("/api/v1/identity")
    assert settings.jwks_url == f"http://identity:{expected_port('identity')}/api/v1/identity/jwks"
    for other in SERVICES[1:]:
        assert settings.service_url(other) == f"http://{other}:{expected_port(other)}"


# --- Dockerfile ---------------------------------------------------------------------------------------------


def dockerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, with continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    pending = ""
    for line in DOCKERFILE.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        keyword, _, arguments = (pending + stripped).partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
        pending = ""
    assert not pending, "the Dockerfile ends in a continuation line"
    return instructions


def final_stage() -> list[tuple[str, str]]:
    instructions = dockerfile_instructions()
    last_from = max(index for index, (keyword, _) in enumerate(instructions) if keyword == "FROM")
    return instructions[last_from:]


def env_of(stage: list[tuple[str, str]]) -> dict[str, str]:
    env: dict[str, str] = {}
    for keyword, arguments in stage:
        if keyword == "ENV":
            for pair in shlex.split(arguments):
                name, _, value = pair.partition("=")
                env[name] = value
    return env


def only(stage: list[tuple[str, str]], keyword: str) -> str:
    found = [arguments for name, arguments in stage if name == keyword]
    assert len(found) == 1, (keyword, found)
    return found[0]


def test_the_image_runs_kairos_run_with_the_gateway_by_default() -> None:
    stage = final_stage()
    assert json.loads(only(stage, "ENTRYPOINT")) == ["kairos", "run"]
    assert json.loads(only(stage, "CMD")) == ["gateway"]


def test_the_image_runs_as_a_user_that_is_not_root() -> None:
    user = only(final_stage(), "USER").split(":")[0]
    assert user not in {"root", "0", ""}


def test_the_image_is_built_in_stages_from_the_slim_python_with_uv() -> None:
    instructions = dockerfile_instructions()
    args = {
        name: value
        for keyword, arguments in instructions
        if keyword == "ARG"
        for name, _, value in [arguments.partition("=")]
    }
    bases = [
        arguments.split()[0].replace("${PYTHON_IMAGE}", args["PYTHON_IMAGE"])
        for k, arguments in instructions
        if k == "FROM"
    ]
    assert len(bases) >= 2
    assert set(bases) == {"python:3.11-slim-bookworm"}
    runs = " ".join(arguments for keyword, arguments in instructions if keyword == "RUN")
    assert re.search(r"pip install .*uv==", runs)
    assert "uv sync --frozen --no-dev" in runs
    # the runtime stage gets the environment ready-made: no uv, no build
    assert not re.search(r"\buv\b", " ".join(arguments for keyword, arguments in final_stage() if keyword == "RUN"))


def test_the_image_environment() -> None:
    env = env_of(final_stage())
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["KAIROS_HOST"] == "0.0.0.0"
    assert env["PATH"].startswith("/app/.venv/bin:")
    unknown = {name for name in env if name.startswith(ENV_PREFIX) and not is_setting(name)}
    assert not unknown


def test_the_image_exposes_every_service_port_and_checks_liveness() -> None:
    stage = final_stage()
    low, high = (int(port) for port in only(stage, "EXPOSE").split("-"))
    assert [low, high] == [expected_port(SERVICES[0]), expected_port(SERVICES[-1])]
    healthcheck = only(stage, "HEALTHCHECK")
    assert "CMD" in healthcheck
    assert "/health/live" in healthcheck
    assert "curl" not in healthcheck


def test_every_file_the_image_copies_from_the_repository_exists() -> None:
    for keyword, arguments in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in arguments:
            continue
        *sources, _ = [part for part in arguments.split() if not part.startswith("--")]
        for source in sources:
            assert (ROOT / source).exists(), source


def test_the_build_context_keeps_what_the_image_copies() -> None:
    ignored = [
        line.strip()
        for line in (DEPLOY / "Dockerfile.dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    for keyword, arguments in dockerfile_instructions():
        if keyword != "COPY" or "--from=" in arguments:
            continue
        *sources, _ = [part for part in arguments.split() if not part.startswith("--")]
        for source in sources:
            assert not any(fnmatch.fnmatch(source, pattern) for pattern in ignored), source
    assert ".kairos" in ignored  # the embedded database of the all-in-one shape
    assert ".venv" in ignored


# --- deploy/healthcheck.py ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def healthcheck() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kairos_deploy_healthcheck", DEPLOY / "healthcheck.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_health_check_knows_the_services_in_order(healthcheck: ModuleType) -> None:
    assert tuple(healthcheck.SERVICES) == SERVICES
    assert healthcheck.DEFAULT_BASE_PORT == DEFAULT_BASE_PORT


@pytest.mark.parametrize(
    ("argv", "target"),
    [
        (["/app/.venv/bin/python", "/app/.venv/bin/kairos", "run", "identity"], "identity"),
        (["/app/.venv/bin/python", "/app/.venv/bin/kairos", "run", "--no-migrate", "chat"], "chat"),
        (["/sbin/docker-init", "--", "kairos", "run", "monitoring"], "monitoring"),
        (["/app/.venv/bin/python", "/app/.venv/bin/kairos", "run"], "gateway"),
        ([], "gateway"),
    ],
)
def test_the_health_check_finds_the_service_from_the_command(
    healthcheck: ModuleType, argv: list[str], target: str
) -> None:
    assert healthcheck.target_of(argv) == target


@pytest.mark.parametrize("service", SERVICES)
def test_the_health_check_finds_the_port_as_the_service_does(healthcheck: ModuleType, service: str) -> None:
    assert healthcheck.port_for(service, {}) == load_settings(port=None, base_port=8000).service_port(service)
    assert healthcheck.port_for(service, {"KAIROS_BASE_PORT": "9000"}) == load_settings(
        port=None, base_port=9000
    ).service_port(service)
    assert healthcheck.port_for(service, {"KAIROS_PORT": "7123", "KAIROS_BASE_PORT": "9000"}) == 7123


class _Health(BaseHTTPRequestHandler):
    ready = True

    def do_GET(self) -> None:
        healthy = self.path == "/health/live" or (self.path == "/health/ready" and self.ready)
        self.send_response(200 if healthy else 503)
        self.end_headers()

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[HTTPServer]:
    server = HTTPServer(("127.0.0.1", 0), _Health)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()


def test_the_health_check_exit_code_follows_the_answer(
    healthcheck: ModuleType, health_server: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    env = {"KAIROS_PORT": str(health_server.server_address[1])}
    monkeypatch.setattr(_Health, "ready", True)
    assert healthcheck.main(["/health/live"], env) == 0
    assert healthcheck.main([], env) == 0
    assert healthcheck.main(["/health/ready"], env) == 0
    monkeypatch.setattr(_Health, "ready", False)
    assert healthcheck.main(["/health/ready"], env) == 1
    assert healthcheck.main(["/nowhere"], env) == 1


def test_the_health_check_fails_when_nothing_listens(healthcheck: ModuleType) -> None:
    with HTTPServer(("127.0.0.1", 0), _Health) as closed:
        port = closed.server_address[1]
    assert healthcheck.main(["/health/live"], {"KAIROS_PORT": str(port)}) == 1
