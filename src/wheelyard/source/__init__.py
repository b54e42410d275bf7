"""What a package is: a source tree or an sdist, and the name and version it reports."""

from wheelyard.source.metadata import (
    MetadataError,
    ProjectMetadata,
    backend_metadata,
    own_version,
    pkg_info,
    project_metadata,
    static_metadata,
)

__all__ = [
    "MetadataError",
    "ProjectMetadata",
    "backend_metadata",
    "own_version",
    "pkg_info",
    "project_metadata",
    "static_metadata",
]
