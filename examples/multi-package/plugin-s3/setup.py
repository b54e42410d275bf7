"""Build yardstream-s3's C extension, pinned to the yardstream built from the same commit.

The version is BUILD_VERSION when the build farm sets it, else version.txt; the plugin requires
exactly that version of yardstream, whose C API its extension imports at load time.
"""

import os
from pathlib import Path

from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent


def package_version() -> str:
    """BUILD_VERSION when the build farm sets it (nightlies), else the base version."""
    return os.environ.get("BUILD_VERSION") or (HERE / "version.txt").read_text().strip()


VERSION = package_version()

setup(
    version=VERSION,
    install_requires=[f"yardstream=={VERSION}"],
    ext_modules=[Extension("yardstream_s3._s3", sources=["src/yardstream_s3/_s3.c"])],
)
