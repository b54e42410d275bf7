"""Steps shared by the reusable workflow's jobs, and the shell scripts the jobs run.

Every value from an input, a matrix entry or a secret reaches a script through ``env:``, never
by ``${{ }}`` inside the script text (no script injection). Names beginning ``WHEELYARD_`` are
recipe overrides read by wheelyard: nothing else in the workflow uses that prefix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wheelyard.ci.github_inputs import SOURCE_DIR, WHEELYARD_PYTHON, Action, Input

Step = dict[str, Any]


def _run(name: str, script: str, env: dict[str, str] | None = None, **extra: Any) -> Step:
    step: Step = {"name": name, **extra}
    if env:
        step["env"] = env
    step["run"] = script.strip("\n") + "\n"
    return step


def checkout() -> Step:
    return {
        "name": "Check out the package",
        "uses": str(Action.CHECKOUT),
        "with": {
            "repository": "${{ inputs.repository || github.repository }}",
            "ref": "${{ inputs.ref }}",
            "path": SOURCE_DIR,
            "persist-credentials": False,
        },
    }


def setup_wheelyard(inputs: Sequence[Input]) -> list[Step]:
    """Python, wheelyard, and the recipe overrides the inputs ask for (as ``$GITHUB_ENV``)."""
    overrides = [i for i in inputs if i.recipe_env is not None]
    puts = "\n".join(f'put {i.recipe_env} "${_env_name(i)}"' for i in overrides)
    return [
        {
            "name": "Set up Python for wheelyard",
            "uses": str(Action.SETUP_PYTHON),
            "with": {"python-version": WHEELYARD_PYTHON},
        },
        _run(
            "Install wheelyard",
            """
set -euo pipefail
requirement=wheelyard
if [ -n "$IN_WHEELYARD_VERSION" ]; then requirement="wheelyard==$IN_WHEELYARD_VERSION"; fi
python -m pip install "$requirement"
wheelyard --version
""",
            {"IN_WHEELYARD_VERSION": "${{ inputs.wheelyard-version }}"},
        ),
        _run(
            "Apply the inputs that override the recipe",
            f"""
set -euo pipefail
# An empty input leaves the package's [tool.wheelyard] as it is.
put() {{
  if [ -n "$2" ]; then
    delimiter="wheelyard_$(python -c 'import secrets; print(secrets.token_hex(16))')"
    printf '%s<<%s\\n%s\\n%s\\n' "$1" "$delimiter" "$2" "$delimiter" >> "$GITHUB_ENV"
    echo "$1 set from the workflow's inputs"
  fi
}}
{puts}
""",
            {_env_name(i): f"${{{{ inputs.{i.name} }}}}" for i in overrides},
        ),
    ]


def _env_name(item: Input) -> str:
    return "IN_" + item.name.upper().replace("-", "_")


PLAN_SCRIPT = """
set -euo pipefail
wheelyard plan "$PACKAGE_PATH" --format github > "$RUNNER_TEMP/plan-matrix.json"
wheelyard ci github-matrix "$RUNNER_TEMP/plan-matrix.json" >> "$GITHUB_OUTPUT"
{
  echo '```text'
  wheelyard ci github "$PACKAGE_PATH" --explain
  echo '```'
} >> "$GITHUB_STEP_SUMMARY"
"""

BUILD_SCRIPT = """
set -euo pipefail
# wheelyard stops the build at 90 % of the job's time limit: it stops its containers, keeps
# the wheels already built and writes the build record, which the failure artifact holds.
# The runner pulls the catalog's official image (a failed pull fails the job: a runner cannot
# make wheelyard's own), and the gate runs the repository's own code on the runner.
wheelyard build "$PACKAGE_PATH" --job "$JOB_ID" --output wheelhouse \\
  --compiler-cache "$RUNNER_TEMP/wheelyard-ccache" --timeout "$(( IN_TIMEOUT_MINUTES * 54 ))" \\
  --images registry --sandbox host
"""

SMOKE_SCRIPT = """
set -euo pipefail
read -r -a dirs <<< "$PACKAGE_DIRS"
read -r -a prefixes <<< "$WHEEL_PREFIXES"
read -r -a pairs <<< "$IN_SMOKE_ENV"
options=()
for pair in ${pairs[@]+"${pairs[@]}"}; do options+=(--env "$pair"); done
if [ -n "$IN_DEPENDENCY_INDEX_URL" ]; then options+=(--index-url "$IN_DEPENDENCY_INDEX_URL"); fi
for i in "${!dirs[@]}"; do
  status=0
  wheelyard smoke --gpu "wheelhouse/$VARIANT/${prefixes[$i]:-}"*.whl --variant "$VARIANT" \\
    --project "$PACKAGE_PATH/${dirs[$i]}" --find-links "wheelhouse/$VARIANT" --sandbox host \\
    ${options[@]+"${options[@]}"} || status=$?
  if [ "$status" -eq 3 ]; then
    echo "::error::no GPU for $VARIANT on runner '$RUNNER_LABEL': the smoke test cannot pass"
  fi
  if [ "$status" -ne 0 ]; then exit "$status"; fi
done
"""

PUBLISH_SCRIPT = """
set -euo pipefail
target=index
if [ "$DRY_RUN" != true ] && [ -n "$IN_PUBLISH_TO" ]; then target="$IN_PUBLISH_TO"; fi
if [ -n "$IN_AWS_ACCESS_KEY_ID" ]; then
  export AWS_ACCESS_KEY_ID="$IN_AWS_ACCESS_KEY_ID" AWS_SECRET_ACCESS_KEY="$IN_AWS_SECRET_ACCESS_KEY"
fi
options=()
if [ -n "$IN_S3_ENDPOINT_URL" ]; then options+=(--endpoint-url "$IN_S3_ENDPOINT_URL"); fi
if [ -n "$IN_AWS_REGION" ]; then options+=(--region "$IN_AWS_REGION"); fi
# One wheelhouse per build job; each publish adds its wheels to the index.
for house in wheelhouses/*/; do
  wheelyard publish "$house" --to "$target" --project "$PACKAGE_PATH" \\
    --fallback "$IN_FALLBACK_VARIANT" ${options[@]+"${options[@]}"}
done
"""

UPLOAD_SCRIPT = """
set -euo pipefail
houses=()
for house in wheelhouses/*/; do
  if [ -d "$house$IN_FALLBACK_VARIANT" ]; then houses+=("$house"); fi
done
if [ "${#houses[@]}" -eq 0 ]; then
  echo "::error::no $IN_FALLBACK_VARIANT wheels were built: nothing to upload as non-variant wheels"
  exit 1
fi
options=(--repository-url "$IN_PYPI_REPOSITORY_URL" --fallback "$IN_FALLBACK_VARIANT")
if [ "$DRY_RUN" = true ]; then
  wheelyard upload "${houses[@]}" "${options[@]}" --dry-run
elif [ -z "$TWINE_PASSWORD" ]; then
  echo "::error::pypi-repository-url is set but the pypi-token secret is empty"
  exit 1
else
  wheelyard upload "${houses[@]}" "${options[@]}" --skip-existing
fi
"""


def run_step(name: str, script: str, env: dict[str, str] | None = None, **extra: Any) -> Step:
    """A ``run`` step; ``extra`` keys (``id``, ``if``) come before ``env`` and ``run``."""
    return _run(name, script, env, **extra)
