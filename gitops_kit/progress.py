"""A progress line on stderr for long runs at a terminal; silent everywhere else.

Shown only when stderr is a TTY, ``CI`` and ``PRE_COMMIT`` are unset (pre-commit runs hooks on
a pseudo-terminal of its own and sets ``PRE_COMMIT=1``) and ``TERM`` is not ``dumb``, and only
once a run has taken longer than :data:`DELAY` seconds. The line is redrawn in place (carriage
return), never wider than the terminal (a wrapped line could not be erased), and erased when
the run ends, so nothing is left between the findings. Ticks are cheap: a counter, and a clock
read every :data:`EVERY` ticks.
"""

from __future__ import annotations

import io
import os
import sys
import time
from typing import TextIO

DELAY = 2.0  # seconds before the line first appears
EVERY = 64  # ticks between clock reads
WIDTH = 24  # characters of the bar
REDRAW = 0.1  # seconds between redraws of the line


class Progress:
    """Counts work in named phases and draws ``phase done/total [####....]`` when due."""

    def __init__(self, stream: TextIO, delay: float) -> None:
        self.stream = stream
        self.delay = delay
        self.started = time.monotonic()
        self.phase_name = ""
        self.total = 0
        self.done: float = 0
        self.shown = False
        self._every = EVERY
        self._countdown = EVERY
        self._drawn = 0.0
        try:
            # a pseudo-terminal nobody sized reports 0 columns: draw as on an 80-column one
            self.columns = os.get_terminal_size(stream.fileno()).columns or 80
        except (AttributeError, ValueError, OSError, io.UnsupportedOperation):
            self.columns = 80

    def phase(self, name: str, total: int) -> None:
        """Start counting ``total`` steps of ``name`` (e.g. "parsing files")."""
        self.phase_name, self.total, self.done = name, max(0, total), 0
        self._every = max(1, min(EVERY, self.total // 200))  # 19 rules: look at the clock after each
        self._countdown = self._every
        self._draw_if_due(force=True)

    def tick(self, steps: float = 1) -> None:
        self.done += steps
        self._countdown -= steps
        if self._countdown <= 0:
            self._countdown = self._every
            self._draw_if_due()

    def _draw_if_due(self, force: bool = False) -> None:
        now = time.monotonic()
        if not self.shown and now - self.started < self.delay:
            return
        if self.shown and not force and now - self._drawn < REDRAW:
            return
        self.shown, self._drawn = True, now
        done = int(min(self.done, self.total))  # ticks may be fractional (one process counting for two)
        filled = min(WIDTH, WIDTH * done // max(self.total, 1))
        line = f"gitops-kit: {self.phase_name} {done:,}/{self.total:,} [{'#' * filled}{'.' * (WIDTH - filled)}]"
        try:
            self.stream.write("\r" + line[:max(self.columns - 1, 0)] + "\x1b[K")
            self.stream.flush()
        except (OSError, ValueError):
            self.shown = False
            self.delay = float("inf")  # a closed terminal: stop drawing

    def finish(self) -> None:
        """Erase the line (if it was ever drawn)."""
        if self.shown:
            try:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
            except (OSError, ValueError):
                pass
        self.shown = False


class _Silent:
    """The default: every call does nothing."""

    def phase(self, name: str, total: int) -> None:
        pass

    def tick(self, steps: float = 1) -> None:
        pass

    def finish(self) -> None:
        pass


_SILENT = _Silent()
current: Progress | _Silent = _SILENT


def wanted(stream: TextIO | None = None) -> bool:
    """Whether a progress line belongs on ``stream`` (default stderr): a terminal, not CI or pre-commit."""
    stream = stream if stream is not None else sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        return False
    env = os.environ
    return tty and not env.get("CI") and not env.get("PRE_COMMIT") and env.get("TERM") != "dumb"


def start(stream: TextIO | None = None, delay: float | None = None) -> None:
    """Report progress of this process on ``stream`` (default stderr) from now on, if :func:`wanted`,
    once ``delay`` seconds (default :data:`DELAY`) have passed."""
    global current
    stream = stream if stream is not None else sys.stderr
    current = Progress(stream, DELAY if delay is None else delay) if wanted(stream) else _SILENT


def stop() -> None:
    """Erase the line and go silent again."""
    global current
    current.finish()
    current = _SILENT


def silence() -> None:
    """In a forked worker: never draw (the parent owns the terminal line)."""
    global current
    current = _SILENT


def phase(name: str, total: int) -> None:
    current.phase(name, total)


def tick(steps: float = 1) -> None:
    current.tick(steps)
