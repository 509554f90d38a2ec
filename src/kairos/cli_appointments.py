"""``kairos appointments …``: operations on the appointments service's records."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import typer

appointments_app = typer.Typer(
    help="The appointments service's records.", no_args_is_help=True, pretty_exceptions_show_locals=False
)


@appointments_app.command(name="rebuild-projections")
def rebuild_projections(
    repair: Annotated[bool, typer.Option(help="write the rebuilt state where it differs")] = False,
) -> None:
    """Replay every appointment's event stream and compare with the stored projection (JSON output)."""
    from kairos.allinone import database_server
    from kairos.appointments.projections import rebuild
    from kairos.cli import _print_json, _run, _settings
    from kairos.platform.db.engine import database_url
    from kairos.platform.events.inprocess import InProcessTransport
    from kairos.platform.runtime import ServiceRuntime
    from kairos.services import definition

    settings = _settings("appointments")

    async def main(_: asyncio.Event) -> dict[str, Any]:
        with database_server(settings) as resolved:
            runtime = ServiceRuntime(
                definition("appointments"),
                settings=resolved,
                database_url=database_url(resolved, "appointments"),
                transport=InProcessTransport(),
            )
            try:
                report = await rebuild(uow=runtime.unit_of_work(), repair=repair)  # type: ignore[arg-type]
            finally:
                await runtime.engine.dispose()
            return report.as_dict()

    result = _run(main)
    _print_json(result)
    if result["differing"] and not repair:
        raise typer.Exit(1)
