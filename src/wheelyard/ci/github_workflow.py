"""The reusable GitHub Actions workflow: plan -> build -> smoke -> publish.

Every job only installs wheelyard and runs its commands, so the same flow runs locally and in
the farm. The matrices come from the ``plan`` job at run time: a change of the recipe's
variants, Pythons or consolidation changes the jobs without regenerating this file.
"""

from __future__ import annotations

from typing import Any

from wheelyard.ci.github_inputs import (
    CONTROL_RUNNER,
    SECRETS,
    SOURCE_DIR,
    Action,
    Input,
    workflow_inputs,
)
from wheelyard.ci.github_steps import (
    BUILD_SCRIPT,
    PLAN_SCRIPT,
    PUBLISH_SCRIPT,
    SMOKE_SCRIPT,
    UPLOAD_SCRIPT,
    Step,
    checkout,
    run_step,
    setup_wheelyard,
)
from wheelyard.record import RECORD_NAME

WORKFLOW_NAME = "wheelyard"
DRY_RUN = "${{ inputs.dry-run || github.event_name == 'pull_request' }}"
CCACHE_KEY = "wheelyard-ccache-${{ inputs.cache-key }}-${{ matrix.id }}-"


def _prepare(inputs: tuple[Input, ...]) -> list[Step]:
    return [checkout(), *setup_wheelyard(inputs)]


def plan_job(inputs: tuple[Input, ...]) -> dict[str, Any]:
    outputs = ("matrix", "smoke-matrix", "build-count", "smoke-count")
    return {
        "name": "plan",
        "runs-on": CONTROL_RUNNER,
        "timeout-minutes": 15,
        "outputs": {name: f"${{{{ steps.plan.outputs.{name} }}}}" for name in outputs},
        "steps": [
            *_prepare(inputs),
            run_step("Plan the jobs (the matrix comes from the recipe)", PLAN_SCRIPT, id="plan"),
        ],
    }


def build_job(inputs: tuple[Input, ...]) -> dict[str, Any]:
    return {
        "name": "build ${{ matrix.id }}",
        "needs": "plan",
        "runs-on": "${{ matrix.build_runner }}",
        "timeout-minutes": "${{ inputs.timeout-minutes }}",
        "strategy": {"fail-fast": False, "matrix": "${{ fromJSON(needs.plan.outputs.matrix) }}"},
        "steps": [
            *_prepare(inputs),
            {
                "name": "Compiler cache (restored here, saved after the job)",
                "if": "inputs.cache-key != ''",
                "uses": str(Action.CACHE),
                "with": {
                    "path": "${{ runner.temp }}/wheelyard-ccache",
                    "key": CCACHE_KEY + "${{ github.sha }}",
                    "restore-keys": CCACHE_KEY,
                },
            },
            run_step(
                "Build ${{ matrix.variant }} for ${{ matrix.pythons }}",
                BUILD_SCRIPT,
                {
                    "JOB_ID": "${{ matrix.id }}",
                    "IN_TIMEOUT_MINUTES": "${{ inputs.timeout-minutes }}",
                },
            ),
            {
                "name": "Keep the wheels and the build record",
                "uses": str(Action.UPLOAD_ARTIFACT),
                "with": {
                    "name": "wheels-${{ matrix.id }}",
                    "path": "wheelhouse",
                    "if-no-files-found": "error",
                },
            },
            {
                "name": "Keep the build record and logs of a failed build",
                "if": "failure()",
                "uses": str(Action.UPLOAD_ARTIFACT),
                "with": {
                    "name": "build-logs-${{ matrix.id }}",
                    "path": f"wheelhouse/{RECORD_NAME}\nwheelhouse/logs\n",
                    "if-no-files-found": "ignore",
                },
            },
        ],
    }


def smoke_job(inputs: tuple[Input, ...]) -> dict[str, Any]:
    return {
        "name": "smoke ${{ matrix.id }}",
        "needs": ["plan", "build"],
        "if": "needs.plan.outputs.smoke-count != '0'",
        "runs-on": "${{ matrix.validation_runner }}",
        "timeout-minutes": "${{ inputs.timeout-minutes }}",
        "strategy": {
            "fail-fast": False,
            "matrix": "${{ fromJSON(needs.plan.outputs.smoke-matrix) }}",
        },
        "steps": [
            checkout(),
            {
                "name": "Set up the Pythons the wheels are tested on",
                "uses": str(Action.SETUP_PYTHON),
                "with": {
                    "python-version": "${{ matrix.python_versions }}",
                    "allow-prereleases": True,
                },
            },
            *setup_wheelyard(inputs),
            {
                "name": "Fetch the wheels of ${{ matrix.id }}",
                "uses": str(Action.DOWNLOAD_ARTIFACT),
                "with": {"name": "wheels-${{ matrix.id }}", "path": "wheelhouse"},
            },
            run_step(
                "GPU smoke test of ${{ matrix.variant }}",
                SMOKE_SCRIPT,
                {
                    "VARIANT": "${{ matrix.variant }}",
                    "PACKAGE_DIRS": "${{ matrix.package_dirs }}",
                    "WHEEL_PREFIXES": "${{ matrix.wheel_prefixes }}",
                    "RUNNER_LABEL": "${{ matrix.validation_runner }}",
                    "IN_SMOKE_ENV": "${{ inputs.smoke-env }}",
                    "IN_DEPENDENCY_INDEX_URL": "${{ inputs.dependency-index-url }}",
                },
            ),
        ],
    }


def publish_job(inputs: tuple[Input, ...]) -> dict[str, Any]:
    credentials_if = "inputs.aws-role-arn != '' && inputs.publish-to != '' && env.DRY_RUN != 'true'"
    return {
        "name": "publish",
        "needs": ["plan", "build", "smoke"],
        "if": "${{ !cancelled() && needs.build.result == 'success' && "
        "(needs.smoke.result == 'success' || needs.smoke.result == 'skipped') }}",
        "runs-on": CONTROL_RUNNER,
        "timeout-minutes": 60,
        "permissions": {"contents": "read", "id-token": "write"},
        "concurrency": {
            "group": "wheelyard-publish-${{ inputs.publish-to || github.repository }}",
            "cancel-in-progress": False,
        },
        "env": {"DRY_RUN": DRY_RUN},
        "steps": [
            *_prepare(inputs),
            {
                "name": "Fetch every build's wheels",
                "uses": str(Action.DOWNLOAD_ARTIFACT),
                "with": {"pattern": "wheels-*", "path": "wheelhouses"},
            },
            {
                "name": "Assume the publishing role (OIDC, no stored keys)",
                "if": credentials_if,
                "uses": str(Action.AWS_CREDENTIALS),
                "with": {
                    "role-to-assume": "${{ inputs.aws-role-arn }}",
                    "aws-region": "${{ inputs.aws-region || 'us-east-1' }}",
                },
            },
            run_step(
                "Publish the variant, fallback and legacy wheels and the index",
                PUBLISH_SCRIPT,
                {
                    "IN_PUBLISH_TO": "${{ inputs.publish-to }}",
                    "IN_S3_ENDPOINT_URL": "${{ inputs.s3-endpoint-url }}",
                    "IN_AWS_REGION": "${{ inputs.aws-region }}",
                    "IN_FALLBACK_VARIANT": "${{ inputs.fallback-variant }}",
                    "IN_AWS_ACCESS_KEY_ID": "${{ secrets.aws-access-key-id }}",
                    "IN_AWS_SECRET_ACCESS_KEY": "${{ secrets.aws-secret-access-key }}",
                },
            ),
            {
                "name": "Keep the index (dry run, or no store given)",
                "if": "env.DRY_RUN == 'true' || inputs.publish-to == ''",
                "uses": str(Action.UPLOAD_ARTIFACT),
                "with": {"name": "index", "path": "index", "if-no-files-found": "error"},
            },
            run_step(
                "Upload the non-variant wheels with twine",
                UPLOAD_SCRIPT,
                {
                    "IN_PYPI_REPOSITORY_URL": "${{ inputs.pypi-repository-url }}",
                    "IN_FALLBACK_VARIANT": "${{ inputs.fallback-variant }}",
                    "TWINE_USERNAME": "__token__",
                    "TWINE_PASSWORD": "${{ secrets.pypi-token }}",
                },
                **{"if": "inputs.pypi-repository-url != ''"},
            ),
        ],
    }


def reusable_workflow(wheelyard_version: str) -> dict[str, Any]:
    """The workflow document (plain data, in the order it is written)."""
    inputs = workflow_inputs(wheelyard_version)
    return {
        "name": WORKFLOW_NAME,
        "on": {
            "workflow_call": {
                "inputs": {item.name: item.to_yaml() for item in inputs},
                "secrets": {
                    name: {"description": text, "required": False} for name, text in SECRETS.items()
                },
                "outputs": {
                    "matrix": {
                        "description": "The build matrix the plan job computed (JSON).",
                        "value": "${{ jobs.plan.outputs.matrix }}",
                    },
                },
            }
        },
        "permissions": {"contents": "read"},
        "defaults": {"run": {"shell": "bash"}},
        "env": {
            "PACKAGE_PATH": f"{SOURCE_DIR}/${{{{ inputs.package-path }}}}",
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        },
        "jobs": {
            "plan": plan_job(inputs),
            "build": build_job(inputs),
            "smoke": smoke_job(inputs),
            "publish": publish_job(inputs),
        },
    }
