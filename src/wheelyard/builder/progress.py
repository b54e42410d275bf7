"""Follow cibuildwheel's output line by line: which Python is building, in which step, how long
each Python and the once-per-job native core took, and the compiler-cache counters.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

from wheelyard.builder.options import CCACHE_MARK

ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
PYTHON_START = re.compile(r"^Building (?P<ident>[a-z]+\d+t?)-\S+ wheel$")
PYTHON_DONE = re.compile(r"^\S*\s*(?P<ident>[a-z]+\d+t?)-\S+ finished in \S.*$")
"""cibuildwheel prints the time humanized: `2 seconds`, `a second`, `345 milliseconds` ..."""
STEP = re.compile(r"^(?P<step>[A-Z][A-Za-z_ -]+)\.\.\.$")
NATIVE_START = "wheelyard: native-build start"
NATIVE_DONE = "wheelyard: native-build done"
NATIVE_STEP = "native-build"


class EventKind(StrEnum):
    PYTHON_STARTED = "python-started"
    PYTHON_FINISHED = "python-finished"
    NATIVE_STARTED = "native-started"
    NATIVE_FINISHED = "native-finished"
    STEP = "step"
    TORCH_STARTED = "torch-started"
    TORCH_FINISHED = "torch-finished"


@dataclass(frozen=True, kw_only=True)
class Event:
    kind: EventKind
    python: str | None = None
    step: str | None = None
    seconds: float | None = None


@dataclass(kw_only=True)
class PythonTiming:
    started: float
    seconds: float | None = None
    compiler_cache: dict[str, int] = field(default_factory=dict)


class LogFollower:
    """Feed it cibuildwheel's lines; it keeps timings and reports :class:`Event` s."""

    def __init__(
        self,
        *,
        on_event: Callable[[Event], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._on_event = on_event
        self._clock = clock
        self._native_started: float | None = None
        self.native_seconds: float | None = None
        self.pythons: dict[str, PythonTiming] = {}
        self.current: str | None = None
        self.failed_step: str | None = None
        self.native_cache: dict[str, int] = {}
        """ccache counters printed after the native-build (cumulative, like the Pythons')."""
        self._last_finished: str | None = None

    def _emit(self, event: Event) -> None:
        if self._on_event is not None:
            self._on_event(event)

    def feed(self, raw: str) -> None:
        now = self._clock()
        line = ANSI.sub("", raw).strip()
        if not line:
            return
        if line == NATIVE_START:
            self._native_started = now
            self.failed_step = NATIVE_STEP
            self._emit(Event(kind=EventKind.NATIVE_STARTED, step=NATIVE_STEP))
            return
        if line == NATIVE_DONE:
            if self._native_started is not None:
                self.native_seconds = now - self._native_started
            self.failed_step = None
            self._emit(
                Event(kind=EventKind.NATIVE_FINISHED, step=NATIVE_STEP, seconds=self.native_seconds)
            )
            return
        if match := PYTHON_START.match(line):
            ident = match["ident"]
            self.current = ident
            self.failed_step = None
            self.pythons[ident] = PythonTiming(started=now)
            self._emit(Event(kind=EventKind.PYTHON_STARTED, python=ident))
            return
        if match := PYTHON_DONE.match(line):
            ident = match["ident"]
            timing = self.pythons.setdefault(ident, PythonTiming(started=now))
            timing.seconds = now - timing.started
            if self.current == ident:
                self.current = None
                self.failed_step = None
            self._last_finished = ident
            self._emit(Event(kind=EventKind.PYTHON_FINISHED, python=ident, seconds=timing.seconds))
            return
        if line.startswith(CCACHE_MARK + " "):
            parts = line.split()
            if len(parts) == 3 and parts[2].isdigit():
                if self.current is not None:
                    self.pythons[self.current].compiler_cache[parts[1]] = int(parts[2])
                elif self._last_finished is None:
                    self.native_cache[parts[1]] = int(parts[2])
            return
        if match := STEP.match(line):
            self.failed_step = match["step"]
            self._emit(Event(kind=EventKind.STEP, python=self.current, step=match["step"]))
