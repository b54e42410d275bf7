"""What a package is: a source tree or an sdist, and the name and version it reports."""

from wheelyard.errors import MetadataError
from wheelyard.source.index import DEFAULT_INDEX, fetch_sdist, parse_requirement
from wheelyard.source.metadata import (
    ProjectMetadata,
    backend_metadata,
    own_version,
    pkg_info,
    project_metadata,
    static_metadata,
)

__all__ = [
    "DEFAULT_INDEX",
    "MetadataError",
    "ProjectMetadata",
    "backend_metadata",
    "fetch_sdist",
    "own_version",
    "parse_requirement",
    "pkg_info",
    "project_metadata",
    "static_metadata",
]
