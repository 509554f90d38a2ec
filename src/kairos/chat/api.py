"""The chat service's HTTP API, under ``/api/v1/chat``."""

from fastapi import APIRouter

router = APIRouter(tags=["chat"])
