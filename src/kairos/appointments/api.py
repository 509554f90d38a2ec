"""The appointments service's HTTP API, under ``/api/v1/appointments``."""

from fastapi import APIRouter

router = APIRouter(tags=["appointments"])
