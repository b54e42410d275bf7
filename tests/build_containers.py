"""Build containers (labelled ``dev.wheelyard.job``) that exist on this machine."""

from __future__ import annotations

import subprocess


def build_container_sources() -> str:
    """The host paths mounted into every build container (labelled ``dev.wheelyard.job``) that
    exists now, running or exited: a container left behind shows up here."""
    ids = subprocess.run(
        ["podman", "ps", "-a", "-q", "--filter", "label=dev.wheelyard.job"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not ids:
        return ""
    return subprocess.run(
        ["podman", "inspect", "--format", "{{range .Mounts}}{{.Source}} {{end}}", *ids],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
