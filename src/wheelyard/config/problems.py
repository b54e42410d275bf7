"""Turn pydantic validation errors into wheelyard Problems: file, dotted key, message, hint."""

from __future__ import annotations

import typing
from collections.abc import Callable, Sequence

from pydantic import BaseModel, ValidationError

from wheelyard.config.suggest import did_you_mean
from wheelyard.errors import Problem

SourceOf = Callable[[str], str]


def _model_in(annotation: object) -> type[BaseModel] | None:
    """The model class an annotation holds directly (``Model``, ``Model | None``), if any."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _model_in(arg)
        if found is not None:
            return found
    return None


def _known_keys(model: type[BaseModel], path: Sequence[str | int]) -> list[str]:
    """The keys allowed at ``path`` inside ``model`` (for did-you-mean), best effort."""
    current: type[BaseModel] | None = model
    remaining = list(path)
    while remaining and current is not None:
        key = remaining.pop(0)
        fields = {f.alias or n: f for n, f in current.model_fields.items()}
        field = fields.get(str(key))
        if field is None:
            return []
        annotation = field.annotation
        origin = typing.get_origin(annotation)
        if origin is dict and remaining:
            remaining.pop(0)  # the mapping's own key (a variant or runner name)
            value_type = typing.get_args(annotation)[1]
            current = _model_in(value_type)
        else:
            current = _model_in(annotation)
    if current is None:
        return []
    return [f.alias or n for n, f in current.model_fields.items()]


def problems_from(
    exc: ValidationError,
    *,
    model: type[BaseModel],
    source_of: SourceOf,
    prefix: str = "",
) -> list[Problem]:
    """One Problem per pydantic error, keyed by dotted path and attributed to its source."""
    problems: list[Problem] = []
    for error in exc.errors(include_url=False):
        loc = [part for part in error["loc"] if not (isinstance(part, str) and "[" in part)]
        dotted = ".".join(str(p) for p in loc)
        key = f"{prefix}.{dotted}" if prefix and dotted else (prefix or dotted)
        hint: str | None = None
        if error["type"] == "extra_forbidden":
            message = "unknown key"
            known = _known_keys(model, loc[:-1])
            hint = did_you_mean(str(loc[-1]), known) or (
                f"known keys: {', '.join(sorted(known))}" if known else None
            )
        else:
            message = str(error["msg"]).removeprefix("Value error, ")
            value = error.get("input")
            if error["type"] != "value_error" and isinstance(value, str | int | float):
                message = f"{message}, got {value!r}"
        problems.append(Problem(source=source_of(key), key=key, message=message, hint=hint))
    return problems
