"""Derived artefacts are generated from code; these tests fail when they drift."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import jsonschema
import pytest

from wheelyard.catalog import load_catalog
from wheelyard.catalog.docs import catalog_markdown
from wheelyard.config.schema import recipe_schema, recipe_schema_text

REPO = Path(__file__).parents[2]


def test_schema_file_matches_the_model() -> None:
    kept = (REPO / "schema" / "recipe.schema.json").read_text(encoding="utf-8")
    assert kept == recipe_schema_text(), (
        "schema/recipe.schema.json drifted: run `wheelyard config schema -o "
        "schema/recipe.schema.json`"
    )


def test_catalog_doc_matches_the_data() -> None:
    kept = (REPO / "docs" / "catalog.md").read_text(encoding="utf-8")
    assert kept == catalog_markdown(load_catalog()), (
        "docs/catalog.md drifted: run `wheelyard catalog -f markdown > docs/catalog.md`"
    )


def tables() -> list[Path]:
    found = sorted(REPO.glob("examples/**/pyproject.toml"))
    found += sorted((REPO / "tests" / "projects").glob("*/pyproject.toml"))
    return [p for p in found if p.parent.name != "bad-toml"]  # not TOML at all


@pytest.mark.parametrize("path", tables(), ids=lambda p: str(p.relative_to(REPO)))
def test_schema_agrees_with_the_loader(path: Path) -> None:
    """The JSON Schema accepts exactly the tables the loader accepts (fixture by fixture)."""
    from wheelyard.config import load_recipe
    from wheelyard.errors import ConfigError

    data = tomllib.loads(path.read_text(encoding="utf-8"))
    table = data.get("tool", {}).get("wheelyard", {})
    validator = jsonschema.Draft202012Validator(recipe_schema())
    schema_ok = not list(validator.iter_errors(table))
    try:
        load_recipe(path, environ={})
        loader_ok = True
    except ConfigError:
        loader_ok = False
    assert schema_ok == loader_ok, json.dumps(table)


def test_schema_is_a_valid_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(recipe_schema())
