r"""DESI FastSpecFit-like value-added catalogs (VACs) as FITS files, streamed chunk by chunk.

The layout follows the FastSpecFit data model (``fastspec-iron.fits``): an
empty primary HDU with ``SPECPROD``/``COADDTYP``, the ``FASTSPEC`` binary table
(HDU 1: one row per target, ``TARGETID`` int64, ``SURVEY``/``PROGRAM`` byte
strings, ``HEALPIX``, redshift, stellar-population results with their
``TUNIT``\ s) and a row-aligned ``METADATA`` table (HDU 2). Two deviations: the
merged catalogs keep ``RA``, ``DEC`` and ``ZWARN`` in ``METADATA`` only; here
``FASTSPEC`` carries them too, so one HDU holds everything the DESI seed's
galaxy table needs. And masses are in ``solMass`` rather than DESI's ``Msun``,
which astropy's FITS unit parser does not know (it warns on reading).

Values span the seed's figures (RA 0.2-359.8 deg, DEC -30.5-89.2 deg,
Z 0.001-0.45). The table is written with :class:`astropy.io.fits.StreamingHDU`
as raw big-endian records, ``chunk_rows`` at a time, so a file of millions of
rows never needs more than one chunk in memory::

    from lightcurvedb.testing.fits.catalog import write_fastspec_catalog

    write_fastspec_catalog(tmp_path / "fastspec.fits", 1_000_000, seed=1)
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from astropy.io import fits

__all__ = ["FASTSPEC_COLUMNS", "FASTSPEC_RANGES", "FIRST_TARGETID", "METADATA_COLUMNS",
           "CatalogColumn", "write_fastspec_catalog"]

PathLike = str | os.PathLike[str]

#: First TARGETID written; DESI TARGETIDs of DR9 Legacy Survey targets are ~3.96e16.
FIRST_TARGETID = 39_627_400_000_000_000


@dataclass(frozen=True)
class CatalogColumn:
    """One column of a generated catalog table.

    Attributes
    ----------
    name : str
        ``TTYPE``.
    format : str
        ``TFORM`` (``K`` int64, ``J`` int32, ``E`` float32, ``D`` float64, ``3A``...).
    unit : str or None
        ``TUNIT``.
    null : int or None
        ``TNULL`` of an integer column: the value that marks a missing entry.
    """

    name: str
    format: str
    unit: str | None = None
    null: int | None = None

    def fits_column(self) -> fits.Column:
        """Return the :class:`astropy.io.fits.Column` definition (no data)."""
        return fits.Column(name=self.name, format=self.format, unit=self.unit, null=self.null)


#: Identification and redshift columns that both tables carry, in this order.
_SHARED_COLUMNS: tuple[CatalogColumn, ...] = (
    CatalogColumn("TARGETID", "K"),
    CatalogColumn("SURVEY", "4A"),
    CatalogColumn("PROGRAM", "6A"),
    CatalogColumn("HEALPIX", "J", null=-1),
    CatalogColumn("RA", "D", "deg"),
    CatalogColumn("DEC", "D", "deg"),
    CatalogColumn("Z", "D"),
    CatalogColumn("ZWARN", "K", null=-1),
)

#: The ``FASTSPEC`` table (HDU 1).
FASTSPEC_COLUMNS: tuple[CatalogColumn, ...] = _SHARED_COLUMNS + (
    CatalogColumn("RCHI2", "E"),
    CatalogColumn("VDISP", "E", "km / s"),
    CatalogColumn("AV", "E", "mag"),
    CatalogColumn("AGE", "E", "Gyr"),
    CatalogColumn("ZZSUN", "E"),
    CatalogColumn("LOGMSTAR", "E", "solMass"),
    CatalogColumn("SFR", "E", "solMass / yr"),
    CatalogColumn("DN4000", "E"),
    CatalogColumn("ABSMAG01_SDSS_R", "E", "mag"),
)

#: The ``METADATA`` table (HDU 2), row-aligned with ``FASTSPEC``.
METADATA_COLUMNS: tuple[CatalogColumn, ...] = _SHARED_COLUMNS + (
    CatalogColumn("DELTACHI2", "D"),
    CatalogColumn("SPECTYPE", "6A"),
)

#: Bounds every generated value of these columns lies in (the DESI seed's figures for
#: RA, DEC and Z), for ``ranges=`` of :func:`lightcurvedb.loaders.catalog.load_fits_catalog`.
FASTSPEC_RANGES: dict[str, tuple[float, float]] = {
    "RA": (0.2, 359.8),
    "DEC": (-30.5, 89.2),
    "Z": (0.001, 0.45),
    "LOGMSTAR": (6.0, 13.0),
}

_SIN_DEC = (np.sin(np.radians(-30.5)), np.sin(np.radians(89.2)))
_HEALPIX_NSIDE64 = 12 * 64 ** 2


def _values(rng: np.random.Generator, start: int, stop: int, first_targetid: int
            ) -> dict[str, npt.NDArray[Any]]:
    """Generate rows ``start:stop`` of every FASTSPEC/METADATA column."""
    n = stop - start
    logmstar = np.clip(rng.normal(10.3, 0.6, n), 7.0, 12.5)
    return {
        "TARGETID": first_targetid + 7 * np.arange(start, stop, dtype=np.int64),
        "SURVEY": np.full(n, b"main"),
        "PROGRAM": np.where(rng.random(n) < 0.7, b"bright", b"dark"),
        "HEALPIX": rng.integers(0, _HEALPIX_NSIDE64, n, dtype=np.int32),
        "RA": rng.uniform(0.2, 359.8, n),
        "DEC": np.degrees(np.arcsin(rng.uniform(*_SIN_DEC, n))).clip(-30.5, 89.2),
        "Z": rng.uniform(0.001, 0.45, n),
        "ZWARN": np.where(rng.random(n) < 0.005, 4, 0).astype(np.int64),
        "RCHI2": rng.gamma(20.0, 0.05, n),
        "VDISP": rng.uniform(50.0, 350.0, n),
        "AV": rng.exponential(0.3, n),
        "AGE": rng.uniform(0.5, 12.0, n),
        "ZZSUN": rng.normal(-0.1, 0.2, n),
        "LOGMSTAR": logmstar,
        "SFR": 10 ** (0.8 * (logmstar - 10.0) + rng.normal(-0.3, 0.5, n)),
        "DN4000": rng.uniform(1.0, 2.2, n),
        "ABSMAG01_SDSS_R": rng.uniform(-23.5, -16.0, n),
        "DELTACHI2": rng.lognormal(6.0, 1.5, n),
        "SPECTYPE": np.full(n, b"GALAXY"),
    }


def _null_value(column: CatalogColumn) -> Any:
    if column.format[-1] == "A":
        return b""
    if column.format in ("E", "D"):
        return np.nan
    if column.null is None:
        raise ValueError(f"column {column.name} has no TNULL: it cannot hold nulls")
    return column.null


def _rows(spec: int | Sequence[int], n_rows: int, rng: np.random.Generator, name: str
          ) -> npt.NDArray[np.int64]:
    """Row numbers: the given ones, or that many spread over the file."""
    if isinstance(spec, (int, np.integer)):
        if spec > n_rows:
            raise ValueError(f"{spec} nulls asked for in {name}, but only {n_rows} rows")
        return np.sort(rng.choice(n_rows, size=int(spec), replace=False)).astype(np.int64)
    rows = np.asarray(spec, dtype=np.int64)
    if rows.size and (rows.min() < 0 or rows.max() >= n_rows):
        raise ValueError(f"null rows of {name} must lie in [0, {n_rows})")
    return rows


def _plan(columns: Sequence[CatalogColumn], n_rows: int, seed: int,
          nulls: Mapping[str, int | Sequence[int]]) -> dict[str, npt.NDArray[np.int64]]:
    """Decide, before writing, which rows of which columns are null (exact counts)."""
    rng = np.random.default_rng([seed, 1])
    by_name = {c.name: c for c in columns}
    plan: dict[str, npt.NDArray[np.int64]] = {}
    for name, spec in nulls.items():
        if name not in by_name:
            raise ValueError(f"nulls: no column {name!r} in this table")
        _null_value(by_name[name])
        plan[name] = _rows(spec, n_rows, rng, name)
    return plan


def _write_table(path: pathlib.Path, columns: Sequence[CatalogColumn], extname: str,
                 n_rows: int, chunk_rows: int, seed: int, plan: Mapping[str, npt.NDArray[Any]],
                 duplicate_keys: int, overrides: Mapping[str, Mapping[int, Any]],
                 first_targetid: int, null_fraction: float = 0.0) -> None:
    """Append one BINTABLE to ``path``, streaming big-endian records chunk by chunk."""
    header = fits.BinTableHDU.from_columns([c.fits_column() for c in columns], nrows=0,
                                           name=extname).header
    header["NAXIS2"] = n_rows
    record = fits.BinTableHDU.from_columns([c.fits_column() for c in columns], nrows=0
                                           ).columns.dtype.newbyteorder(">")
    rng = np.random.default_rng([seed, 0])
    null_rng = np.random.default_rng([seed, 2])
    random_nulls = [c for c in columns if null_fraction and c.format in ("E", "D")
                    and c.name not in ("RA", "DEC", "Z")]
    first_keys = first_targetid + 7 * np.arange(duplicate_keys, dtype=np.int64)
    with fits.StreamingHDU(str(path), header) as stream:
        for start, stop in _chunks(n_rows, chunk_rows):
            values = _values(rng, start, stop, first_targetid)
            chunk = np.zeros(stop - start, dtype=record)
            for column in columns:
                chunk[column.name] = values[column.name]
                if column in random_nulls:
                    chunk[column.name][null_rng.random(stop - start) < null_fraction] = np.nan
                rows = plan.get(column.name)
                if rows is not None:
                    inside = rows[(rows >= start) & (rows < stop)] - start
                    chunk[column.name][inside] = _null_value(column)
                for row, value in overrides.get(column.name, {}).items():
                    if start <= row < stop:
                        chunk[column.name][row - start] = value
            # The last `duplicate_keys` rows repeat the first ones' TARGETIDs.
            repeats = np.arange(max(start, n_rows - duplicate_keys), stop)
            chunk["TARGETID"][repeats - start] = first_keys[n_rows - 1 - repeats]
            if n_rows:
                stream.write(chunk.view(np.uint8))


def _chunks(n_rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_rows, chunk_rows):
        yield start, min(start + chunk_rows, n_rows)


def write_fastspec_catalog(path: PathLike, n_rows: int, *, seed: int = 0,
                           chunk_rows: int = 100_000, null_fraction: float = 0.0,
                           nulls: Mapping[str, int | Sequence[int]] | None = None,
                           duplicate_keys: int = 0,
                           overrides: Mapping[str, Mapping[int, Any]] | None = None,
                           metadata: bool = True, specprod: str = "iron",
                           first_targetid: int = FIRST_TARGETID) -> pathlib.Path:
    """Write a FastSpecFit-like VAC with ``n_rows`` galaxies, one chunk in memory at a time.

    Parameters
    ----------
    path : path-like
        The file to create (overwritten if it exists).
    n_rows : int
        Rows of the ``FASTSPEC`` (and ``METADATA``) table; 0 gives empty tables.
    seed : int, optional
        Seed of the random values; the same arguments always give the same bytes.
    chunk_rows : int, optional
        Rows generated and written at a time (memory stays proportional to it).
        The values depend on it; the TARGETIDs do not.
    null_fraction : float, optional
        Fraction of entries of each float science column (all but RA, DEC, Z)
        set to NaN, at random.
    nulls : mapping of str to int or sequence of int, optional
        Exact nulls: column -> how many rows (spread at random) or which rows.
        NaN in float columns, ``TNULL`` in integer ones, an empty string in
        text ones; applied after ``null_fraction``. Applies to ``FASTSPEC`` only.
    duplicate_keys : int, optional
        The last ``duplicate_keys`` rows repeat the TARGETIDs of the first ones
        (row ``n_rows - 1 - j`` repeats row ``j``).
    overrides : mapping of str to mapping of int to value, optional
        Exact values: column -> {row: value}, e.g. ``{"Z": {5: 0.9}}`` for an
        out-of-range redshift; applied last. ``FASTSPEC`` only.
    metadata : bool, optional
        Also write the ``METADATA`` HDU (same TARGETIDs, row-aligned).
    specprod : str, optional
        ``SPECPROD`` of the primary header.
    first_targetid : int, optional
        TARGETID of row 0; row ``i`` gets ``first_targetid + 7 * i`` (files with
        the same ``first_targetid`` share TARGETIDs whatever their ``seed``).

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        For a negative size, more duplicates than rows, or nulls asked for in an
        unknown column or an integer column without ``TNULL`` (``TARGETID``).
    """
    if n_rows < 0 or chunk_rows < 1:
        raise ValueError("n_rows must be >= 0 and chunk_rows >= 1")
    if not 0 <= duplicate_keys <= n_rows // 2:
        raise ValueError(f"duplicate_keys must lie in [0, {n_rows // 2}] for {n_rows} rows")
    target = pathlib.Path(path)
    primary = fits.PrimaryHDU()
    primary.header["SPECPROD"] = (specprod, "Spectroscopic production name")
    primary.header["COADDTYP"] = ("healpix", "Type of spectral coadd")
    primary.header["VACNAME"] = ("fastspecfit", "Value-added catalog (generated for tests)")
    primary.writeto(target, overwrite=True)
    plan = _plan(FASTSPEC_COLUMNS, n_rows, seed, nulls or {})
    _write_table(target, FASTSPEC_COLUMNS, "FASTSPEC", n_rows, chunk_rows, seed, plan,
                 duplicate_keys, overrides or {}, first_targetid, null_fraction)
    if metadata:
        _write_table(target, METADATA_COLUMNS, "METADATA", n_rows, chunk_rows, seed, {},
                     duplicate_keys, {}, first_targetid)
    return target
