from setuptools import Extension, setup

setup(ext_modules=[Extension("undeclared_dep._speed", ["src/undeclared_dep/_speed.c"])])
