"""Zone 2: extract every spaxel of the s3d cubes into ``rbh1.ifu_spaxels``, in bulk.

For each JWST ``s3d`` cube with a :class:`~lightcurvedb.rbh1.WCSSolution`,
:func:`read_cube_spaxels` reads the ``SCI``, ``ERR`` and ``DQ`` extensions
(memory-mapped, a slab of rows at a time) and computes per spaxel its centre
(RA, Dec), the number of valid channels, median and peak S/N, median flux and a
quality flag (:func:`classify_quality`). :func:`extract_spaxels` adds the
region of interest the centre falls in and the projected distance from the
host, and writes each cube's rows with :func:`lightcurvedb.bulk.copy_rows`
(binary ``COPY`` on PostgreSQL) inside its own SAVEPOINT, recording the run as
a :class:`~lightcurvedb.rbh1.PipelineRun` (stage ``ifu_spaxels``).
"""

from __future__ import annotations

import datetime as dt
import math
import pathlib
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import numpy.typing as npt
from sqlalchemy import Table, delete, func, select
from sqlalchemy.orm import Session

from lightcurvedb.bulk import copy_rows
from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.loaders.report import LoaderError, LoadReport, run_loader
from lightcurvedb.rbh1 import (
    GeometricRegion,
    IFUSpaxel,
    PipelineRun,
    QualityFlag,
    RBH1Observation,
    RegionOfInterest,
    WCSSolution,
)

__all__ = ["HOST_POSITION", "KPC_PER_ARCSEC", "SNR_THRESHOLDS", "STAGE", "CubeSpaxels",
           "SpaxelReport", "classify_quality", "extract_spaxels", "read_cube_spaxels",
           "spaxel_count"]

#: :attr:`PipelineRun.stage_name <lightcurvedb.rbh1.PipelineRun.stage_name>` of a run.
STAGE = "ifu_spaxels"
#: (RA, Dec) in degrees of the compact host the 62 kpc feature starts from.
HOST_POSITION = (40.45, -8.35)
#: Projected scale at the feature's redshift implied by the seed: 62 kpc span 7.7 arcsec.
KPC_PER_ARCSEC = 62.0 / 7.7
#: Default peak-S/N thresholds of GOLD, SILVER and BRONZE spaxels (:func:`classify_quality`).
SNR_THRESHOLDS = {QualityFlag.GOLD: 50.0, QualityFlag.SILVER: 20.0, QualityFlag.BRONZE: 5.0}
_ROWS_PER_SLAB = 16


@dataclass
class CubeSpaxels:
    """Per-spaxel statistics of one cube, as 2-D ``(ny, nx)`` arrays (``[y, x]``).

    ``snr_median``, ``snr_max`` and ``flux_median`` are NaN where a spaxel has
    no valid channel.
    """

    path: pathlib.Path
    n_channels: int
    ra: npt.NDArray[np.float64]
    dec: npt.NDArray[np.float64]
    n_valid_channels: npt.NDArray[np.int64]
    snr_median: npt.NDArray[np.float64]
    snr_max: npt.NDArray[np.float64]
    flux_median: npt.NDArray[np.float64]

    @property
    def shape(self) -> tuple[int, int]:
        """``(ny, nx)``: rows and columns of spaxels."""
        return (int(self.ra.shape[0]), int(self.ra.shape[1]))


@dataclass
class SpaxelReport(LoadReport):
    """A :class:`~lightcurvedb.loaders.report.LoadReport` of cubes, with spaxel totals.

    Attributes
    ----------
    spaxels_written : int
        Rows inserted into ``rbh1.ifu_spaxels`` by this run.
    quality_counts : dict of QualityFlag to int
        Rows written per quality flag.
    run_id : int or None
        The :class:`~lightcurvedb.rbh1.PipelineRun` row of the run.
    """

    kind: str = "RBH-1 IFU spaxels (s3d cubes)"
    spaxels_written: int = 0
    quality_counts: dict[QualityFlag, int] = field(default_factory=dict)
    run_id: int | None = None


def read_cube_spaxels(path: str | pathlib.Path) -> CubeSpaxels:
    """Read an s3d cube and compute the statistics of each spaxel.

    A channel is valid where ``SCI`` is finite, ``ERR`` is finite and positive
    and ``DQ == 0``. The cube is read a slab of rows at a time, so memory stays
    bounded whatever its size. Centres are the celestial WCS of the ``SCI``
    header at 0-based pixel ``(x, y)`` (astropy's ``pixel_to_world`` convention).

    Parameters
    ----------
    path : str or pathlib.Path
        A JWST ``*_s3d.fits`` file.

    Returns
    -------
    CubeSpaxels

    Raises
    ------
    LoaderError
        If the file cannot be read, lacks ``SCI``, ``ERR`` or ``DQ``, the three
        differ in shape or are not 3-D, or the header has no celestial WCS.
    """
    from astropy.io import fits
    from astropy.wcs import WCS, FITSFixedWarning

    path = pathlib.Path(path)
    try:
        # Default memmap: SCI/ERR are mapped, never read whole; DQ (unsigned, so BZERO-scaled)
        # can't be mapped, and .section reads and scales it one slab at a time.
        with fits.open(path) as hdul:
            names = {hdu.name for hdu in hdul}
            missing = [name for name in ("SCI", "ERR", "DQ") if name not in names]
            if missing:
                raise LoaderError(path, f"no {', '.join(missing)} extension(s) in the cube")
            sci, err, dq = (hdul[name] for name in ("SCI", "ERR", "DQ"))
            shapes = {hdu.name: tuple(getattr(hdu, "shape", ())) for hdu in (sci, err, dq)}
            if len(set(shapes.values())) != 1 or len(shapes["SCI"]) != 3:
                raise LoaderError(path, f"SCI, ERR and DQ must be 3-D images of one shape, "
                                        f"got {shapes}")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", FITSFixedWarning)
                celestial = WCS(sci.header).celestial
            if celestial.naxis != 2 or not celestial.has_celestial:
                raise LoaderError(path, "the SCI header has no celestial WCS")
            n_channels, ny, nx = shapes["SCI"]
            y, x = np.mgrid[0:ny, 0:nx]
            ra, dec = celestial.pixel_to_world_values(x, y)
            stats = [_slab_stats(*(hdu.section[:, y0:y0 + _ROWS_PER_SLAB, :]
                                   for hdu in (sci, err, dq)))
                     for y0 in range(0, ny, _ROWS_PER_SLAB)]
    except LoaderError:
        raise
    except (OSError, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        raise LoaderError(path, f"cannot read the cube: {exc}") from exc
    n_valid, snr_median, snr_max, flux_median = (np.concatenate(part, axis=0)
                                                 for part in zip(*stats, strict=True))
    return CubeSpaxels(path, int(n_channels), np.asarray(ra, dtype=np.float64),
                       np.asarray(dec, dtype=np.float64), n_valid, snr_median, snr_max,
                       flux_median)


def _slab_stats(sci: Any, err: Any, dq: Any) -> tuple[npt.NDArray[Any], ...]:
    sci = np.asarray(sci, dtype=np.float64)
    err = np.asarray(err, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid = np.isfinite(sci) & np.isfinite(err) & (err > 0) & (np.asarray(dq) == 0)
        snr = np.where(valid, sci / np.where(valid, err, 1.0), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN spaxels give NaN, as meant
        return (valid.sum(axis=0).astype(np.int64), np.nanmedian(snr, axis=0),
                np.nanmax(snr, axis=0), np.nanmedian(np.where(valid, sci, np.nan), axis=0))


def classify_quality(snr_max: npt.ArrayLike, n_valid_channels: npt.ArrayLike,
                     n_channels: int, *, snr_gold: float = SNR_THRESHOLDS[QualityFlag.GOLD],
                     snr_silver: float = SNR_THRESHOLDS[QualityFlag.SILVER],
                     snr_bronze: float = SNR_THRESHOLDS[QualityFlag.BRONZE],
                     min_valid_fraction: float = 0.5) -> npt.NDArray[np.object_]:
    """Flag spaxels by their peak S/N over valid channels (their brightest emission line).

    ``GOLD``: peak S/N >= ``snr_gold`` (50); ``SILVER``: >= ``snr_silver``
    (20); ``BRONZE``: >= ``snr_bronze`` (5); ``REJECTED``: lower, NaN, or
    fewer than ``min_valid_fraction`` of the ``n_channels`` channels valid.
    The peak, not the median, decides: RBH-1's science is its emission lines,
    and a cube's continuum S/N (the median) hardly varies across the feature.

    Returns
    -------
    numpy.ndarray of QualityFlag
        Same shape as ``snr_max``.
    """
    snr = np.nan_to_num(np.asarray(snr_max, dtype=np.float64), nan=-np.inf)
    enough = np.asarray(n_valid_channels) >= min_valid_fraction * n_channels
    levels = np.zeros(snr.shape, dtype=np.intp)
    for level, threshold in enumerate((snr_bronze, snr_silver, snr_gold), start=1):
        levels[enough & (snr >= threshold)] = level
    choices = np.empty(4, dtype=object)
    for level, flag in enumerate((QualityFlag.REJECTED, QualityFlag.BRONZE, QualityFlag.SILVER,
                                  QualityFlag.GOLD)):
        choices[level] = flag   # one by one: numpy would turn a list of StrEnums into str
    return choices[levels]


def _separation_arcsec(ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64],
                       host: tuple[float, float]) -> npt.NDArray[np.float64]:
    ra1, dec1 = np.radians(ra), np.radians(dec)
    ra0, dec0 = math.radians(host[0]), math.radians(host[1])
    hav = (np.sin((dec1 - dec0) / 2) ** 2
           + np.cos(dec1) * np.cos(dec0) * np.sin((ra1 - ra0) / 2) ** 2)
    return np.degrees(2 * np.arcsin(np.sqrt(np.clip(hav, 0, 1)))) * 3600.0


def _assign_regions(ra: npt.NDArray[np.float64], dec: npt.NDArray[np.float64],
                    regions: list[tuple[GeometricRegion, SkyPolygon]]) -> list[str | None]:
    found: list[str | None] = [None] * ra.size
    for region, polygon in regions:   # smallest first: the most specific region wins
        ra_min, dec_min, ra_max, dec_max = polygon.bounds
        candidates = np.flatnonzero((ra >= ra_min) & (ra <= ra_max)
                                    & (dec >= dec_min) & (dec <= dec_max))
        for i in candidates:
            if found[i] is None and polygon.contains(float(ra[i]), float(dec[i])):
                found[i] = region.value
    return found


def _none_if_nan(values: npt.NDArray[np.float64]) -> list[float | None]:
    return [None if math.isnan(v) else v for v in values.tolist()]


def extract_spaxels(session: Session, *, wcs_ids: Iterable[int] | None = None,
                    host: tuple[float, float] = HOST_POSITION,
                    kpc_per_arcsec: float = KPC_PER_ARCSEC,
                    snr_gold: float = SNR_THRESHOLDS[QualityFlag.GOLD],
                    snr_silver: float = SNR_THRESHOLDS[QualityFlag.SILVER],
                    snr_bronze: float = SNR_THRESHOLDS[QualityFlag.BRONZE],
                    min_valid_fraction: float = 0.5, replace: bool = False,
                    run_name: str | None = None, progress: bool = False,
                    strict: bool = False) -> SpaxelReport:
    """Extract the spaxels of s3d cubes into ``rbh1.ifu_spaxels``.

    Each cube is read and checked first (:func:`read_cube_spaxels`), then
    written in its own SAVEPOINT with :func:`~lightcurvedb.bulk.copy_rows`. A cube
    that already has spaxels is skipped, unless ``replace=True``: then its
    rows (and, by cascade, their zone-3 fits) are deleted and rewritten in the
    same SAVEPOINT. A bad cube is reported with its path and reason and leaves
    no rows. Flushes, never commits.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration, with zones 0-1 loaded.
    wcs_ids : iterable of int, optional
        Only these cubes (WCS solution ids); default every s3d cube.
    host : (float, float), optional
        (RA, Dec) of the host in degrees, for ``distance_from_host_kpc``.
    kpc_per_arcsec : float, optional
        Projected scale turning the angular distance from the host into kpc.
    snr_gold, snr_silver, snr_bronze, min_valid_fraction : float, optional
        Quality thresholds (:func:`classify_quality`).
    replace : bool, optional
        Rewrite cubes that already have spaxels.
    run_name : str, optional
        :attr:`PipelineRun.run_name <lightcurvedb.rbh1.PipelineRun.run_name>`;
        default ``ifu_spaxels-<UTC timestamp>``.
    progress : bool, optional
        Show a progress bar on stderr.
    strict : bool, optional
        Raise the first :class:`~lightcurvedb.loaders.report.LoaderError`.

    Returns
    -------
    SpaxelReport
        Cubes loaded, skipped and failed, rows written, the run id.
    """
    started = dt.datetime.now(dt.UTC)
    run = PipelineRun(run_name=run_name or f"{STAGE}-{started:%Y%m%dT%H%M%S}", stage_name=STAGE,
                      status="running", started_at=started)
    session.add(run)
    session.flush()
    query = (select(WCSSolution.wcs_id, WCSSolution.naxis1, WCSSolution.naxis2,
                    RBH1Observation.file_path).join(WCSSolution.observation)
             .where(RBH1Observation.file_type == "s3d").order_by(WCSSolution.wcs_id))
    if wcs_ids is not None:
        query = query.where(WCSSolution.wcs_id.in_(list(wcs_ids)))
    cubes = {pathlib.Path(path): (wcs_id, nx, ny)
             for wcs_id, nx, ny, path in session.execute(query)}
    done = set(session.scalars(select(IFUSpaxel.wcs_id).distinct()
                               .where(IFUSpaxel.wcs_id.in_([c[0] for c in cubes.values()]))))
    regions = sorted(((r.region, r.footprint) for r in session.scalars(select(RegionOfInterest))),
                     key=lambda item: item[1].area)
    table = cast(Table, IFUSpaxel.__table__)
    counts: dict[QualityFlag, int] = {}

    def load_one(path: pathlib.Path) -> bool:
        wcs_id, nx, ny = cubes[path]
        if wcs_id in done and not replace:
            return False
        cube = read_cube_spaxels(path)
        if cube.shape != (ny, nx) or not cube.ra.size:
            raise LoaderError(path, f"cube has {cube.shape[1]} x {cube.shape[0]} spaxels, its WCS "
                                    f"solution {wcs_id} says {nx} x {ny}")
        quality = classify_quality(cube.snr_max, cube.n_valid_channels, cube.n_channels,
                                   snr_gold=snr_gold, snr_silver=snr_silver,
                                   snr_bronze=snr_bronze,
                                   min_valid_fraction=min_valid_fraction).ravel()
        ra, dec = cube.ra.ravel(), cube.dec.ravel()
        y, x = np.divmod(np.arange(ra.size), nx)
        distance = _separation_arcsec(ra, dec, host) * kpc_per_arcsec
        columns = {"wcs_id": [wcs_id] * ra.size, "x": x.tolist(), "y": y.tolist(),
                   "ra": ra.tolist(), "dec": dec.tolist(),
                   "region": _assign_regions(ra, dec, regions),
                   "distance_from_host_kpc": distance.tolist(),
                   "snr_median": _none_if_nan(cube.snr_median.ravel()),
                   "snr_max": _none_if_nan(cube.snr_max.ravel()),
                   "flux_median": _none_if_nan(cube.flux_median.ravel()),
                   "n_valid_channels": cube.n_valid_channels.ravel().tolist(),
                   "quality": [flag.value for flag in quality]}
        rows = [dict(zip(columns, values, strict=True)) for values in zip(*columns.values(),
                                                                         strict=True)]
        with session.begin_nested():
            if wcs_id in done:   # ORM delete: also drops the rows' objects from the session
                session.execute(delete(IFUSpaxel).where(IFUSpaxel.wcs_id == wcs_id))
            copy_rows(session.connection(), table, rows)
        for flag in quality:
            counts[flag] = counts.get(flag, 0) + 1
        return True

    try:
        loaded = run_loader(list(cubes), load_one, kind=SpaxelReport.kind, label="spaxels",
                            progress=progress, strict=strict)
    except LoaderError as exc:
        _finish(session, run, 0, 0, 1, "stopped at the first bad cube (strict)", str(exc))
        raise
    report = SpaxelReport(loaded=loaded.loaded, skipped=loaded.skipped, failures=loaded.failures,
                          spaxels_written=sum(counts.values()), run_id=run.run_id,
                          quality_counts={q: counts[q] for q in QualityFlag if q in counts})
    notes = (f"{len(report.loaded)} cubes extracted, {len(report.skipped)} already extracted, "
             f"{len(report.failures)} failed; {report.spaxels_written} spaxels "
             f"({', '.join(f'{k.value} {v}' for k, v in report.quality_counts.items())}); "
             f"peak S/N thresholds GOLD>={snr_gold}, SILVER>={snr_silver}, "
             f"BRONZE>={snr_bronze}, valid fraction>={min_valid_fraction}; "
             f"host {host}, {kpc_per_arcsec:.4f} kpc/arcsec")
    errors = "\n".join(f"{path}: {reason}" for path, reason in report.failures) or None
    _finish(session, run, report.spaxels_written, len(report.skipped), len(report.failures),
            notes, errors)
    return report


def _finish(session: Session, run: PipelineRun, processed: int, skipped: int, failed: int,
            notes: str, error: str | None) -> None:
    run.status, run.completed_at = "failed" if failed else "success", dt.datetime.now(dt.UTC)
    run.rows_processed, run.rows_skipped, run.rows_failed = processed, skipped, failed
    run.notes, run.error_message = notes, error
    session.flush()


def spaxel_count(session: Session, wcs_id: int) -> int:
    """Return how many spaxels of cube ``wcs_id`` are stored."""
    return int(session.scalar(select(func.count()).select_from(IFUSpaxel)
                              .where(IFUSpaxel.wcs_id == wcs_id)) or 0)
