"""The JSON Schema of ``[tool.wheelyard]``, generated from the models (kept in ``schema/``)."""

from __future__ import annotations

import copy
import json
from typing import Any

from wheelyard.config.accelerator import RunnerEntry, VariantEntry
from wheelyard.config.model import Recipe

SCHEMA_ID = "https://wheelyard.dev/schema/recipe.schema.json"


def recipe_schema() -> dict[str, Any]:
    """The schema of the recipe table, with profiles and catalog extensions spelled out."""
    schema = Recipe.model_json_schema(by_alias=True, mode="validation")
    defs = schema.setdefault("$defs", {})

    # A single string is accepted wherever a list of strings is (variants = "cu128").
    for key in ("variants", "python", "platforms"):
        schema["properties"][key] = {
            "anyOf": [schema["properties"][key]["items"], schema["properties"][key]]
        }

    profile = {
        "type": "object",
        "additionalProperties": False,
        "description": "Overrides of recipe keys, applied with --profile.",
        "properties": {
            k: copy.deepcopy(v)
            for k, v in schema["properties"].items()
            if k not in ("profiles", "catalog")
        },
    }
    defs["Profile"] = profile
    schema["properties"]["profiles"]["additionalProperties"] = {"$ref": "#/$defs/Profile"}

    variant = VariantEntry.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    runner = RunnerEntry.model_json_schema(by_alias=True, ref_template="#/$defs/{model}")
    for sub in (variant, runner):
        defs.update(sub.pop("$defs", {}))
    # In a recipe every variant field is optional: an entry may patch a shipped variant.
    variant_patch = copy.deepcopy(variant)
    variant_patch.pop("required", None)
    defs["VariantPatch"] = variant_patch
    defs["RunnerEntry"] = runner
    schema["properties"]["catalog"] = {
        "type": "object",
        "additionalProperties": False,
        "description": Recipe.model_fields["catalog"].description,
        "properties": {
            "variants": {
                "type": "object",
                "additionalProperties": {"$ref": "#/$defs/VariantPatch"},
            },
            "runners": {"type": "object", "additionalProperties": {"$ref": "#/$defs/RunnerEntry"}},
        },
    }
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        **schema,
    }


def recipe_schema_text() -> str:
    return json.dumps(recipe_schema(), indent=2, sort_keys=True) + "\n"
