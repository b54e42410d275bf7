"""Named, timed steps of a long operation (an image build), reported to a callback and a log."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path


class StepState(StrEnum):
    STARTED = "started"
    FINISHED = "finished"
    FAILED = "failed"


@dataclass(frozen=True, kw_only=True)
class StepEvent:
    """One step starting or ending."""

    step: str
    state: StepState
    elapsed: float
    """Seconds since the whole operation started."""
    seconds: float | None = None
    """This step's duration (finished and failed events only)."""


ProgressCallback = Callable[[StepEvent], None]


@dataclass(frozen=True, kw_only=True)
class StepTiming:
    step: str
    seconds: float

    def to_json(self) -> dict[str, object]:
        return {"step": self.step, "seconds": round(self.seconds, 1)}


class StepTracker:
    """Times steps; tells ``callback`` and appends a ``### [12 s] step`` line to ``log_path``."""

    def __init__(self, callback: ProgressCallback | None, log_path: Path | None) -> None:
        self._callback = callback
        self._log_path = log_path
        self._started = time.monotonic()
        self._timings: list[StepTiming] = []

    @property
    def elapsed(self) -> float:
        return time.monotonic() - self._started

    @property
    def timings(self) -> tuple[StepTiming, ...]:
        return tuple(self._timings)

    def _emit(self, event: StepEvent) -> None:
        if self._log_path is not None:
            self._log_path.parent.mkdir(parents=True, exist_ok=True)
            took = f" ({event.seconds:.1f} s)" if event.seconds is not None else ""
            with self._log_path.open("a", encoding="utf-8") as log:
                log.write(f"### [{event.elapsed:6.1f} s] {event.step}: {event.state}{took}\n")
        if self._callback is not None:
            self._callback(event)

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        began = time.monotonic()
        self._emit(StepEvent(step=name, state=StepState.STARTED, elapsed=self.elapsed))
        try:
            yield
        except BaseException:
            took = time.monotonic() - began
            self._emit(
                StepEvent(step=name, state=StepState.FAILED, elapsed=self.elapsed, seconds=took)
            )
            raise
        took = time.monotonic() - began
        self._timings.append(StepTiming(step=name, seconds=took))
        self._emit(
            StepEvent(step=name, state=StepState.FINISHED, elapsed=self.elapsed, seconds=took)
        )
