"""``kairos appointments …``: operations on the appointments service's records."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Annotated, Any

import typer

from kairos.platform.auth.principal import Principal

if TYPE_CHECKING:  # the command line imports what a command needs when it runs
    from kairos.platform.config import Settings
    from kairos.platform.runtime import ServiceRuntime

DOMAIN_NAME = re.compile(r"[a-z0-9_-]{1,100}")  # as the API's path takes it

appointments_app = typer.Typer(
    help="The appointments service's records.", no_args_is_help=True, pretty_exceptions_show_locals=False
)


@contextlib.asynccontextmanager
async def _appointments_runtime(settings: Settings, *, keys: bool = True) -> AsyncIterator[ServiceRuntime]:
    """The appointments service's runtime on its database (the embedded one when no URL is set), unstarted;
    with the keyring when ``keys`` (what reads personal data needs it; domains are not personal data)."""
    from pydantic import SecretStr

    from kairos.allinone import database_server
    from kairos.platform.crypto import load_keyring
    from kairos.platform.db.engine import database_url
    from kairos.platform.events.inprocess import InProcessTransport
    from kairos.platform.runtime import ServiceRuntime
    from kairos.services import definition

    # The keyring is resolved before the embedded database's URL fills in database_url (docs/crypto.md).
    keyring = load_keyring(settings) if keys else None
    with database_server(settings) as resolved:
        keyed = SecretStr(keyring.to_json()) if keyring is not None else resolved.encryption_keys
        runtime = ServiceRuntime(
            definition("appointments"),
            settings=resolved.model_copy(update={"encryption_keys": keyed}),
            database_url=database_url(resolved, "appointments"),
            transport=InProcessTransport(),
        )
        try:
            yield runtime
        finally:
            await runtime.engine.dispose()


@appointments_app.command(name="rebuild-projections")
def rebuild_projections(
    repair: Annotated[bool, typer.Option(help="write the rebuilt state where it differs")] = False,
) -> None:
    """Replay every appointment's event stream and compare with the stored projection (JSON output)."""
    from kairos.appointments.projections import rebuild
    from kairos.cli import _print_json, _run, _settings
    from kairos.platform.crypto import KeyringError

    settings = _settings("appointments")

    async def main(_: asyncio.Event) -> dict[str, Any]:
        # The messages and answers are compared opened.
        async with _appointments_runtime(settings) as runtime:
            report = await rebuild(uow=runtime.unit_of_work(), repair=repair)  # type: ignore[arg-type]
            return report.as_dict()

    try:
        result = _run(main)
    except KeyringError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    _print_json(result)
    if result["differing"] and not repair:
        raise typer.Exit(1)


domains_app = typer.Typer(
    help="Domains (medical, legal, …): their terminology, appointment types, forms and workflow.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
)
appointments_app.add_typer(domains_app, name="domains")

# The command line acts as an operator: whoever runs it holds the database's credentials already.
OPERATOR = Principal(subject="kairos-cli", roles=frozenset({"operator"}))


@domains_app.command(name="put")
def put_domain(
    name: Annotated[str, typer.Argument(help="the domain's name: lower-case letters, digits, - and _")],
    file: Annotated[
        typer.FileText, typer.Option("--file", "-f", help="the configuration as JSON, as PUT /domains/{name} takes it")
    ] = "-",  # type: ignore[assignment]
) -> None:
    """Register a domain or change its configuration (a new version), from JSON; prints it as stored."""
    from pydantic import ValidationError

    from kairos.appointments import service
    from kairos.appointments.domain.configuration import InvalidConfiguration
    from kairos.appointments.schemas import DomainRead, DomainWrite
    from kairos.cli import _print_json, _run, _settings

    if not DOMAIN_NAME.fullmatch(name):
        raise typer.BadParameter("lower-case letters, digits, - and _ only (at most 100)", param_hint="NAME")
    try:
        configuration = DomainWrite.model_validate_json(file.read()).to_domain(name)
    except (ValidationError, InvalidConfiguration) as error:
        typer.secho(f"not a valid domain configuration:\n{error}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    settings = _settings("appointments")

    async def main(_: asyncio.Event) -> dict[str, Any]:
        async with _appointments_runtime(settings, keys=False) as runtime:
            uow = runtime.unit_of_work()
            version = await service.put_domain(uow=uow, by=OPERATOR, configuration=configuration)  # type: ignore[arg-type]
            return DomainRead.from_domain(configuration, version).model_dump(mode="json")

    _print_json(_run(main))


@domains_app.command(name="list")
def list_domains() -> None:
    """Every domain, its current version (JSON output)."""
    from kairos.appointments import service
    from kairos.appointments.schemas import DomainRead
    from kairos.cli import _print_json, _run, _settings

    settings = _settings("appointments")

    async def main(_: asyncio.Event) -> list[dict[str, Any]]:
        async with _appointments_runtime(settings, keys=False) as runtime:
            found = await service.list_domains(uow=runtime.unit_of_work())  # type: ignore[arg-type]
            return [
                DomainRead.from_domain(configuration, version).model_dump(mode="json")
                for configuration, version in found
            ]

    _print_json(_run(main))


@domains_app.command(name="show")
def show_domain(name: Annotated[str, typer.Argument(help="the domain's name")]) -> None:
    """One domain's current configuration (JSON output); exit code 1 when there is no such domain."""
    from kairos.appointments import service
    from kairos.appointments.repository import NotFound
    from kairos.appointments.schemas import DomainRead
    from kairos.cli import _print_json, _run, _settings

    settings = _settings("appointments")

    async def main(_: asyncio.Event) -> dict[str, Any]:
        async with _appointments_runtime(settings, keys=False) as runtime:
            configuration, version = await service.read_domain(uow=runtime.unit_of_work(), name=name)  # type: ignore[arg-type]
            return DomainRead.from_domain(configuration, version).model_dump(mode="json")

    try:
        _print_json(_run(main))
    except NotFound:
        typer.secho(f"no domain named {name!r}", fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
