"""Build yardstream's C extension; the version comes from BUILD_VERSION or version.txt."""

import os
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent


def package_version() -> str:
    """BUILD_VERSION when the build farm sets it (nightlies), else the base version."""
    return os.environ.get("BUILD_VERSION") or (HERE / "version.txt").read_text().strip()


setup(
    version=package_version(),
    ext_modules=[
        Extension(
            "yardstream._core",
            sources=["src/yardstream/_core.c"],
            depends=["src/yardstream/_capi.h"],
        )
    ],
)
