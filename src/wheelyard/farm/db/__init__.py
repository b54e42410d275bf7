"""The farm's database: SQLAlchemy models, engine set-up, Alembic migrations."""

from wheelyard.farm.db.engine import Database, open_database
from wheelyard.farm.db.models import (
    ApiToken,
    Base,
    Build,
    BuildJob,
    Package,
    Recipe,
    Wheel,
    WorkerSeen,
)

__all__ = [
    "ApiToken",
    "Base",
    "Build",
    "BuildJob",
    "Database",
    "Package",
    "Recipe",
    "Wheel",
    "WorkerSeen",
    "open_database",
]
