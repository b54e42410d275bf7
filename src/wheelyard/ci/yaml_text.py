"""Deterministic YAML for CI files: PyYAML with GitHub's reading of YAML (1.2 booleans).

The same document always gives the same bytes: keys keep their insertion order, multi-line
strings are literal blocks, lines are never folded, sequences are indented under their key and
jobs are separated by a blank line. Only ``true``/``false`` are booleans (YAML 1.2, as GitHub
reads workflows), so ``on:`` stays a plain key and ``"3.10"`` stays a quoted string.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

BOOL_TAG = "tag:yaml.org,2002:bool"
_YAML12_BOOL = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


def _yaml12_resolvers() -> dict[Any, list[tuple[str, re.Pattern[str]]]]:
    """PyYAML's implicit resolvers with YAML 1.2 booleans (``on``, ``yes``, ``off`` are strings)."""
    table = {
        first: [(tag, regexp) for tag, regexp in resolvers if tag != BOOL_TAG]
        for first, resolvers in yaml.resolver.Resolver.yaml_implicit_resolvers.items()
    }
    for first in "tTfF":
        table.setdefault(first, []).append((BOOL_TAG, _YAML12_BOOL))
    return table


class WorkflowDumper(yaml.SafeDumper):
    """Safe dumping, YAML 1.2 booleans, block sequences indented under their key, no aliases."""

    yaml_implicit_resolvers = _yaml12_resolvers()

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:  # noqa: ARG002
        super().increase_indent(flow, False)

    def ignore_aliases(self, data: Any) -> bool:  # noqa: ARG002 - never any alias
        return True


def _represent_str(dumper: WorkflowDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


WorkflowDumper.add_representer(str, _represent_str)


class WorkflowLoader(yaml.SafeLoader):
    """Safe loading with YAML 1.2 booleans: reads a workflow the way GitHub does."""

    yaml_implicit_resolvers = _yaml12_resolvers()


def load_yaml(text: str) -> Any:
    """Parse a workflow as GitHub does (``on`` is a key, not ``True``)."""
    return yaml.load(text, Loader=WorkflowLoader)  # a SafeLoader subclass


def _spaced(text: str, section: str) -> str:
    """A blank line before every top-level key but the first, and between the entries of
    ``section`` (the jobs). Block scalars are indented deeper, so they are never touched."""
    lines = text.splitlines()
    out: list[str] = []
    in_section = False
    for line in lines:
        top_level = bool(line) and not line.startswith((" ", "#"))
        entry = in_section and re.match(r"^  [A-Za-z0-9_-]+:\s*$", line) is not None
        after_header = out[-1].rstrip() == f"{section}:" if out else True
        if (top_level or entry) and out and out[-1] and not after_header:
            out.append("")
        if top_level:
            in_section = line.rstrip() == f"{section}:"
        out.append(line)
    return "\n".join(out) + "\n"


def dump_yaml(document: Mapping[str, Any], *, header: str = "", section: str = "jobs") -> str:
    """``document`` as YAML text; ``header`` becomes leading ``#`` comment lines."""
    body = yaml.dump(
        dict(document),
        Dumper=WorkflowDumper,
        sort_keys=False,
        default_flow_style=False,
        allow_unicode=True,
        width=4096,
        indent=2,
    )
    comments = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    return comments + _spaced(body, section)
