"""Light curves out: astropy tables, Parquet, FITS files and matplotlib plots.

Tables are *long*: one row per cadence of every light curve, with the light
curve's metadata repeated on each row, so that ``pandas`` can group and filter
them (``df[df.processing == "PDC"]``). Quality masking is a column there
(``quality_mask``), not a change of the values: a flagged cadence keeps its
flux, and nothing is dropped. :func:`summary_table` gives one row per light
curve instead.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from lightcurvedb.lc import display
from lightcurvedb.lc.extras import require
from lightcurvedb.lc.meta import fits_keyword
from lightcurvedb.lc.quality import QualityBitmask, bitmask_value

if TYPE_CHECKING:
    from astropy.table import Table
    from matplotlib.axes import Axes

    from lightcurvedb.lc.lightcurve import LightCurve

__all__ = ["long_table", "plot", "summary_table", "write_fits", "write_fits_collection",
           "write_parquet"]


def _masked(values: list[Any], counts: Sequence[int], dtype: Any = None) -> Any:
    """One value per light curve repeated over its cadences; None becomes masked."""
    from astropy.table import MaskedColumn

    present = [v for v in values if v is not None]
    fill = present[0] if present else 0
    data = np.repeat(np.array([fill if v is None else v for v in values], dtype=dtype), counts)
    mask = np.repeat(np.array([v is None for v in values], dtype=bool), counts)
    return MaskedColumn(data, mask=mask)


def _units(curves: Sequence[LightCurve]) -> str | None:
    units = {lc.unit for lc in curves}
    return units.pop() if len(units) == 1 else None


def long_table(curves: Sequence[LightCurve], quality_bitmask: QualityBitmask = "default"
               ) -> Table:
    """Return every cadence of every light curve as one row of an astropy Table.

    Columns: ``dataset``, ``target`` (catalog number), ``catalog``,
    ``mission``, ``observation``, the observation attributes of any of the
    light curves (``sector``, ``camera``, ``ccd``, ...; masked where a light
    curve's observation lacks one), ``photometry``, ``processing`` (masked for
    raw photometry), ``unit``, ``time`` (the mission's numbers, e.g. BTJD; NaN
    without times), ``cadenceno``, ``flux``, ``flux_err``, ``quality``
    (masked without flags) and ``quality_mask`` (True where
    ``quality_bitmask`` flags the cadence). ``flux``/``flux_err`` carry the
    unit when all light curves share one.

    Parameters
    ----------
    curves : sequence of LightCurve
    quality_bitmask : str, int, list or None, optional
        Which bits ``quality_mask`` tests (see :mod:`lightcurvedb.lc.quality`).

    Returns
    -------
    astropy.table.Table
    """
    from astropy.table import MaskedColumn, Table

    counts = [len(lc) for lc in curves]
    table = Table()
    for name, value in (("dataset", lambda lc: lc.id), ("target", lambda lc: lc.target.name),
                        ("catalog", lambda lc: lc.target.catalog.name),
                        ("mission", lambda lc: lc.mission.name),
                        ("observation", lambda lc: lc.observation.id)):
        table[name] = np.repeat(np.array([value(lc) for lc in curves]), counts)
    keys = list(dict.fromkeys(k for lc in curves for k in lc.observation_meta))
    for key in keys:
        table[key] = _masked([lc.observation_meta.get(key) for lc in curves], counts)
    for key in ("photometry", "processing", "unit"):
        table[key] = _masked([getattr(lc, key) for lc in curves], counts, dtype=str)

    def joined(get: Any, dtype: Any, fill: Any) -> tuple[Any, Any]:
        parts = [get(lc) for lc in curves]
        data = [np.full(n, fill, dtype=dtype) if p is None else np.asarray(p, dtype=dtype)
                for p, n in zip(parts, counts, strict=True)]
        mask = [np.full(n, p is None) for p, n in zip(parts, counts, strict=True)]
        return (np.concatenate(data) if data else np.zeros(0, dtype),
                np.concatenate(mask) if mask else np.zeros(0, bool))

    unit = _units(curves)
    times, _ = joined(lambda lc: lc.times, np.float64, np.nan)
    formats = {lc.mission.time_format_name for lc in curves}
    table["time"] = times
    if len(formats) == 1:
        table["time"].description = f"time ({formats.pop()})"
    for name, get, dtype, fill in (
            ("cadenceno", lambda lc: lc.cadenceno, np.int64, 0),
            ("flux", lambda lc: lc.values, np.float64, np.nan),
            ("flux_err", lambda lc: lc.errors, np.float64, np.nan),
            ("quality", lambda lc: lc.quality, np.int64, 0)):
        data, mask = joined(get, dtype, fill)
        table[name] = MaskedColumn(data, mask=mask) if mask.any() else data
        if unit and name in ("flux", "flux_err"):
            table[name].unit = unit
    table["quality_mask"] = np.concatenate(
        [lc.quality_mask(quality_bitmask) for lc in curves]) if curves else np.zeros(0, bool)
    table.meta["quality_bitmask"] = quality_bitmask if isinstance(quality_bitmask, (str, int)) \
        else repr(quality_bitmask)
    return table


def summary_table(curves: Sequence[LightCurve], quality_bitmask: QualityBitmask = "default"
                  ) -> Table:
    """Return one row per light curve: metadata, lineage and array summaries.

    Columns: ``dataset``, ``label``, ``target``, ``mission``, ``observation``,
    the observation attributes, ``photometry``, ``processing``, ``unit``,
    ``n_cadences``, ``n_nan`` (NaN values), ``n_flagged`` (cadences the
    quality bitmask flags), ``flux_min``/``flux_median``/``flux_max`` (over the
    cadences that are neither NaN nor flagged), ``sources`` and ``derived``
    (lineage ids, comma separated).

    Parameters
    ----------
    curves : sequence of LightCurve
    quality_bitmask : str, int, list or None, optional
        Which bits count as flagged.

    Returns
    -------
    astropy.table.Table
    """
    from astropy.table import Table

    ones = [1] * len(curves)
    table = Table()
    table["dataset"] = np.array([lc.id for lc in curves], dtype=np.int64)
    table["label"] = np.array([lc.label for lc in curves], dtype=str)
    table["target"] = np.array([lc.target.name for lc in curves], dtype=np.int64)
    table["mission"] = np.array([lc.mission.name for lc in curves], dtype=str)
    table["observation"] = np.array([lc.observation.id for lc in curves], dtype=np.int64)
    for key in dict.fromkeys(k for lc in curves for k in lc.observation_meta):
        table[key] = _masked([lc.observation_meta.get(key) for lc in curves], ones)
    for key in ("photometry", "processing", "unit"):
        table[key] = _masked([getattr(lc, key) for lc in curves], ones, dtype=str)
    table["n_cadences"] = np.array([len(lc) for lc in curves], dtype=np.int64)
    table["n_nan"] = np.array([int(np.isnan(lc.values).sum()) for lc in curves], dtype=np.int64)
    table["n_flagged"] = np.array([int(lc.quality_mask(quality_bitmask).sum()) for lc in curves],
                                  dtype=np.int64)
    stats = [display.summarize(lc.values[~lc.bad(quality_bitmask)]) for lc in curves]
    for name in ("min", "median", "max"):
        table[f"flux_{name}"] = np.array([getattr(s, name) for s in stats], dtype=np.float64)
        table[f"flux_{name}"].format = ".8g"
    table["sources"] = np.array([",".join(map(str, lc.source_ids)) for lc in curves], dtype=str)
    table["derived"] = np.array([",".join(map(str, lc.derived_ids)) for lc in curves], dtype=str)
    return table


def write_parquet(curves: Sequence[LightCurve], path: str | os.PathLike[str],
                  quality_bitmask: QualityBitmask = "default") -> None:
    """Write :func:`long_table` to a Parquet file (needs the ``parquet`` extra: pyarrow).

    Masked table cells become Parquet nulls; each column's unit is in its
    field metadata (``unit``), and the file's schema metadata key
    ``lightcurvedb`` holds JSON with every light curve's :attr:`LightCurve.meta
    <lightcurvedb.lc.LightCurve.meta>` (``light_curves``) and the quality
    bitmask.

    Parameters
    ----------
    curves : sequence of LightCurve
    path : path-like
        The file to write (replaced if it exists).
    quality_bitmask : str, int, list or None, optional
        Which bits ``quality_mask`` tests.

    Raises
    ------
    MissingExtraError
        Without pyarrow: ``pip install '.[parquet]'``.
    """
    pa = require("pyarrow", "parquet", "to_parquet()")
    pq = require("pyarrow.parquet", "parquet", "to_parquet()")
    table = long_table(curves, quality_bitmask)
    fields, arrays = [], []
    for column in table.itercols():
        data = np.asarray(column)
        mask = np.asarray(column.mask) if getattr(column, "mask", None) is not None else None
        array = pa.array(data, mask=mask if mask is not None and mask.any() else None)
        unit = {b"unit": str(column.unit).encode()} if column.unit is not None else None
        fields.append(pa.field(column.name, array.type, metadata=unit))
        arrays.append(array)
    info = {"light_curves": [lc.meta for lc in curves],
            "quality_bitmask": table.meta["quality_bitmask"]}
    schema = pa.schema(fields, metadata={b"lightcurvedb": json.dumps(info).encode()})
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), os.fspath(path))


def _fits_meta(lc: LightCurve, quality_bitmask: QualityBitmask) -> dict[str, Any]:
    """Return the light curve's keywords and ``QUALITY_BITMASK``, without empty values."""
    meta = lc.meta
    meta["QUALITY_BITMASK"] = bitmask_value(lc.quality_bits, quality_bitmask)
    return {key: value for key, value in meta.items() if value is not None and value != ""}


def _lightcurve_hdu(lc: LightCurve, quality_bitmask: QualityBitmask,
                    header_keys: Sequence[str]) -> Any:
    """Return one light curve's ``LIGHTCURVE`` table, with ``header_keys`` of its meta."""
    from astropy.io import fits

    times = lc._require_times()
    meta = _fits_meta(lc, quality_bitmask)
    unit = lc.unit or ""
    columns = [fits.Column("TIME", "D", unit=lc.mission.time_unit, array=times)]
    if lc.cadenceno is not None:
        columns.append(fits.Column("CADENCENO", "K", array=lc.cadenceno))
    columns.append(fits.Column("FLUX", "D", unit=unit, array=lc.values))
    if lc.errors is not None:
        columns.append(fits.Column("FLUX_ERR", "D", unit=unit, array=lc.errors))
    if lc.quality is not None:
        columns.append(fits.Column("QUALITY", "K", array=lc.quality))
    columns.append(fits.Column("QUALITY_MASK", "L", array=lc.quality_mask(quality_bitmask)))
    table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    for key in header_keys:
        if key in meta:
            table.header[fits_keyword(key)] = meta[key]
    return table


#: Keywords of a light curve that its ``LIGHTCURVE`` table always carries.
_TABLE_KEYS = ("TIMEREF", "TIMESYS", "BJDREFI", "BJDREFF", "TIMEUNIT", "OBJECT", "TARGETID")


def write_fits(lc: LightCurve, path: str | os.PathLike[str],
               quality_bitmask: QualityBitmask = "default", overwrite: bool = False) -> None:
    """Write one light curve as a FITS file, in SPOC's layout but lightcurvedb's own words.

    The primary header holds :attr:`LightCurve.meta <lightcurvedb.lc.LightCurve.meta>`
    (keywords longer than 8 characters as ``HIERARCH``; None values left out)
    and ``QUALITY_BITMASK``; the ``LIGHTCURVE`` binary table has ``TIME``
    (the mission's numbers, e.g. BTJD, with ``TIMEREF``/``TIMESYS``/
    ``BJDREFI``/``BJDREFF``/``TIMEUNIT`` in its header), ``CADENCENO`` (when
    known), ``FLUX`` and ``FLUX_ERR`` (the stored values: flagged cadences are
    not changed), ``QUALITY`` (when there are flags) and ``QUALITY_MASK``
    (True where ``quality_bitmask`` flags the cadence).
    :func:`write_fits_collection` writes several light curves into one file.

    Parameters
    ----------
    lc : LightCurve
    path : path-like
        The file to write.
    quality_bitmask : str, int, list or None, optional
        Which bits ``QUALITY_MASK`` tests.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        If the light curve has no times.
    """
    from astropy.io import fits

    table = _lightcurve_hdu(lc, quality_bitmask, _TABLE_KEYS)
    primary = fits.PrimaryHDU()
    for key, value in _fits_meta(lc, quality_bitmask).items():
        primary.header[fits_keyword(key)] = value
    fits.HDUList([primary, table]).writeto(os.fspath(path), overwrite=overwrite)


def write_fits_collection(curves: Sequence[LightCurve], path: str | os.PathLike[str],
                          quality_bitmask: QualityBitmask = "default",
                          overwrite: bool = False) -> None:
    """Write several light curves into one multi-extension FITS file.

    Extension ``i`` (``EXTNAME = 'LIGHTCURVE'``, ``EXTVER = i``, counted from
    1 in the collection's order) is the ``LIGHTCURVE`` table of
    :func:`write_fits` for the ``i``-th light curve, and its header holds all
    of that light curve's keywords (``TICID``, ``OBJECT``, ``SECTOR``,
    ``MISSION``, ``PROCESS``, ``PHOTSRC``, ``LABEL``, ``DATASET``,
    ``SOURCES``/``DERIVED``, the time system, ``QUALITY_BITMASK``). The
    primary header has ``NLCURVES`` (the number of light curves) and the
    keywords whose value all of them share (``OBJECT`` and ``TICID`` when they
    are of one target), so a file of one light curve has the primary header of
    :func:`write_fits`. ``hdul["LIGHTCURVE", 2]`` opens the second one.

    Parameters
    ----------
    curves : sequence of LightCurve
        At least one.
    path : path-like
        The file to write (``.fits.gz`` is compressed by astropy).
    quality_bitmask : str, int, list or None, optional
        Which bits ``QUALITY_MASK`` tests.
    overwrite : bool, optional
        Replace an existing file.

    Raises
    ------
    ValueError
        If ``curves`` is empty or a light curve has no times.
    """
    from astropy.io import fits

    if not curves:
        raise ValueError(f"no light curves to write to {os.fspath(path)}")
    metas = [_fits_meta(lc, quality_bitmask) for lc in curves]
    tables = []
    for number, (lc, meta) in enumerate(zip(curves, metas, strict=True), start=1):
        table = _lightcurve_hdu(lc, quality_bitmask, list(meta))
        table.ver = number
        tables.append(table)
    primary = fits.PrimaryHDU()
    primary.header["NLCURVES"] = (len(curves), "LIGHTCURVE extensions in this file")
    for key, value in metas[0].items():
        if all(key in meta and meta[key] == value for meta in metas[1:]):
            primary.header[fits_keyword(key)] = value
    fits.HDUList([primary, *tables]).writeto(os.fspath(path), overwrite=overwrite)


def plot(curves: Sequence[LightCurve], ax: Axes | None = None,
         quality_bitmask: QualityBitmask = "default", normalize: bool = False,
         **kwargs: Any) -> Axes:
    """Plot each light curve's flux against its time, on one Axes (needs matplotlib).

    Masked cadences (flagged by ``quality_bitmask``, or NaN) are not drawn, so
    lines break at them; each line is labelled with :attr:`LightCurve.label
    <lightcurvedb.lc.LightCurve.label>`. Light curves without times are skipped.

    Parameters
    ----------
    curves : sequence of LightCurve
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure's Axes by default.
    quality_bitmask : str, int, list or None, optional
        Which cadences to leave out.
    normalize : bool, optional
        Divide each light curve by the median of its unmasked flux (for
        light curves of different brightness on one Axes).
    **kwargs
        Passed to :meth:`matplotlib.axes.Axes.plot` (``marker``, ``lw``, ...).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    MissingExtraError
        Without matplotlib: ``pip install '.[plot]'``.
    """
    if ax is None:
        plt = require("matplotlib.pyplot", "plot", "plot()")
        _, ax = plt.subplots(figsize=(10, 4))
    for lc in curves:
        if lc.times is None:
            continue
        flux = lc.masked(quality_bitmask)
        if normalize:
            flux = flux / np.ma.median(flux)
        ax.plot(lc.times, flux, label=lc.label, **{"lw": 0.8, **kwargs})
    missions = {(lc.mission.time_format_name, lc.mission.time_epoch_scale, lc.mission.time_unit)
                for lc in curves}
    if len(missions) == 1:
        name, scale, unit = missions.pop()
        ax.set_xlabel(f"Time ({name.upper()}, {scale.upper()}) [{unit}]")
    flux_unit = _units(curves)
    ax.set_ylabel("Normalized flux" if normalize
                  else f"Flux [{flux_unit}]" if flux_unit else "Flux")
    if curves:
        ax.legend(fontsize="small")
    return ax
