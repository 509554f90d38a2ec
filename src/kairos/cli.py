"""The ``kairos`` command: run a shape or a service, migrate, seed demo data, inspect parked events."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar
from uuid import UUID

import typer
from pydantic import ValidationError

from kairos.platform.config import SERVICES, Settings, TransportKind, load_settings
from kairos.platform.observability.logging import setup_logging
from kairos.platform.observability.tracing import setup_tracing

# No local variables in tracebacks: they would print passwords and secrets given to a command.
app = typer.Typer(
    help="Kairos: open-source appointment platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
events_app = typer.Typer(help="Integration events: parked events and their replay.", no_args_is_help=True)
app.add_typer(events_app, name="events")

T = TypeVar("T")


def _settings(process: str) -> Settings:
    try:
        settings = load_settings()
    except ValidationError as error:
        for problem in error.errors():
            name = "KAIROS_" + "_".join(str(part) for part in problem["loc"]).upper()
            typer.secho(f"{name}: {problem['msg']}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    setup_logging(level=settings.log_level, log_format=settings.log_format)
    setup_tracing(service_name=f"kairos-{process}", exporter_endpoint=settings.otel_exporter_endpoint)
    return settings


def _run(main: Callable[[asyncio.Event], Awaitable[T]]) -> T:
    async def with_signals() -> T:
        from kairos.platform.serve import stop_signal

        return await main(stop_signal())

    return asyncio.run(with_signals())


def _print_json(value: Any) -> None:
    typer.echo(json.dumps(value, indent=2, default=str))


@app.command()
def run(
    target: Annotated[
        str, typer.Argument(help="all-in-one, distributed, or one service: " + ", ".join(SERVICES))
    ] = "all-in-one",
    migrate: Annotated[bool, typer.Option(help="apply database migrations before starting")] = True,
) -> None:
    """Run the all-in-one shape, the whole distributed shape, or one service of it."""
    if target == "all-in-one":
        from kairos.allinone import run_all_in_one

        settings = _settings("all-in-one")

        def ready(url: str) -> None:
            typer.secho(f"\n  Kairos is running: open {url}\n  (Ctrl-C stops it)\n", fg=typer.colors.GREEN, err=True)

        _run(lambda stop: run_all_in_one(settings, stop=stop, on_ready=ready))
    elif target == "distributed":
        from kairos.distributed import run_supervised

        settings = _settings("supervisor")
        raise typer.Exit(_run(lambda stop: run_supervised(settings, stop=stop)))
    elif target in SERVICES:
        from kairos.distributed import ShapeError, run_service
        from kairos.platform.crypto import KeyringError

        settings = _settings(target)
        try:
            _run(lambda stop: run_service(target, settings, stop=stop, migrate=migrate))
        except (ShapeError, KeyringError) as error:
            typer.secho(str(error), fg=typer.colors.RED, err=True)
            raise typer.Exit(2) from None
    else:
        raise typer.BadParameter(f"unknown target {target!r}")


@app.command(name="migrate")
def migrate_command(
    services: Annotated[list[str] | None, typer.Argument(help="services to migrate (default: all)")] = None,
) -> None:
    """Create each service's database if needed, apply its migrations, and declare the broker's queues."""
    from kairos.allinone import database_server
    from kairos.distributed import migrate_all

    settings = _settings("migrate")
    names = services or list(SERVICES)
    unknown = sorted(set(names) - set(SERVICES))
    if unknown:
        raise typer.BadParameter(f"unknown services: {', '.join(unknown)}")

    async def main(_: asyncio.Event) -> None:
        with database_server(settings) as resolved:
            await migrate_all(resolved, names)

    _run(main)
    _print_json({"migrated": names})


@app.command(name="seed-demo")
def seed_demo() -> None:
    """Load the demo data into every service's database that has not had it yet."""
    from kairos.allinone import AllInOne, database_server

    settings = _settings("seed-demo")

    async def main(_: asyncio.Event) -> None:
        with database_server(settings) as resolved:
            system = AllInOne(resolved)
            await system.migrate()
            loaded = await system.seed_demo()
            for runtime in system.runtimes.values():
                await runtime.stop()
            _print_json({"loaded": loaded})

    _run(main)


def _with_parking(service: str, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(parking_lot)`` against the configured transport's parked events of ``service``."""
    from kairos.allinone import database_server
    from kairos.platform.db.engine import database_url
    from kairos.platform.events.factory import create_transport
    from kairos.platform.runtime import ServiceRuntime
    from kairos.services import definition

    settings = _settings("events")

    async def main(_: asyncio.Event) -> T:
        if settings.transport == TransportKind.RABBITMQ and settings.database_url is not None:
            return await action(create_transport(settings))
        with database_server(settings) as resolved:
            transport = create_transport(resolved)
            runtime = ServiceRuntime(
                definition(service),
                settings=resolved,
                database_url=database_url(resolved, service),
                transport=transport,
            )
            try:
                return await action(transport)
            finally:
                await runtime.stop()

    return _run(main)


@events_app.command(name="parked")
def list_parked(
    service: Annotated[str, typer.Argument(help="the consuming service")],
    limit: Annotated[int, typer.Option(min=1, max=10_000)] = 100,
) -> None:
    """List the events a service's consumer parked after its retries, as JSON."""
    parked = _with_parking(service, lambda lot: lot.list_parked(service, limit=limit))
    _print_json([event.model_dump(mode="json") for event in parked])


@events_app.command(name="replay")
def replay(
    service: Annotated[str, typer.Argument(help="the consuming service")],
    event_id: Annotated[list[UUID] | None, typer.Option("--id", help="an event to replay (repeatable)")] = None,
    replay_all: Annotated[bool, typer.Option("--all", help="replay every parked event")] = False,
) -> None:
    """Send parked events back to the service's consumer."""
    if not event_id and not replay_all:
        typer.echo("give --id ID (repeatable) or --all", err=True)
        raise typer.Exit(2)
    ids = None if replay_all else event_id
    count = _with_parking(service, lambda lot: lot.replay(service, ids))
    _print_json({"replayed": count})


keys_app = typer.Typer(
    help="Encryption at rest: rotate a service's data key, re-wrap its data keys under the active "
    "key-encryption key (docs/crypto.md).",
    no_args_is_help=True,
)
app.add_typer(keys_app, name="keys")


def _with_cipher(service: str, action: Callable[[Any], Awaitable[T]]) -> T:
    """Run ``action(cipher)`` on the data keys in ``service``'s database, with the configured keyring."""
    from sqlalchemy import text

    from kairos.allinone import database_server
    from kairos.platform.crypto import DataCipher, KeyringError, load_keyring
    from kairos.platform.db.engine import create_engine, create_sessionmaker, database_url

    if service not in SERVICES:
        raise typer.BadParameter(f"unknown service {service!r}; the services are {', '.join(SERVICES)}")
    settings = _settings("keys")

    async def main(_: asyncio.Event) -> T:
        keyring = load_keyring(settings)  # before the embedded database's URL fills in database_url
        with database_server(settings) as resolved:
            engine = create_engine(database_url(resolved, service), pool_size=1, application_name="kairos-keys")
            try:
                async with engine.connect() as connection:
                    if await connection.scalar(text("SELECT to_regclass('data_keys')")) is None:
                        typer.secho(f"{service}: no data_keys table; run `kairos migrate {service}`", err=True)
                        raise typer.Exit(2)
                return await action(DataCipher(keyring=keyring, sessionmaker=create_sessionmaker(engine)))
            finally:
                await engine.dispose()

    try:
        return _run(main)
    except KeyringError as error:
        typer.secho(str(error), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


async def _data_key_summary(cipher: Any) -> dict[str, Any]:
    records = await cipher.list_data_keys()
    return {
        "active_kek": cipher.keyring.active_id,
        "keks_in_use": sorted({record.kek_id for record in records}),
        "data_keys": len(records),
    }


@keys_app.command(name="generate")
def generate_keyring() -> None:
    """Print a new key-encryption keyring (JSON) for KAIROS_ENCRYPTION_KEYS; keep it in a secret store."""
    from kairos.platform.crypto import Keyring

    typer.echo(Keyring.generate("k1").to_json())


@keys_app.command(name="rotate-data-key")
def rotate_data_key_command(service: Annotated[str, typer.Argument(help="the service whose database it is")]) -> None:
    """Make a new data key active in a service's database; the retired ones still decrypt (JSON output)."""

    async def rotate(cipher: Any) -> dict[str, Any]:
        record = await cipher.rotate_data_key()
        return {"service": service, "data_key": str(record.id), **await _data_key_summary(cipher)}

    _print_json(_with_cipher(service, rotate))


@keys_app.command(name="rewrap")
def rewrap_command(service: Annotated[str, typer.Argument(help="the service whose database it is")]) -> None:
    """Re-wrap a service's data keys under the active key-encryption key, so older ones can be removed (JSON)."""

    async def rewrap(cipher: Any) -> dict[str, Any]:
        rewrapped = await cipher.rewrap_data_keys()
        return {
            "service": service,
            "rewrapped": [str(key_id) for key_id in rewrapped],
            **await _data_key_summary(cipher),
        }

    _print_json(_with_cipher(service, rewrap))


def _add_account_commands() -> None:
    from kairos.cli_accounts import clients_app, rotate_signing_key_command, users_app
    from kairos.cli_appointments import appointments_app
    from kairos.cli_audit import audit_app

    app.add_typer(users_app, name="users")
    app.add_typer(clients_app, name="clients")
    keys_app.command(name="rotate-signing")(rotate_signing_key_command)
    app.add_typer(appointments_app, name="appointments")
    app.add_typer(audit_app, name="audit")


_add_account_commands()


def main() -> None:
    app(prog_name="kairos")


if __name__ == "__main__":
    sys.exit(main())
