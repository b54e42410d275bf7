"""wheelyard: plan, build, verify and publish wheels for every Python x platform x accelerator."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("wheelyard")
except PackageNotFoundError:  # pragma: no cover - running from a source tree without install
    __version__ = "0+unknown"

__all__ = ["__version__"]
