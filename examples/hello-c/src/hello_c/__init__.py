"""hello_c: a minimal C extension (checksum, word count, norm, greeting)."""

from importlib.metadata import PackageNotFoundError, version

from hello_c._hello import count_words, fletcher32, greet, norm

try:
    __version__ = version("hello-c")
except PackageNotFoundError:  # imported from a source tree that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "count_words", "fletcher32", "greet", "norm"]
