"""What a verification run is given: interpreters, where dependencies come from, the smoke test.

Everything is resolved before verification starts (the CLI or the build reads the environment
and the recipe); verification itself reads no environment variables and no config files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

from wheelyard.config.load import LoadedRecipe, file_inside
from wheelyard.record import TorchEntry
from wheelyard.verify.interpreters import Interpreter
from wheelyard.verify.report import Check
from wheelyard.verify.sandbox import Sandbox
from wheelyard.wheel.inspect import Limits

ALL_CHECKS = frozenset(Check) - {Check.GPU}
DEFAULT_EXCLUDED_PARTS = frozenset({"tests", "test", "testing", "__main__", "conftest"})
"""Module name parts never imported by the import-all check (test suites, program entry points)."""


@dataclass(frozen=True, kw_only=True)
class SmokeTest:
    """The recipe's ``smoke-test``: a script in the project, or a command."""

    value: str
    project_dir: Path

    @property
    def script(self) -> Path | None:
        """The script file when ``value`` names one inside the project, else None (a command,
        run in the sandbox: a host path outside the project is never read)."""
        return file_inside(self.project_dir, self.value)


@dataclass(frozen=True, kw_only=True)
class VerifyOptions:
    interpreters: tuple[Interpreter, ...] = ()
    """Interpreters to install into (see :func:`discover_interpreters`); none: install skipped."""
    platforms: tuple[str, ...] | None = None
    """Platform tags this machine installs; None: packaging's detection of this host."""
    smoke_test: SmokeTest | None = None
    smoke_environment: Mapping[str, str] = field(default_factory=dict)
    """Extra environment for the smoke test (``CUDA_KERNELS_REQUIRE_GPU=1`` on a GPU runner)."""
    optional_modules: tuple[str, ...] = ()
    """Modules (dotted names or globs; a package covers its submodules) the import check skips."""
    find_links: tuple[Path, ...] = ()
    """Folders of wheels dependencies may come from."""
    index_url: str | None = None
    """An index dependencies may come from; None: no index (only ``find_links``)."""
    first_indexes: tuple[str, ...] = ()
    """Indexes asked before ``index_url``, the same version taken from them (a build's torch
    wheelhouse: the gate installs the torch the wheel was built against, downloading nothing);
    ignored without an index (then put them in ``find_links``)."""
    constraints: tuple[str, ...] = ()
    """Requirement pins every install obeys (``torch==2.13.0+cpu ; python_version == "3.11"``)."""
    checks: frozenset[Check] = ALL_CHECKS
    strict: bool = False
    """Import failures the gate otherwise excuses as warnings (optional dependencies, modules
    of other platforms or of Python 2) fail the wheel too."""
    limits: Limits = field(default_factory=Limits)
    install_timeout: float = 600.0
    import_timeout: float = 300.0
    smoke_timeout: float = 900.0
    uv: Path | None = None
    """The uv executable; None: the one installed with wheelyard."""
    environ: Mapping[str, str] | None = None
    """Base environment of the commands run (None: this process's). Python-specific variables
    (PYTHONPATH, PYTHONHOME, VIRTUAL_ENV ...) are always removed."""
    work_dir: Path | None = None
    """Where the throw-away virtual environments go (None: the system's temp folder)."""
    sandbox: Sandbox | None = None
    """Where imports and smoke tests run (see ``verify.sandbox``); None: on this machine, as
    the CLI does only when no container engine exists."""


def with_torch(options: VerifyOptions, torch: TorchEntry | None) -> VerifyOptions:
    """``options`` for the wheels of a job built against ``torch``: the same torch, from the
    job's wheelhouse, in every clean environment."""
    if torch is None:
        return options
    return replace(
        options,
        find_links=(*options.find_links, Path(torch.wheelhouse)),
        first_indexes=(*options.first_indexes, torch.index.resolve().as_uri()),
        constraints=(*options.constraints, *torch.constraints()),
    )


def with_recipe(options: VerifyOptions, loaded: LoadedRecipe) -> VerifyOptions:
    """``options`` plus what the package's recipe says: its smoke test and optional modules."""
    recipe = loaded.recipe
    smoke = options.smoke_test
    if recipe.smoke_test:
        smoke = SmokeTest(value=recipe.smoke_test, project_dir=loaded.project_dir)
    optional = tuple(dict.fromkeys((*options.optional_modules, *recipe.optional_modules)))
    return replace(options, smoke_test=smoke, optional_modules=optional)
