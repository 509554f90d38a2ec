"""The identity service's HTTP API, under ``/api/v1/identity``."""

from fastapi import APIRouter

router = APIRouter(tags=["identity"])
