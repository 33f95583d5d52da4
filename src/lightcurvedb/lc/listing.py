"""The text ``lcdb lc show`` prints: one line per light curve, then the first cadences."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from lightcurvedb.lc.lightcurve import LightCurve
from lightcurvedb.lc.quality import QualityBitmask

__all__ = ["listing"]


def _observation(lc: LightCurve) -> str:
    where = next(iter(lc.observation_meta.items()), None)
    return f"{where[0]} {where[1]}" if where else f"observation {lc.observation.id}"


def _number(value: float) -> str:
    return "nan" if value != value else f"{value:.8g}"


def _time_span(lc: LightCurve, unit: bool) -> str:
    if lc.times is None or not np.isfinite(lc.times).any():
        return "no times"
    span = f"{np.nanmin(lc.times):.5f} .. {np.nanmax(lc.times):.5f}"
    return f"{span} {lc.mission.time_format_name.upper()}" if unit else span


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> list[str]:
    widths = [max(len(row[i]) for row in [headers, *rows]) for i in range(len(headers))]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True))).rstrip()

    return [line(headers), "  ".join("-" * w for w in widths), *(line(row) for row in rows)]


def listing(curves: Sequence[LightCurve], quality_bitmask: QualityBitmask = "default",
            head: int | None = None) -> str:
    """Return the text ``lcdb lc show`` prints: one line per light curve, then cadences.

    Columns: the light-curve (dataset) id, mission, target, where it was
    observed (``sector 1``), photometric source, processing (``raw`` without),
    the number of cadences, the *good* ones (finite flux, no bit of
    ``quality_bitmask`` set), the time span in the mission's own numbers
    (BTJD for TESS; NaN times ignored), the median flux of the good cadences
    and its unit.

    Parameters
    ----------
    curves : sequence of LightCurve
    quality_bitmask : str, int, list or None, optional
        Which quality bits make a cadence bad (see :mod:`lightcurvedb.lc.quality`).
    head : int, optional
        Also print the first ``head`` cadences of each light curve (time,
        cadence number, flux, error, quality word, whether the bitmask flags it).

    Returns
    -------
    str
    """
    formats = {lc.mission.time_format_name.upper() for lc in curves}
    one_format = len(formats) == 1
    headers = ("dataset", "mission", "target", "observation", "photometry", "processing",
               "cadences", "good", f"time ({formats.pop()})" if one_format else "time",
               "median flux", "unit")
    rows = []
    for lc in curves:
        good = ~lc.bad(quality_bitmask)
        median = float(np.median(lc.values[good])) if good.any() else float("nan")
        rows.append((str(lc.id), lc.mission.name, lc.object_name, _observation(lc),
                     lc.photometry or "", lc.processing or "raw", str(len(lc)),
                     str(int(good.sum())), _time_span(lc, not one_format), _number(median),
                     lc.unit or ""))
    targets = {lc.object_name for lc in curves}
    title = (f"{', '.join(sorted(targets))}: {len(curves)} light curve"
             f"{'s' if len(curves) != 1 else ''} (quality bitmask: {quality_bitmask})")
    lines = [title, *_table(headers, rows, right={0, 6, 7, 9})]
    for lc in curves if head else ():
        table = lc.to_table(quality_bitmask)
        names = [n for n in ("time", "cadenceno", "flux", "flux_err", "quality", "quality_mask")
                 if n in table.colnames]
        shown = table[names][:head]
        shown["time"].format = ".6f"
        lines += ["", f"{lc.label} (dataset {lc.id}): cadences 1-{len(shown)} of {len(lc)}, "
                      f"time in {lc.mission.time_format_name.upper()}",
                  *shown.pformat(max_lines=-1, max_width=-1)]
    return "\n".join(lines)
