from setuptools import Extension, setup

setup(ext_modules=[Extension("fails_on_cp312", ["src/fails.c"])])
