"""The notifications service's HTTP API, under ``/api/v1/notifications``."""

from fastapi import APIRouter

router = APIRouter(tags=["notifications"])
