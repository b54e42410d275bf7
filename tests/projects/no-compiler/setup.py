from setuptools import Extension, setup

setup(ext_modules=[Extension("no_compiler", ["src/no_compiler.c"])])
