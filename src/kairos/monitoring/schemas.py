"""API models of the monitoring service."""

from datetime import datetime

from pydantic import BaseModel


class ServiceInstanceRead(BaseModel):
    service: str
    instance: str
    version: str
    started_at: datetime
