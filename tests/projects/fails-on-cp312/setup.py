import sys

from setuptools import Extension, setup

macros = [("BREAK_THE_BUILD", "1")] if sys.version_info[:2] == (3, 12) else []
setup(ext_modules=[Extension("fails_on_cp312", ["src/fails.c"], define_macros=macros)])
