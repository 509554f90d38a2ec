"""Use cases of the monitoring service: each one step in one unit of work."""

from __future__ import annotations

from kairos.monitoring.domain.audit_chain import ChainCheck, StoredEntry
from kairos.monitoring.repository import AuditFilter, MonitoringUnitOfWork
from kairos.platform.http.pagination import PageRequest


async def audit_trail(*, uow: MonitoringUnitOfWork, criteria: AuditFilter, page: PageRequest) -> list[StoredEntry]:
    async with uow:
        return await uow.audit.page(criteria, page)


async def verify_audit_trail(*, uow: MonitoringUnitOfWork) -> ChainCheck:
    """Recompute every link of the chain, in one snapshot (REPEATABLE READ: appends meanwhile are not seen)."""
    check = ChainCheck()
    async with uow:
        await uow.session.connection(execution_options={"isolation_level": "REPEATABLE READ"})
        async for stored in uow.audit.in_order():
            check.feed(stored)
            if not check.is_intact:
                break
    return check
