"""The bulk writers' progress bar: rows as the unit, total known or not."""

from __future__ import annotations

from typing import TextIO

from lightcurvedb.loaders.progress import ProgressBar

__all__ = ["RowProgress"]


def _elapsed_text(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


class RowProgress(ProgressBar):
    """A :class:`~lightcurvedb.loaders.progress.ProgressBar` counting rows.

    With a known ``total`` (sized inputs: lists, arrays, Tables) it is the
    loaders' bar, ``dataset [#####.....] 50000/100000 …``. With ``total=None``
    (iterators) there is no bar: ``dataset 50000 rows 81234.5 rows/s``.
    Unlike the loaders' bar it draws whenever ``enabled``, terminal or not,
    once there are rows (the caller asked for it explicitly).
    """

    def __init__(self, total: int | None, *, label: str = "", enabled: bool = True,
                 stream: TextIO | None = None) -> None:
        super().__init__(total or 0, label=label, enabled=enabled, stream=stream, unit="rows")
        self.known_total = total is not None
        self.active = enabled and (total is None or total > 0)

    def __enter__(self) -> RowProgress:
        return self

    def advance(self, count: int = 1) -> None:
        """Record ``count`` more rows written and redraw if due."""
        if self.known_total:
            super().advance(count)
            return
        self.done += count
        if not self.active:
            return
        now = self.clock()
        if self._last_draw is not None and now - self._last_draw < self.min_interval:
            return
        self._last_draw = now
        self._draw(now)

    def line(self, now: float | None = None) -> str:
        """Return the text as it would be drawn at ``now``."""
        if self.known_total:
            return super().line(now)
        now = self.clock() if now is None else now
        elapsed = max(now - self._start, 0.0)
        rate = self.done / elapsed if elapsed > 0 else 0.0
        prefix = f"{self.label} " if self.label else ""
        return f"{prefix}{self.done} rows {rate:.1f} rows/s in {_elapsed_text(elapsed)}"

    def close(self) -> None:
        """Draw the final count once and end the line."""
        if not self.known_total and self.active and self.done:
            self._draw(self.clock())
            self.stream.write("\n")
            self.stream.flush()
            self.active = False
            return
        super().close()
