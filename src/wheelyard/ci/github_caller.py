"""The caller workflow a package adds: a dozen lines that hand its wheels to wheelyard.

It is a starting point the package's maintainers own (written once, then edited), so it is
text with comments rather than generated data.
"""

from __future__ import annotations

import json

CALLER_TEMPLATE = """\
# Wheels for {project}: plan, build every Python of a variant in one job on CPU runners,
# smoke-test GPU variants on GPU runners, publish. The jobs come from [tool.wheelyard] at run
# time; {workflow} (from `wheelyard ci github`) runs them. Pull requests run
# everything and publish nothing (a dry run).
name: wheels

on:
  push:
    branches: [main]
    tags: ["v*"]
  pull_request:
  schedule:
    - cron: "17 3 * * *"  # the nightly channel
  workflow_dispatch:

permissions:
  contents: read
  id-token: write  # the publish job may assume a cloud role with OIDC; builds only read

concurrency:
  group: wheels-${{{{ github.ref }}}}
  cancel-in-progress: ${{{{ github.event_name == 'pull_request' }}}}

jobs:
  wheels:
    uses: {uses}
    with:
{package_path}\
      channel: ${{{{ startsWith(github.ref, 'refs/tags/v') && 'release' || '' }}}}
      # publish-to: s3://BUCKET/wheels      # S3, or R2/MinIO with s3-endpoint-url
      # aws-role-arn: arn:aws:iam::ACCOUNT:role/ROLE
      # pypi-repository-url: https://upload.pypi.org/legacy/
    secrets: inherit
"""


def caller_workflow(*, project: str, uses: str, workflow: str, package_path: str) -> str:
    """The caller's text. ``uses`` is the reusable workflow (``./.github/workflows/X.yml``)."""
    line = ""
    if package_path != ".":
        line = f"      package-path: {json.dumps(package_path)}\n"
    return CALLER_TEMPLATE.format(project=project, uses=uses, workflow=workflow, package_path=line)
