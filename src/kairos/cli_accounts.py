"""``kairos users …``, ``kairos clients …`` and ``kairos keys rotate-signing``: bootstrap and automation of the
identity service."""

from __future__ import annotations

import asyncio
import sys
from typing import Annotated, Any

import typer

from kairos.identity.domain.passwords import PasswordNotAccepted
from kairos.identity.domain.roles import Role
from kairos.identity.service import AccountExists, InvalidClient, UnknownOrganisation

REFUSALS = (AccountExists, InvalidClient, PasswordNotAccepted, UnknownOrganisation, ValueError)

users_app = typer.Typer(
    help="Accounts at the identity service.", no_args_is_help=True, pretty_exceptions_show_locals=False
)
clients_app = typer.Typer(
    help="OAuth clients at the identity service.", no_args_is_help=True, pretty_exceptions_show_locals=False
)


def _identity(action: Any) -> Any:
    """Run ``action(uow)`` in one committed unit of work of the identity service."""
    return _with_identity(lambda _runtime, uow: action(uow))


def _with_identity(action: Any) -> Any:
    """Run ``action(runtime, uow)`` in one committed unit of work of the identity service."""
    from kairos.allinone import database_server
    from kairos.cli import _run, _settings
    from kairos.identity.repository import seal_clear_accounts
    from kairos.platform.db.engine import database_url
    from kairos.platform.events.inprocess import InProcessTransport
    from kairos.platform.runtime import ServiceRuntime
    from kairos.services import definition

    settings = _settings("accounts")

    async def main(_: asyncio.Event) -> Any:
        with database_server(settings) as resolved:
            runtime = ServiceRuntime(
                definition("identity"),
                settings=resolved,
                database_url=database_url(resolved, "identity"),
                transport=InProcessTransport(),
            )
            try:
                await runtime.migrate()
                await seal_clear_accounts(unit_of_work=runtime.unit_of_work)  # rows from before migration 0009
                async with runtime.unit_of_work() as uow:
                    result = await action(runtime, uow)
                    await uow.commit()
                return result
            finally:
                await runtime.engine.dispose()

    try:
        return _run(main)
    except REFUSALS as refused:
        typer.secho(f"refused: {refused}", fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None


@users_app.command(name="create")
def create_user_command(
    email: Annotated[str, typer.Option(help="the account's e-mail address")],
    role: Annotated[list[Role], typer.Option(help="a role (repeatable)")],
    organisation: Annotated[str | None, typer.Option(help="organisation id, for organisational roles")] = None,
    name: Annotated[str | None, typer.Option(help="display name (default: the e-mail's local part)")] = None,
) -> None:
    """Create an account; the password is read from standard input (JSON output)."""
    import uuid

    from kairos.cli import _print_json
    from kairos.identity.service import create_user

    password = sys.stdin.readline().rstrip("\n")
    if not password:
        typer.secho("give the password on standard input", fg=typer.colors.RED, err=True)
        raise typer.Exit(2)

    async def create(uow: Any) -> str:
        user_id = await create_user(
            uow=uow,
            email=email,
            password=password,
            display_name=name or email.split("@")[0],
            roles=frozenset(role),
            organisation_id=uuid.UUID(organisation) if organisation else None,
            email_verified=True,
        )
        return str(user_id)

    _print_json({"user_id": _identity(create), "email": email.strip().lower(), "roles": sorted(role)})


@clients_app.command(name="create")
def create_client_command(
    name: Annotated[str, typer.Option(help="what the client is called")],
    grant: Annotated[list[str], typer.Option(help="authorization_code, refresh_token or client_credentials")],
    redirect_uri: Annotated[list[str] | None, typer.Option(help="an exact redirect URI (repeatable)")] = None,
    scope: Annotated[list[str] | None, typer.Option(help="an allowed scope (repeatable, space-separated ok)")] = None,
    public: Annotated[bool, typer.Option(help="a public client (browser or native app): PKCE, no secret")] = False,
    first_party: Annotated[bool, typer.Option(help="a Kairos application: no consent screen")] = False,
) -> None:
    """Register an OAuth client; prints {"client_id": …, "client_secret": …} (the secret only this once)."""
    from kairos.cli import _print_json
    from kairos.identity.service import create_client

    scopes = tuple(part for entry in scope or ["openid profile email offline_access"] for part in entry.split())

    async def create(uow: Any) -> Any:
        return await create_client(
            uow=uow,
            name=name,
            grant_types=frozenset(grant),
            redirect_uris=tuple(redirect_uri or ()),
            scopes=scopes,
            public=public,
            first_party=first_party,
        )

    registered = _identity(create)
    _print_json({"client_id": registered.client_id, "client_secret": registered.client_secret})


def rotate_signing_key_command() -> None:
    """Retire identity's token-signing key and create a new one (JSON output: the new kid, the kids published).

    Running identity instances sign with the new key once they reload their keys (within a minute); the
    retired key stays published until every token it signed has expired.
    """
    from datetime import UTC, datetime

    from kairos.cli import _print_json
    from kairos.identity.keys import SigningKeys

    async def rotate(runtime: Any, uow: Any) -> dict[str, Any]:
        cipher = runtime.cipher

        async def seal(plaintext: bytes, context: bytes) -> bytes:
            return await cipher.encrypt(plaintext, context=context)  # type: ignore[no-any-return]

        async def unseal(sealed: bytes, context: bytes) -> bytes:
            return await cipher.decrypt(sealed, context=context)  # type: ignore[no-any-return]

        now = datetime.now(UTC)
        kid = await SigningKeys.rotate(uow.session, seal=seal, now=now)
        published = SigningKeys()
        await published.load(uow.session, unseal=unseal, now=now)  # also proves every published key decrypts
        return {"kid": kid, "published_kids": [key["kid"] for key in published.jwks()["keys"]]}

    _print_json(_with_identity(rotate))
