"""Builds the monitoring service from platform parts."""

from kairos.monitoring import privacy
from kairos.monitoring.api import router
from kairos.monitoring.handlers import handlers
from kairos.monitoring.repository import MonitoringUnitOfWork
from kairos.platform.runtime import ServiceDefinition

definition = ServiceDefinition(
    name="monitoring",
    title="Monitoring",
    description="Health of every service, logs, the audit trail, alerts and analytics.",
    routers=[router],
    handlers=privacy.register(handlers),  # service starts, audit records, and the GDPR sagas
    unit_of_work=MonitoringUnitOfWork,
    migrations="kairos.monitoring:migrations",
)
