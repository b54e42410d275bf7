"""Typed errors raised by library code; only the CLI turns them into messages and exit codes.

Every error carries what went wrong (``message``) and what to do next (``hint``). Errors that
collect several problems (configuration, catalog) keep each one so that all are reported at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

EXIT_FAILURE = 1
"""Something failed: a build, a check, a command wheelyard ran."""
EXIT_BAD_INPUT = 2
"""The input is wrong: recipe, options, a file, a package name; nothing was attempted."""
EXIT_NOTHING_TO_RUN = 3
"""Nothing this machine can run: every planned job needs another runner, or a GPU check found no
GPU. Not a failure of what was asked, and never a silent success."""
EXIT_INTERRUPTED = 130
"""Ctrl-C: what was running was stopped, what was done is recorded."""


class WheelyardError(Exception):
    """Base class of every error wheelyard raises on purpose."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n{self.hint}"


@dataclass(frozen=True, kw_only=True)
class Problem:
    """One problem found in an input file: where it is, what is wrong, what to do."""

    source: str
    key: str
    message: str
    hint: str | None = None

    def render(self) -> str:
        where = f"{self.source}: {self.key}" if self.key else self.source
        text = f"{where}: {self.message}"
        return text if self.hint is None else f"{text} ({self.hint})"


class ProblemsError(WheelyardError):
    """An error made of several problems, all reported together."""

    exit_code = EXIT_BAD_INPUT
    title = "invalid input"

    def __init__(self, problems: Sequence[Problem], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        count = len(self.problems)
        head = f"{self.title} ({count} problem{'s' if count != 1 else ''})"
        body = "\n".join(f"  - {p.render()}" for p in self.problems)
        super().__init__(f"{head}:\n{body}", hint=hint)


class ConfigError(ProblemsError):
    """The recipe (``[tool.wheelyard]``, farm recipe file, environment) is invalid."""

    title = "invalid wheelyard configuration"


class CatalogError(ProblemsError):
    """The accelerator catalog (shipped data file or a recipe's extension) is invalid."""

    title = "invalid accelerator catalog"


class PlanError(WheelyardError):
    """The recipe is valid but asks for a matrix that cannot be planned."""

    exit_code = EXIT_BAD_INPUT


class VersionError(WheelyardError):
    """A build version cannot be derived (no base version, no nightly date, bad value)."""

    exit_code = EXIT_BAD_INPUT


class OutputError(WheelyardError):
    """A file a command was asked to write (``--json FILE``, ``-o``) cannot be written."""

    exit_code = EXIT_BAD_INPUT


class RecordError(WheelyardError):
    """A build record that cannot be read: missing, another schema, a field of the wrong type."""

    exit_code = EXIT_BAD_INPUT


class SourceError(WheelyardError):
    """A package's source cannot be had or read: a name the index does not have, a version with
    no sdist, an archive that is not safe to unpack, metadata the backend cannot report."""

    exit_code = 2


class MetadataError(SourceError):
    """The package's name or version cannot be read, or is not valid."""


class TimingsError(ProblemsError):
    """A ``--timings`` file for the cost model is invalid."""

    title = "invalid timings file"


class BuildRequestError(WheelyardError):
    """The build asked for something the plan does not have."""

    exit_code = EXIT_BAD_INPUT


class BuildFailedError(WheelyardError):
    """At least one job failed, or a wheel failed the gate; the record and logs say which."""


class NothingToRunError(WheelyardError):
    """No planned job can run on this machine (they need other runners): nothing was built."""

    exit_code = EXIT_NOTHING_TO_RUN


class BuildInterruptedError(WheelyardError):
    """Ctrl-C during a job: containers stopped, the record written, then this."""

    exit_code = EXIT_INTERRUPTED


class TorchError(WheelyardError):
    """A job's torch could not be had: no source has one that matches the specifier for the
    job's Python and platform, or a source does not answer. The job stops before compiling."""


class VerifyFailedError(WheelyardError):
    """At least one wheel failed a check (or, with --strict, a check was skipped)."""


class ProcessError(WheelyardError):
    """An external command failed, could not start, or ran past its timeout."""

    def __init__(
        self,
        message: str,
        *,
        argv: Sequence[str],
        returncode: int | None,
        output_tail: str = "",
        log_path: str | None = None,
        timed_out: bool = False,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.argv = tuple(argv)
        self.returncode = returncode
        self.output_tail = output_tail
        self.log_path = log_path
        self.timed_out = timed_out


class EngineError(WheelyardError):
    """No working container engine (podman, docker), or an engine command failed."""


class ImageError(WheelyardError):
    """A builder image could not be built, inspected or removed."""


class ImageRequestError(ImageError):
    """A builder image was asked for that wheelyard cannot build (unknown variant, platform)."""

    exit_code = EXIT_BAD_INPUT


class WheelError(WheelyardError):
    """A wheel file cannot be read or written (not a zip, bad name, missing dist-info)."""

    exit_code = EXIT_BAD_INPUT


class VariantError(WheelyardError):
    """PEP 825 variant data is invalid: a label, a property, a variant.json/variants.json file,
    or wheels of one release that disagree (metadata, labels, namespace order)."""

    exit_code = EXIT_BAD_INPUT


class StoreError(WheelyardError):
    """An artifact store (file system, S3/R2) could not be read or written."""


class StoreConflictError(StoreError):
    """A file already in the store has other content: published files never change."""

    exit_code = EXIT_BAD_INPUT


class PublishError(WheelyardError):
    """A wheelhouse cannot be published (no build record, missing or changed wheels, ...)."""

    exit_code = EXIT_BAD_INPUT


class IndexFormatError(WheelyardError):
    """A package index page or a variants.json read from an index is malformed."""


class DetectError(WheelyardError):
    """Platform detection failed, or a detection override file is invalid."""

    exit_code = EXIT_BAD_INPUT


class SelectError(WheelyardError):
    """No wheel of a package fits this platform, or the package is not on the index."""


class UploadError(WheelyardError):
    """An upload to a PyPI-compatible index was refused before or by twine."""


class VerifyError(WheelyardError):
    """Wheels cannot be verified as asked: no wheel found, an unusable interpreter, an unknown
    variant."""

    exit_code = EXIT_BAD_INPUT


class DiffError(WheelyardError):
    """Two wheels (or folders of wheels) cannot be compared: a missing path, a file against a
    folder, a file that is not a wheel."""

    exit_code = EXIT_BAD_INPUT


class FarmError(WheelyardError):
    """The farm cannot do what was asked: a service did not start or cannot be reached."""


class FarmRequestError(FarmError):
    """A farm request is invalid: a malformed submission, an unknown build, a bad option."""

    exit_code = EXIT_BAD_INPUT


class FarmForbiddenError(FarmRequestError):
    """The token may not do this (another package, not admin): HTTP 403."""


class FarmDatabaseError(FarmError):
    """The farm's database cannot be opened, reached or migrated."""


class FarmWorkerError(FarmError):
    """A worker was asked to serve a queue this machine cannot serve (no GPU, no engine)."""

    exit_code = EXIT_BAD_INPUT


class CiError(WheelyardError):
    """A CI configuration cannot be generated as asked (an output folder outside the package's
    repository, a generated file that drifted under --check), or a plan matrix handed to the
    CI helper is malformed or past the CI system's limits."""

    exit_code = EXIT_BAD_INPUT


class FarmNotFoundError(FarmRequestError):
    """A farm request names a build, job, package or token that does not exist."""
