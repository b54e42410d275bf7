"""The farm's HTTP service: JSON API, package index and dashboard (FastAPI)."""

from wheelyard.farm.api.app import ServiceContext, create_app

__all__ = ["ServiceContext", "create_app"]
