"""A package as many older sdists are: setup.py, no pyproject.toml, version in the code."""

from setuptools import Extension, setup

setup(
    name="setup-py-only",
    version="2.3.1",
    ext_modules=[Extension("setup_py_only", ["setup_py_only.c"])],
)
