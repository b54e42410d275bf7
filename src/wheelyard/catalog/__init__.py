"""The accelerator/toolchain catalog: data shipped with wheelyard, extensible from a recipe."""

from wheelyard.catalog.load import load_catalog
from wheelyard.catalog.model import Catalog

__all__ = ["Catalog", "load_catalog"]
