"""The one progress reporter of every long command (build, image, verify, smoke).

One rule decides the form: timed plain lines where the output is a log (``CI`` set, or the
console is not a terminal), a live status line and step spinners on a terminal. Every line
carries the seconds since the command started; ``done`` closes with the total.
"""

from __future__ import annotations

import os
import time
from types import TracebackType

from rich.console import Console
from rich.markup import escape
from rich.progress import Progress as RichProgress
from rich.progress import SpinnerColumn, TaskID, TextColumn, TimeElapsedColumn
from rich.status import Status

from wheelyard.builder.steps import StepEvent, StepState
from wheelyard.cli.output import err_console


def plain_output(console: Console) -> bool:
    """Timed lines instead of a live display: in CI or when ``console`` is not a terminal."""
    return os.environ.get("CI", "").lower() in ("1", "true") or not console.is_terminal


class Progress:
    """Timed lines, a live status line and step spinners on one console."""

    def __init__(self, console: Console = err_console, *, quiet: bool = False) -> None:
        self.console = console
        self.quiet = quiet
        self.plain = plain_output(console)
        self.t0 = time.monotonic()
        self._status: Status | None = None
        self._steps: RichProgress | None = None
        self._tasks: dict[str, TaskID] = {}

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self.t0

    def line(self, text: str) -> None:
        """A line with the time since the start (``text`` is rich markup)."""
        if not self.quiet:
            self.console.print(f"[dim]\\[{self.elapsed:7.1f}s][/] {text}")

    def status(self, text: str | None) -> None:
        """The live status line on a terminal (None stops it); nothing in plain output."""
        if self.quiet or self.plain:
            return
        if text is None:
            if self._status is not None:
                self._status.stop()
                self._status = None
            return
        if self._status is None:
            self._status = self.console.status(text)
            self._status.start()
        else:
            self._status.update(text)

    def step(self, event: StepEvent) -> None:
        """A step of a longer operation (an image build): a spinner, or a timed line."""
        if self.quiet:
            return
        name = escape(event.step)
        if self.plain:
            match event.state:
                case StepState.STARTED:
                    self.line(f"{name} ...")
                case StepState.FINISHED:
                    self.line(f"{name}: done in {event.seconds:.1f} s")
                case StepState.FAILED:
                    self.line(f"{name}: [red]failed[/] after {event.seconds:.1f} s")
            return
        if self._steps is None:
            self._steps = RichProgress(
                SpinnerColumn(finished_text="[green]✓[/]"),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                console=self.console,
            )
            self._steps.start()
        match event.state:
            case StepState.STARTED:
                self._tasks[event.step] = self._steps.add_task(name, total=1)
            case StepState.FINISHED | StepState.FAILED:
                task = self._tasks.pop(event.step, None)
                if task is not None:
                    mark = "" if event.state is StepState.FINISHED else " [red]failed[/]"
                    self._steps.update(task, completed=1, description=f"{name}{mark}")

    def done(self, what: str) -> None:
        """The closing line: ``what`` and the total time."""
        self.stop()
        if not self.quiet:
            self.console.print(f"[dim]{what} in {self.elapsed:.1f} s[/]")

    def stop(self) -> None:
        self.status(None)
        if self._steps is not None:
            self._steps.stop()
            self._steps = None

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
