"""TESS SPOC light-curve files (``*_lc.fits``) in the real layout, and broken copies of them.

A SPOC light-curve file has three HDUs: a primary HDU whose header describes
the target (``TICID``, ``SECTOR``, ``CAMERA``, ``CCD``, ``TESSMAG`` ...), the
``LIGHTCURVE`` binary table (``TIME`` in BTJD, ``CADENCENO``, ``SAP_FLUX``,
``PDCSAP_FLUX``, ``QUALITY`` and centroid columns, with the time system in its
header) and the ``APERTURE`` bitmask image. :func:`write_spoc_lightcurve`
writes one with deterministic synthetic photometry and NaNs where SPOC writes
them: ``TIME`` and all fluxes in data gaps, ``PDCSAP_FLUX`` wherever a "hard"
quality bit is set. The other functions write damaged copies for testing how
loaders fail.
"""

from __future__ import annotations

import datetime as dt
import os
import pathlib
from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt
from astropy.io import fits

from lightcurvedb.missions.tess import TESS_QUALITY_BITS

__all__ = [
    "spoc_filename",
    "write_spoc_lightcurve",
    "write_truncated_copy",
    "write_with_ticid_mismatch",
    "write_without_column",
    "write_without_hdu",
]

PathLike = str | os.PathLike[str]
_BTJD_ZERO = dt.datetime(2014, 12, 8, 12, 0, 0)  # JD 2457000.0 (TDB taken as UTC here)
_SECTOR_DAYS = 27.4
_COARSE_POINT, _DESATURATION = TESS_QUALITY_BITS.value("coarse_point"), \
    TESS_QUALITY_BITS.value("desaturation")


def spoc_filename(tic_id: int, sector: int, cadence_seconds: int = 120) -> str:
    """Return the SPOC file name of a light curve.

    For example ``tess2018206045859-s0001-0000000261136679-0120-s_lc.fits``
    (2-minute cadence) or ``...-a_fast-lc.fits`` (20-second cadence). The
    timestamp and the spacecraft-configuration number are synthetic but
    follow the sector.
    """
    stamp = dt.datetime(2018, 7, 25, 4, 58, 59) + dt.timedelta(days=_SECTOR_DAYS * (sector - 1))
    suffix = "a_fast-lc" if cadence_seconds == 20 else "s_lc"
    return (f"tess{stamp:%Y%j%H%M%S}-s{sector:04d}-{tic_id:016d}-{119 + sector:04d}-"
            f"{suffix}.fits")


def _iso(btjd: float) -> str:
    return (_BTJD_ZERO + dt.timedelta(days=float(btjd))).isoformat(timespec="milliseconds")


def _default_quality(n: int, gap: npt.NDArray[np.intp], rng: np.random.Generator
                     ) -> npt.NDArray[np.int32]:
    quality = np.zeros(n, dtype=np.int32)
    orbit_starts = [0, int(gap.max()) + 1] if gap.size else [0]
    for start in orbit_starts:                       # coarse point after each downlink
        quality[start:start + 3] |= _COARSE_POINT
    for i in range(max(n // 4, 1), n - 1, max(n // 4, 1)):   # momentum dumps
        quality[i:i + 2] |= _DESATURATION
    quality[rng.choice(n, size=min(3, n), replace=False)] |= TESS_QUALITY_BITS.value(
        "aperture_cosmic")
    quality[rng.integers(n)] |= TESS_QUALITY_BITS.value("attitude_tweak")
    quality[n - max(n // 50, 1):] |= TESS_QUALITY_BITS.value("scattered_light")
    quality[gap] |= TESS_QUALITY_BITS.value("manual_exclude")
    return quality


def write_spoc_lightcurve(
    path: PathLike, *, tic_id: int, sector: int, camera: int, ccd: int, n_cadences: int = 1000,
    cadence_seconds: int = 120, start_btjd: float | None = None,
    first_cadenceno: int | None = None, seed: int | None = None,
    nan_cadences: Sequence[int] | None = None, nan_time_cadences: Sequence[int] | None = None,
    quality: npt.ArrayLike | None = None, tessmag: float | None = None, teff: float = 5800.0,
    ra: float | None = None, dec: float | None = None, pdc_method: str = "msMAP",
) -> pathlib.Path:
    """Write a synthetic SPOC light-curve file with the real HDU layout.

    Parameters
    ----------
    path : path-like
        The file to write, or an existing directory to write
        :func:`spoc_filename` into.
    tic_id, sector, camera, ccd : int
        TIC number, sector, camera and CCD, written to the primary header
        (and ``TICID`` to every extension header).
    n_cadences : int, optional
        Rows of the ``LIGHTCURVE`` table.
    cadence_seconds : int, optional
        120 (2-minute) or 20 (fast) cadence; ``TIMEDEL`` is this in days.
    start_btjd : float, optional
        ``TIME`` of the first cadence before the barycentric correction;
        default follows the sector.
    first_cadenceno : int, optional
        ``CADENCENO`` of the first row; default follows sector and cadence, so
        targets of one sector and cadence share their cadence numbers.
    seed : int, optional
        Seed of the synthetic photometry; default derived from TIC id, sector
        and cadence.
    nan_cadences : sequence of int, optional
        Row indices of the data gap: all fluxes and centroids NaN, quality
        ``manual_exclude``. Default: the middle tenth of the rows (the
        mid-sector downlink).
    nan_time_cadences : sequence of int, optional
        Row indices whose ``TIME`` (and ``TIMECORR``) are NaN; default
        ``nan_cadences``. Pass ``()`` for finite times everywhere.
    quality : array_like, optional
        ``QUALITY`` words; default: coarse point after each gap, momentum
        dumps, cosmic rays, an attitude tweak and scattered light at the end.
    tessmag, teff, ra, dec : float, optional
        Target properties for the primary header; ``tessmag`` sets the flux.
    pdc_method : str, optional
        ``PDCMETHD`` keyword.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    if cadence_seconds not in (20, 120):
        raise ValueError(f"SPOC light curves have 20 s or 120 s cadence, not {cadence_seconds}")
    target = pathlib.Path(path)
    if target.is_dir():
        target = target / spoc_filename(tic_id, sector, cadence_seconds)
    rng = np.random.default_rng([seed] if seed is not None else [tic_id, sector, cadence_seconds])
    n, cadence_days = n_cadences, cadence_seconds / 86400.0
    if start_btjd is None:
        start_btjd = 1325.29 + _SECTOR_DAYS * (sector - 1)
    if first_cadenceno is None:
        first_cadenceno = (70445 + 20000 * (sector - 1) if cadence_seconds == 120
                           else 422670 + 120000 * (sector - 1))
    gap = (np.arange(n // 2 - n // 20, n // 2 + n // 20) if nan_cadences is None
           else np.asarray(nan_cadences, dtype=np.intp))
    nan_time = gap if nan_time_cadences is None else np.asarray(nan_time_cadences, dtype=np.intp)
    words = (_default_quality(n, gap, rng) if quality is None
             else np.asarray(quality, dtype=np.int32))
    if words.shape != (n,):
        raise ValueError(f"quality has shape {words.shape}, expected ({n},)")
    tessmag = float(rng.uniform(8.0, 13.0)) if tessmag is None else tessmag
    ra = float(rng.uniform(0.0, 360.0)) if ra is None else ra
    dec = float(rng.uniform(-89.0, 89.0)) if dec is None else dec

    cadenceno = np.arange(first_cadenceno, first_cadenceno + n, dtype=np.int32)
    elapsed = np.arange(n) * cadence_days
    timecorr = rng.uniform(-0.004, 0.004) + 1e-5 * elapsed
    time = start_btjd + elapsed + timecorr
    time[nan_time] = np.nan
    timecorr[nan_time] = np.nan
    base = 15000.0 * 10 ** (-0.4 * (tessmag - 10.0))
    sigma = max(6e-5, 1.0 / np.sqrt(base * cadence_seconds * 0.8))
    second_orbit = int(gap.max()) + 1 if gap.size else n
    orbit_start = np.where(np.arange(n) >= second_orbit, second_orbit, 0)
    trend = 1.0 - 0.003 * np.exp(-(elapsed - elapsed[orbit_start]) / 0.4) + 2e-4 * elapsed
    relative = 1.0 + rng.normal(0.0, sigma, n)
    sap = base * trend * relative
    sap_err = np.full(n, base * sigma)
    pdcsap = base * relative
    pdcsap_err = sap_err * 1.05
    bad = (words & TESS_QUALITY_BITS.hard_value) != 0
    bad[gap] = True
    pdcsap[bad] = pdcsap_err[bad] = np.nan
    gap_nan = np.zeros(n, dtype=bool)
    gap_nan[gap] = True

    def column(name: str, form: str, values: npt.ArrayLike, unit: str | None = None,
               gap_is_nan: bool = True) -> fits.Column:
        array = np.asarray(values, dtype=">f8" if form == "D" else ">f4" if form == "E"
                           else ">i4").copy()
        if gap_is_nan and form in "DE":
            array[gap_nan] = np.nan
        return fits.Column(name=name, format=form, unit=unit, array=array)

    centre = rng.uniform(100.0, 2000.0, 2)
    columns = [
        column("TIME", "D", time, "BJD - 2457000, days", gap_is_nan=False),
        column("TIMECORR", "E", timecorr, "d", gap_is_nan=False),
        column("CADENCENO", "J", cadenceno),
        column("SAP_FLUX", "E", sap, "e-/s"),
        column("SAP_FLUX_ERR", "E", sap_err, "e-/s"),
        column("SAP_BKG", "E", 40.0 + rng.normal(0.0, 2.0, n), "e-/s"),
        column("SAP_BKG_ERR", "E", np.full(n, 1.5), "e-/s"),
        column("PDCSAP_FLUX", "E", pdcsap, "e-/s"),
        column("PDCSAP_FLUX_ERR", "E", pdcsap_err, "e-/s"),
        column("QUALITY", "J", words),
        *(column(f"PSF_CENTR{axis}{err}", "E" if err else "D", np.full(n, np.nan), "pixel")
          for axis in (1, 2) for err in ("", "_ERR")),
        *(column(f"MOM_CENTR{axis}{err}", "E" if err else "D",
                 np.full(n, 1e-3) if err else centre[axis - 1] + rng.normal(0.0, 0.01, n),
                 "pixel") for axis in (1, 2) for err in ("", "_ERR")),
        column("POS_CORR1", "E", rng.normal(0.0, 0.005, n), "pixels"),
        column("POS_CORR2", "E", rng.normal(0.0, 0.005, n), "pixels"),
    ]
    finite = time[np.isfinite(time)]
    tstart, tstop = (float(finite[0]), float(finite[-1])) if finite.size else (start_btjd,) * 2
    deadc = 0.792 if cadence_seconds == 120 else 0.8
    common = {"TELESCOP": "TESS", "INSTRUME": "TESS Photometer", "OBJECT": f"TIC {tic_id}",
              "TICID": tic_id, "RADESYS": "ICRS", "RA_OBJ": ra, "DEC_OBJ": dec,
              "EQUINOX": 2000.0}
    primary = fits.PrimaryHDU()
    primary.header.update({
        "NEXTEND": 2, "EXTNAME": "PRIMARY", "EXTVER": 1, "SIMDATA": False,
        "ORIGIN": "NASA/Ames", "DATE": "2018-08-09", "TSTART": tstart, "TSTOP": tstop,
        "DATE-OBS": _iso(tstart), "DATE-END": _iso(tstop),
        "CREATOR": "7263 LightCurveExporterPipelineModule", "PROCVER": "spoc-3.3.37-20180806",
        "FILEVER": "1.0", "TIMVERSN": "OGIP/93-003", "DATA_REL": 1, **common,
        "SECTOR": sector, "CAMERA": camera, "CCD": ccd, "PXTABLE": 129,
        "PMRA": 0.0, "PMDEC": 0.0, "PMTOTAL": 0.0, "TESSMAG": tessmag, "TEFF": teff,
        "LOGG": 4.4, "MH": 0.0, "RADIUS": 1.0, "TICVER": 7, "CRMITEN": True, "CRBLKSZ": 10,
        "CRSPOC": False,
    })
    table = fits.BinTableHDU.from_columns(columns, name="LIGHTCURVE")
    table.header.update({
        **common, "EXPOSURE": (tstop - tstart) * deadc, "TIMEREF": "SOLARSYSTEM",
        "TASSIGN": "SPACECRAFT", "TIMESYS": "TDB", "BJDREFI": 2457000, "BJDREFF": 0.0,
        "TIMEUNIT": "d", "TELAPSE": tstop - tstart, "LIVETIME": (tstop - tstart) * deadc,
        "TSTART": tstart, "TSTOP": tstop, "DATE-OBS": _iso(tstart), "DATE-END": _iso(tstop),
        "DEADC": deadc, "TIMEPIXR": 0.5, "TIERRELA": 1.16e-05, "INT_TIME": 1.98 * deadc,
        "FRAMETIM": 2.0, "NUM_FRM": cadence_seconds // 2, "TIMEDEL": cadence_days,
        **{f"CDPP{hours:.1f}".replace(".", "_"): 1e6 * sigma / np.sqrt(hours * 3600
                                                                       / cadence_seconds)
           for hours in (0.5, 1.0, 2.0)},
        "CROWDSAP": 0.99, "FLFRCSAP": 0.93, "NUMBAND": 3, "PDCVAR": 0.9,
        "PDCMETHD": pdc_method,
    })
    aperture = fits.ImageHDU(_aperture_mask(), name="APERTURE")
    aperture.header.update({**common, "NPIXSAP": 9, "NPIXMISS": 0,
                            "CROWDSAP": 0.99, "FLFRCSAP": 0.93})
    fits.HDUList([primary, table, aperture]).writeto(target, overwrite=True, checksum=True)
    return target


def _aperture_mask(shape: tuple[int, int] = (11, 11)) -> npt.NDArray[np.int32]:
    """SPOC aperture bits: 1 collected, 2 optimal aperture, 4 background, 8 centroid."""
    rows, cols = np.indices(shape)
    distance = np.hypot(rows - shape[0] // 2, cols - shape[1] // 2)
    mask = np.ones(shape, dtype=np.int32)
    mask[distance <= 1.0] |= 2 | 8
    mask[distance >= 4.0] |= 4
    return mask


def write_truncated_copy(source: PathLike, dest: PathLike, *, keep_fraction: float = 0.6
                         ) -> pathlib.Path:
    """Copy the first ``keep_fraction`` of ``source``'s bytes to ``dest`` (an interrupted copy)."""
    data = pathlib.Path(source).read_bytes()
    target = pathlib.Path(dest)
    target.write_bytes(data[:int(len(data) * keep_fraction)])
    return target


def _rewrite(source: PathLike, dest: PathLike, edit: Callable[[fits.HDUList], fits.HDUList]
             ) -> pathlib.Path:
    target = pathlib.Path(dest)
    with fits.open(source, memmap=False) as hdul:
        hdul = fits.HDUList([hdu.copy() for hdu in hdul])
    edit(hdul).writeto(target, overwrite=True, checksum=True)
    return target


def write_without_hdu(source: PathLike, dest: PathLike, extname: str = "LIGHTCURVE"
                      ) -> pathlib.Path:
    """Copy ``source`` to ``dest`` without the extension called ``extname``."""
    return _rewrite(source, dest, lambda hdul: fits.HDUList(
        [hdu for hdu in hdul if hdu.name != extname.upper()]))


def write_without_column(source: PathLike, dest: PathLike, column: str = "PDCSAP_FLUX"
                         ) -> pathlib.Path:
    """Copy ``source`` to ``dest`` with ``column`` removed from the ``LIGHTCURVE`` table."""
    def edit(hdul: fits.HDUList) -> fits.HDUList:
        old = hdul["LIGHTCURVE"]
        header = old.header.copy()
        for keyword in list(header):
            if keyword.rstrip("0123456789") in ("TTYPE", "TFORM", "TUNIT", "TDISP", "TNULL"):
                del header[keyword]
        kept = fits.ColDefs([c for c in old.columns if c.name != column])
        hdul[hdul.index_of("LIGHTCURVE")] = fits.BinTableHDU.from_columns(kept, header=header)
        return hdul
    return _rewrite(source, dest, edit)


def write_with_ticid_mismatch(source: PathLike, dest: PathLike, tic_id: int | None = None
                              ) -> pathlib.Path:
    """Copy ``source`` to ``dest`` with a ``LIGHTCURVE`` ``TICID`` unlike the primary's.

    The new id is ``tic_id``, by default the primary ``TICID`` plus one.
    """
    def edit(hdul: fits.HDUList) -> fits.HDUList:
        primary_id = int(hdul[0].header["TICID"])
        hdul["LIGHTCURVE"].header["TICID"] = primary_id + 1 if tic_id is None else tic_id
        return hdul
    return _rewrite(source, dest, edit)
