"""The assistant service's HTTP API, under ``/api/v1/assistant``."""

from fastapi import APIRouter

router = APIRouter(tags=["assistant"])
