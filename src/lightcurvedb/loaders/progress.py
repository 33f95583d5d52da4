"""A one-line progress bar on stderr for loader runs, with no dependencies.

The bar is redrawn in place (carriage return), as in
``tess [#####.....] 12/40 3.1 files/s ETA 0:00:09``, and finished with a
newline. It shows only when asked for (``enabled``) and worth showing: stderr
is a terminal, or the run has more than :data:`MIN_ITEMS` items. Otherwise
every call is a no-op, so library callers and tests see no output.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO

__all__ = ["MIN_ITEMS", "ProgressBar"]

#: Runs with more items than this show a bar even when stderr is not a terminal.
MIN_ITEMS = 5


def _clock_text(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class ProgressBar:
    """Count, rate and time left of a run over a known number of items.

    Parameters
    ----------
    total : int
        Number of items the run will process.
    label : str, optional
        Shown before the bar, e.g. ``"tess"``.
    enabled : bool, optional
        False makes the bar a no-op whatever the terminal.
    stream : file-like, optional
        Where to draw; default :data:`sys.stderr`.
    min_interval : float, optional
        Seconds between redraws (the last item is always drawn).
    clock : callable, optional
        Returns seconds as a float; default :func:`time.monotonic`.
    unit : str, optional
        Name of an item in the rate, default ``"files"``.
    width : int, optional
        Characters of the bar itself.

    Examples
    --------
    >>> with ProgressBar(3, enabled=False) as bar:
    ...     for _ in range(3):
    ...         bar.advance()
    """

    def __init__(self, total: int, *, label: str = "", enabled: bool = True,
                 stream: TextIO | None = None, min_interval: float = 0.1,
                 clock: Callable[[], float] = time.monotonic, unit: str = "files",
                 width: int = 30) -> None:
        self.total = max(int(total), 0)
        self.label = label
        self.stream = sys.stderr if stream is None else stream
        self.min_interval = min_interval
        self.clock = clock
        self.unit = unit
        self.width = width
        self.done = 0
        isatty = getattr(self.stream, "isatty", None)
        on_terminal = bool(isatty()) if callable(isatty) else False
        #: Whether anything is drawn at all.
        self.active = enabled and self.total > 0 and (on_terminal or self.total > MIN_ITEMS)
        self._start = clock()
        self._last_draw: float | None = None
        self._line_length = 0

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.close()

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more items done and redraw if due."""
        self.done = min(self.done + count, self.total)
        if not self.active:
            return
        now = self.clock()
        if (self.done < self.total and self._last_draw is not None
                and now - self._last_draw < self.min_interval):
            return
        self._last_draw = now
        self._draw(now)

    def line(self, now: float | None = None) -> str:
        """Return the text of the bar as it would be drawn at ``now``."""
        now = self.clock() if now is None else now
        elapsed = max(now - self._start, 0.0)
        filled = self.width * self.done // self.total if self.total else self.width
        bar = "#" * filled + "." * (self.width - filled)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        if self.done >= self.total:
            tail = f"in {_clock_text(elapsed)}"
        elif rate > 0:
            tail = f"ETA {_clock_text((self.total - self.done) / rate)}"
        else:
            tail = "ETA --:--:--"
        prefix = f"{self.label} " if self.label else ""
        return f"{prefix}[{bar}] {self.done}/{self.total} {rate:.1f} {self.unit}/s {tail}"

    def _draw(self, now: float) -> None:
        text = self.line(now)
        padding = " " * max(self._line_length - len(text), 0)
        self._line_length = len(text)
        self.stream.write(f"\r{text}{padding}")
        self.stream.flush()

    def close(self) -> None:
        """Finish the line (drawing the final state once) so later output starts afresh."""
        if not self.active or (self._line_length == 0 and self.done == 0):
            self.active = False
            return
        if self._last_draw is None or self.done < self.total:
            self._draw(self.clock())
        self.stream.write("\n")
        self.stream.flush()
        self.active = False
