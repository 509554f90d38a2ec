"""Loading and saving monitoring's records; never commits (the unit of work does)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Self

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from kairos.monitoring.tables import service_instances
from kairos.platform.db.uow import UnitOfWork
from kairos.platform.http.pagination import PageRequest, keyset


class ServiceInstanceRepository:
    def __init__(self, session: AsyncSession) -> None:
        self._session = session

    async def record_start(self, *, service: str, instance: str, version: str, started_at: datetime) -> None:
        values = {"service": service, "instance": instance, "version": version, "started_at": started_at}
        await self._session.execute(
            pg_insert(service_instances)
            .values(**values)
            .on_conflict_do_update(index_elements=["instance"], set_=values)
        )

    async def page(self, page: PageRequest, *, service: str | None = None) -> list[Any]:
        statement = select(service_instances)
        if service is not None:
            statement = statement.where(service_instances.c.service == service)
        order = [service_instances.c.service, service_instances.c.instance]
        return list((await self._session.execute(keyset(statement, order, page))).mappings())


class MonitoringUnitOfWork(UnitOfWork):
    instances: ServiceInstanceRepository

    async def __aenter__(self) -> Self:
        await super().__aenter__()
        self.instances = ServiceInstanceRepository(self.session)
        return self
