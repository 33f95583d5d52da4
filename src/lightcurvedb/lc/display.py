"""Notebook and terminal views: array summaries instead of 20,000 numbers."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = ["ArraySummary", "html_table", "summarize"]


@dataclass(frozen=True)
class ArraySummary:
    """Length, NaN count and the NaN-ignoring min/median/max of one array.

    Attributes
    ----------
    length : int
        Number of elements.
    n_nan : int
        Elements that are NaN (0 for integer arrays).
    min, median, max : float
        Over the non-NaN elements; NaN when there are none.
    """

    length: int
    n_nan: int
    min: float
    median: float
    max: float

    def cells(self) -> list[str]:
        """Return the summary as table cells: length, NaN, min, median, max."""
        return [str(self.length), str(self.n_nan), *(_number(v) for v in
                                                    (self.min, self.median, self.max))]


def summarize(values: npt.NDArray[Any] | None) -> ArraySummary | None:
    """Summarize an array (None for None).

    Parameters
    ----------
    values : numpy.ndarray or None
        Any numeric array.

    Returns
    -------
    ArraySummary or None
    """
    if values is None:
        return None
    data = np.asarray(values, dtype=np.float64)
    finite = data[~np.isnan(data)]
    if finite.size == 0:
        return ArraySummary(data.size, data.size, np.nan, np.nan, np.nan)
    return ArraySummary(data.size, int(data.size - finite.size), float(finite.min()),
                        float(np.median(finite)), float(finite.max()))


def _number(value: float) -> str:
    if np.isnan(value):
        return "nan"
    return f"{value:.8g}"


def html_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], caption: str = "") -> str:
    """Return a small HTML table; every cell is escaped.

    Parameters
    ----------
    headers : sequence of str
        Column headings.
    rows : sequence of sequences
        Cell values (turned into text with :class:`str`; None shows as an empty cell).
    caption : str, optional
        A caption above the table.

    Returns
    -------
    str
    """
    def cell(tag: str, value: Any) -> str:
        text = "" if value is None else str(value)
        return f"<{tag}>{html.escape(text)}</{tag}>"

    head = "".join(cell("th", h) for h in headers)
    body = "".join("<tr>" + "".join(cell("td", v) for v in row) + "</tr>" for row in rows)
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return (f'<table class="lightcurvedb">{title}<thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>")


#: Column headings of an array summary.
SUMMARY_HEADERS = ("array", "length", "NaN", "min", "median", "max")
