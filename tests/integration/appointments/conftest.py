"""The appointments service as each test module here runs it: its own database, migrated, in-process events."""

from __future__ import annotations

from kairos.platform.config import Settings
from kairos.platform.db.engine import database_url
from kairos.platform.events.inprocess import InProcessTransport
from kairos.platform.runtime import ServiceRuntime
from kairos.services import definition


async def appointments_service(base_settings: Settings, *, name: str, demo: bool = False) -> ServiceRuntime:
    """A migrated appointments runtime on a database of its own (``<run prefix><name>_appointments``)."""
    settings = base_settings.model_copy(update={"database_prefix": f"{base_settings.database_prefix}{name}_"})
    runtime = ServiceRuntime(
        definition("appointments"),
        settings=settings,
        database_url=database_url(settings, "appointments"),
        transport=InProcessTransport(),
    )
    await runtime.migrate()
    if demo:
        assert await runtime.seed_demo()
    return runtime
