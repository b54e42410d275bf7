"""The farm's HTTP service: JSON API, package index and dashboard (FastAPI)."""

from wheelyard.farm.api.app import create_app
from wheelyard.farm.api.context import ServiceContext

__all__ = ["ServiceContext", "create_app"]
