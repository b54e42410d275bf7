"""The reusable workflow's interface: its inputs, secrets and outputs, and the actions it uses."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class InputType(StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


@dataclass(frozen=True, kw_only=True)
class Input:
    name: str
    description: str
    type: InputType = InputType.STRING
    default: str | int | bool = ""
    recipe_env: str | None = None
    """The ``WHEELYARD_*`` variable a non-empty value sets (a recipe override)."""

    def to_yaml(self) -> dict[str, Any]:
        return {
            "description": self.description,
            "type": str(self.type),
            "required": False,
            "default": self.default,
        }


def _recipe(name: str, key: str, what: str) -> Input:
    return Input(
        name=name,
        description=f"{what} Empty: the package's [tool.wheelyard] {key}.",
        recipe_env=f"WHEELYARD_{key.upper().replace('-', '_')}",
    )


def workflow_inputs(wheelyard_version: str) -> tuple[Input, ...]:
    """Every input, in the order the workflow lists them (all optional)."""
    return (
        Input(
            name="repository",
            description="Repository to build (owner/name). Empty: the calling repository.",
        ),
        Input(name="ref", description="Branch, tag or commit to build. Empty: the event's."),
        Input(
            name="package-path",
            description="The package directory (holding pyproject.toml) in the repository.",
            default=".",
        ),
        Input(
            name="profile",
            description="A profile of [tool.wheelyard.profiles] to apply (e.g. pr).",
            recipe_env="WHEELYARD_PROFILE",
        ),
        _recipe("variants", "variants", "Variants to build, space-separated (cpu cu128)."),
        _recipe("python", "python", "Python selection (>=3.10, or cp312 cp313, or abi3)."),
        _recipe("platforms", "platforms", "Platforms, space-separated (linux-x86_64 macos-arm64)."),
        _recipe("channel", "channel", "nightly, test or release."),
        _recipe("before-build", "before-build", "Script run before each Python's build."),
        _recipe("smoke-test", "smoke-test", "Smoke test: a script path or a command."),
        Input(
            name="smoke-env",
            description="KEY=VALUE pairs, space-separated, for the GPU smoke test's environment.",
        ),
        Input(
            name="dependency-index-url",
            description="Index the smoke test installs the wheels' dependencies from.",
            default="https://pypi.org/simple/",
        ),
        Input(
            name="publish-to",
            description="Store to publish the index to: s3://bucket/prefix (AWS S3, R2, MinIO). "
            "Empty: the index is only uploaded as the run's artifact.",
        ),
        Input(
            name="s3-endpoint-url",
            description="S3-compatible endpoint (Cloudflare R2, MinIO). Empty: AWS.",
        ),
        Input(
            name="aws-role-arn",
            description="IAM role to assume with GitHub's OIDC token for publishing (no keys). "
            "Empty: the aws-access-key-id / aws-secret-access-key secrets.",
        ),
        Input(name="aws-region", description="Region of the store (R2: auto)."),
        Input(
            name="pypi-repository-url",
            description="Also upload the non-variant wheels with twine, e.g. "
            "https://upload.pypi.org/legacy/ (needs the pypi-token secret). Empty: no upload.",
        ),
        Input(
            name="fallback-variant",
            description="Variant whose wheels become the non-variant wheels for old installers.",
            default="cpu",
        ),
        Input(
            name="dry-run",
            description="Publish to a local index (uploaded as an artifact) and upload nothing. "
            "Always on for pull requests.",
            type=InputType.BOOLEAN,
            default=False,
        ),
        Input(
            name="timeout-minutes",
            description="Time limit of each build and smoke job, in minutes.",
            type=InputType.NUMBER,
            default=120,
        ),
        Input(
            name="cache-key",
            description="Compiler cache key prefix; change it to start a fresh cache. "
            "Empty: no cache between runs.",
            default="v1",
        ),
        Input(
            name="wheelyard-version",
            description="wheelyard release to install. Empty: the newest.",
            default=wheelyard_version,
        ),
    )


SECRETS: dict[str, str] = {
    "aws-access-key-id": "Access key for publish-to (R2, MinIO, AWS without aws-role-arn).",
    "aws-secret-access-key": "Secret key belonging to aws-access-key-id.",
    "pypi-token": "API token for pypi-repository-url. PyPI's trusted publishing does not "
    "accept reusable workflows (pypi/warehouse#11096).",
}


class Action(StrEnum):
    """Actions the workflow uses, pinned to a major version in one place."""

    CHECKOUT = "actions/checkout@v5"
    SETUP_PYTHON = "actions/setup-python@v6"
    CACHE = "actions/cache@v5"
    UPLOAD_ARTIFACT = "actions/upload-artifact@v6"
    DOWNLOAD_ARTIFACT = "actions/download-artifact@v6"
    AWS_CREDENTIALS = "aws-actions/configure-aws-credentials@v5"


CONTROL_RUNNER = "ubuntu-latest"
"""Where the plan and publish jobs run (they build nothing)."""
WHEELYARD_PYTHON = "3.12"
"""The interpreter wheelyard itself runs on in every job."""
SOURCE_DIR = "source"
"""Where the package's repository is checked out, beside the wheelhouse."""
