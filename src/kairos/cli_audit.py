"""``kairos audit …``: the audit trail monitoring keeps."""

from __future__ import annotations

import asyncio
from typing import Any

import typer

audit_app = typer.Typer(help="The audit trail of personal-data access.", no_args_is_help=True)


@audit_app.command(name="verify")
def verify_command() -> None:
    """Recompute the audit trail's hash chain; print JSON and exit 1 at the first broken link."""
    from kairos.allinone import database_server
    from kairos.cli import _print_json, _run, _settings
    from kairos.monitoring import service
    from kairos.monitoring.repository import MonitoringUnitOfWork
    from kairos.monitoring.schemas import AuditVerificationRead
    from kairos.platform.db.engine import create_engine, create_sessionmaker, database_url

    settings = _settings("audit")

    async def main(_: asyncio.Event) -> dict[str, Any]:
        with database_server(settings) as resolved:
            engine = create_engine(database_url(resolved, "monitoring"), pool_size=1, application_name="kairos-audit")
            try:
                uow = MonitoringUnitOfWork(create_sessionmaker(engine), producer="monitoring")
                check = await service.verify_audit_trail(uow=uow)
            finally:
                await engine.dispose()
            return AuditVerificationRead.from_domain(check).model_dump(mode="json")

    result = _run(main)
    _print_json(result)
    if not result["intact"]:
        raise typer.Exit(1)
