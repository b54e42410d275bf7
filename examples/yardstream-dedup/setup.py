"""Build yardstream-dedup's C extension against the yardstream installed in the build
environment.

yardstream is a build requirement: its C API version (``yardstream.CAPI_VERSION``) is compiled
into the extension, which refuses to load against a yardstream with another one, and the wheel
requires a yardstream at least as new as the one it was built against. The version is
BUILD_VERSION when the build farm sets it (nightlies), else version.txt.
"""

import os
from pathlib import Path

import yardstream
from setuptools import Extension, setup

HERE = Path(__file__).resolve().parent
BUILT_AGAINST = yardstream.__version__


def package_version() -> str:
    return os.environ.get("BUILD_VERSION") or (HERE / "version.txt").read_text().strip()


setup(
    version=package_version(),
    install_requires=[f"yardstream>={BUILT_AGAINST},<0.2"],
    ext_modules=[
        Extension(
            "yardstream_dedup._dedup",
            sources=["src/yardstream_dedup/_dedup.c"],
            define_macros=[
                ("YARDSTREAM_CAPI_VERSION", str(yardstream.CAPI_VERSION)),
                ("YARDSTREAM_BUILT_AGAINST", f'"{BUILT_AGAINST}"'),
            ],
        )
    ],
)
