"""TESS SPOC light-curve files (``*_lc.fits``) in the real layout, and broken copies of them.

A SPOC light-curve file (TESS Science Data Products Description Document,
section 5.3) has three HDUs: a primary HDU whose header describes the target
(``TICID``, ``SECTOR``, ``CAMERA``, ``CCD``, ``TESSMAG`` ...), the
``LIGHTCURVE`` binary table (``TIME`` in BTJD, ``TIMECORR``, ``CADENCENO``,
``SAP_FLUX``, ``PDCSAP_FLUX``, ``QUALITY``, centroid and position-correction
columns, each with its ``TDISP``; the time system, cadence, detector and PDC
keywords in its header) and the ``APERTURE`` bitmask image (bits 1 collected,
2 optimal aperture, 4 background, 8 centroid, 32-256 the CCD output). The
extensions ``INHERIT`` the primary header, and every HDU carries a
``CHECKSUM`` card but no ``DATASUM``, as SPOC writes them.

:func:`write_spoc_lightcurve` writes one with deterministic synthetic
photometry and NaNs where SPOC writes them: ``TIME`` and all fluxes in data
gaps, ``PDCSAP_FLUX`` wherever a "hard" quality bit is set; byte for byte the
same for the same arguments, plain or gzip/bzip2-compressed as MAST serves
them. The other functions write damaged copies for testing how loaders fail.
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
from lightcurvedb.testing.fits._writer import COMPRESSION_SUFFIXES, write_checksummed

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
#: ``CHECKSUM`` comment time of broken copies (a fixed time: copies are deterministic too).
_COPY_TIME = "2019-02-10T15:15:39Z"


def spoc_filename(tic_id: int, sector: int, cadence_seconds: int = 120, *,
                  product: str | None = None) -> str:
    """Return the SPOC file name of a light curve (or of another product of the target).

    For example ``tess2018206045859-s0001-0000000261136679-0120-s_lc.fits``
    (2-minute cadence) or ``...-a_fast-lc.fits`` (20-second cadence);
    ``product="tp"`` gives the target pixel file ``...-s_tp.fits``. The
    timestamp and the spacecraft-configuration number are synthetic but
    follow the sector.
    """
    stamp = dt.datetime(2018, 7, 25, 4, 58, 59) + dt.timedelta(days=_SECTOR_DAYS * (sector - 1))
    kind = product or "lc"
    suffix = f"a_fast-{kind}" if cadence_seconds == 20 else f"s_{kind}"
    return (f"tess{stamp:%Y%j%H%M%S}-s{sector:04d}-{tic_id:016d}-{119 + sector:04d}-"
            f"{suffix}.fits")


def _iso(btjd: float) -> str:
    """Return a BTJD as the UTC calendar date SPOC writes (``2018-07-25T19:00:27.620Z``)."""
    when = _BTJD_ZERO + dt.timedelta(days=float(btjd))
    return when.isoformat(timespec="milliseconds") + "Z"


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


def _jitter(rng: np.random.Generator, n: int, spread: float) -> npt.NDArray[np.float64]:
    """Per-cadence factors about 1 (relative scatter ``spread``) for an uncertainty column."""
    return 1.0 + rng.normal(0.0, spread, n)


def write_spoc_lightcurve(
    path: PathLike, *, tic_id: int, sector: int, camera: int, ccd: int, n_cadences: int = 1000,
    cadence_seconds: int = 120, start_btjd: float | None = None,
    first_cadenceno: int | None = None, seed: int | None = None,
    nan_cadences: Sequence[int] | None = None, nan_time_cadences: Sequence[int] | None = None,
    quality: npt.ArrayLike | None = None, tessmag: float | None = None, teff: float = 5800.0,
    ra: float | None = None, dec: float | None = None, pm_ra: float | None = 0.0,
    pm_dec: float | None = 0.0, pdc_method: str = "msMAP", compression: str | None = None,
) -> pathlib.Path:
    """Write a synthetic SPOC light-curve file with the real HDU layout.

    Parameters
    ----------
    path : path-like
        The file to write, or an existing directory to write
        :func:`spoc_filename` into (with ``.gz``/``.bz2`` appended when
        compressed).
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
    pm_ra, pm_dec : float or None, optional
        ``PMRA`` and ``PMDEC`` (mas/yr); None writes the blank cards SPOC
        writes for stars without a proper motion in the TIC.
    pdc_method : str, optional
        ``PDCMETHD`` keyword.
    compression : {None, "gzip", "bzip2"}, optional
        Compress the whole file, as MAST serves ``.fits.gz`` copies; the FITS
        bytes inside are those of the plain file.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    if cadence_seconds not in (20, 120):
        raise ValueError(f"SPOC light curves have 20 s or 120 s cadence, not {cadence_seconds}")
    if compression not in COMPRESSION_SUFFIXES:
        raise ValueError(f"compression must be None, 'gzip' or 'bzip2', not {compression!r}")
    target = pathlib.Path(path)
    if target.is_dir():
        target = target / (spoc_filename(tic_id, sector, cadence_seconds)
                           + COMPRESSION_SUFFIXES[compression])
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
    # Uncertainties vary from cadence to cadence, as SPOC's do (a few per cent
    # about their median); PDC's are larger than SAP's by a factor ~1.1-1.4.
    sap_err = base * sigma * np.sqrt(trend) * _jitter(rng, n, 0.03)
    pdcsap = base * relative
    pdcsap_err = sap_err * rng.uniform(1.1, 1.4) * _jitter(rng, n, 0.01)
    bad = (words & TESS_QUALITY_BITS.hard_value) != 0
    bad[gap] = True
    pdcsap[bad] = pdcsap_err[bad] = np.nan
    gap_nan = np.zeros(n, dtype=bool)
    gap_nan[gap] = True

    def column(name: str, form: str, values: npt.ArrayLike, unit: str | None = None,
               gap_is_nan: bool = True, disp: str | None = None) -> fits.Column:
        array = np.asarray(values, dtype=">f8" if form == "D" else ">f4" if form == "E"
                           else ">i4").copy()
        if gap_is_nan and form in "DE":
            array[gap_nan] = np.nan
        display = disp or {"D": "D14.7", "E": "E14.7", "J": "I10"}[form]
        return fits.Column(name=name, format=form, unit=unit, array=array, disp=display)

    centre = rng.uniform(100.0, 2000.0, 2)
    columns = [
        column("TIME", "D", time, "BJD - 2457000, days", gap_is_nan=False),
        column("TIMECORR", "E", timecorr, "d", gap_is_nan=False),
        column("CADENCENO", "J", cadenceno),
        column("SAP_FLUX", "E", sap, "e-/s"),
        column("SAP_FLUX_ERR", "E", sap_err, "e-/s"),
        column("SAP_BKG", "E", 40.0 + rng.normal(0.0, 2.0, n), "e-/s"),
        column("SAP_BKG_ERR", "E", 1.5 * _jitter(rng, n, 0.05), "e-/s"),
        column("PDCSAP_FLUX", "E", pdcsap, "e-/s"),
        column("PDCSAP_FLUX_ERR", "E", pdcsap_err, "e-/s"),
        column("QUALITY", "J", words, disp="B16.16"),
        *(column(f"PSF_CENTR{axis}{err}", "E" if err else "D", np.full(n, np.nan), "pixel",
                 disp=None if err else "F10.5") for axis in (1, 2) for err in ("", "_ERR")),
        *(column(f"MOM_CENTR{axis}{err}", "E" if err else "D",
                 1e-3 * _jitter(rng, n, 0.05) if err else
                 centre[axis - 1] + rng.normal(0.0, 0.01, n),
                 "pixel", disp=None if err else "F10.5")
          for axis in (1, 2) for err in ("", "_ERR")),
        column("POS_CORR1", "E", rng.normal(0.0, 0.005, n), "pixels"),
        column("POS_CORR2", "E", rng.normal(0.0, 0.005, n), "pixels"),
    ]
    finite = time[np.isfinite(time)]
    tstart, tstop = (float(finite[0]), float(finite[-1])) if finite.size else (start_btjd,) * 2
    common = {"TELESCOP": "TESS", "INSTRUME": "TESS Photometer", "OBJECT": f"TIC {tic_id}",
              "TICID": tic_id, "RADESYS": "ICRS", "RA_OBJ": ra, "DEC_OBJ": dec,
              "EQUINOX": 2000.0}
    primary = fits.PrimaryHDU()
    primary.header.update({
        "NEXTEND": 2, "EXTNAME": "PRIMARY", "EXTVER": 1, "SIMDATA": False,
        "ORIGIN": "NASA/Ames", "DATE": _iso(tstop + 14.0)[:10], "TSTART": tstart,
        "TSTOP": tstop, "DATE-OBS": _iso(tstart), "DATE-END": _iso(tstop),
        "CREATOR": "7263 LightCurveExporterPipelineModule", "PROCVER": "spoc-3.3.37-20180806",
        "FILEVER": "1.0", "TIMVERSN": "OGIP/93-003", "TELESCOP": "TESS",
        "INSTRUME": "TESS Photometer", "DATA_REL": 1, "OBJECT": f"TIC {tic_id}",
        "TICID": tic_id, "SECTOR": sector, "CAMERA": camera, "CCD": ccd, "PXTABLE": 129,
        "RADESYS": "ICRS", "RA_OBJ": ra, "DEC_OBJ": dec, "EQUINOX": 2000.0,
        "PMRA": pm_ra, "PMDEC": pm_dec,
        "PMTOTAL": None if pm_ra is None or pm_dec is None else float(np.hypot(pm_ra, pm_dec)),
        "TESSMAG": tessmag, "TEFF": teff,
        "LOGG": 4.4, "MH": 0.0, "RADIUS": 1.0, "TICVER": 7, "CRMITEN": True, "CRBLKSZ": 10,
        "CRSPOC": False,
    })
    table = fits.BinTableHDU.from_columns(columns)
    table.header.update({"INHERIT": True, "EXTNAME": "LIGHTCURVE", "EXTVER": 1,
                         "SIMDATA": False, **common,
                         **_lightcurve_keywords(camera, ccd, cadence_seconds, tstart, tstop,
                                                int(finite.size), sigma, pdc_method, rng)})
    mask = _aperture_mask(column=float(centre[0]))
    aperture = fits.ImageHDU(mask)
    aperture.header.update({
        "INHERIT": True, "EXTNAME": "APERTURE", "EXTVER": 1, **common,
        **_aperture_wcs(mask.shape, ra, dec, centre), "NPIXSAP": int(((mask & 2) != 0).sum()),
        "NPIXMISS": 0, "CROWDSAP": table.header["CROWDSAP"],
        "FLFRCSAP": table.header["FLFRCSAP"]})
    return write_checksummed(fits.HDUList([primary, table, aperture]), target,
                             when=f"{primary.header['DATE']}T15:15:39Z", compression=compression)


def _lightcurve_keywords(camera: int, ccd: int, cadence_seconds: int, tstart: float,
                         tstop: float, n_times: int, sigma: float, pdc_method: str,
                         rng: np.random.Generator) -> dict[str, object]:
    """Return the ``LIGHTCURVE`` header after the target cards: times, detector, PDC results."""
    cadence_days = cadence_seconds / 86400.0
    # 2-min cadences co-add 60 2-s frames of which onboard cosmic-ray mitigation
    # keeps 48; 20-s cadences are not mitigated.
    mitigated = cadence_seconds == 120
    deadc = 1.98 / 2.0 * (0.8 if mitigated else 1.0)
    frames = cadence_seconds // 2
    # msMAP fits three wavelet bands; single-scale MAP one (NUMBAND = 1, as in sector 1).
    n_bands = 3 if pdc_method.lower().startswith("ms") else 1
    bands = {key: value for band in range(1, n_bands + 1) for key, value in (
        (f"FITTYPE{band}", 1 if band < 3 else 2), (f"PR_GOOD{band}", 0.95 - 0.1 * band),
        (f"PR_WGHT{band}", 10.0 / band))}
    goodness = {key: round(float(value), 4) for name in ("TOT", "COR", "VAR", "NOI", "EPT")
                for value in [rng.uniform(0.6, 1.0)]
                for key, value in ((f"PDC_{name}", value), (f"PDC_{name}P", 100.0 * value))}
    return {
        "EXPOSURE": n_times * cadence_days * deadc, "TIMEREF": "SOLARSYSTEM",
        "TASSIGN": "SPACECRAFT", "TIMESYS": "TDB", "BJDREFI": 2457000, "BJDREFF": 0.0,
        "TIMEUNIT": "d", "TELAPSE": tstop - tstart, "LIVETIME": (tstop - tstart) * deadc,
        "TSTART": tstart, "TSTOP": tstop, "DATE-OBS": _iso(tstart), "DATE-END": _iso(tstop),
        "DEADC": deadc, "TIMEPIXR": 0.5, "TIERRELA": 1.16e-05, "INT_TIME": 1.98,
        "READTIME": 0.02, "FRAMETIM": 2.0, "NUM_FRM": frames, "TIMEDEL": cadence_days,
        "BACKAPP": True, "DEADAPP": True, "VIGNAPP": True,
        **{f"GAIN{out}": 5.2 - 0.04 * i for i, out in enumerate("ABCD")},
        **{f"READNOI{out}": 7.5 + 0.7 * i for i, out in enumerate("ABCD")},
        "NREADOUT": frames * 4 // 5 if mitigated else frames, "FXDOFF": 209700,
        **{f"CDPP{hours:.1f}".replace(".", "_"): 1e6 * sigma / np.sqrt(hours * 3600
                                                                       / cadence_seconds)
           for hours in (0.5, 1.0, 2.0)},
        "CROWDSAP": 0.99, "FLFRCSAP": 0.93, "NSPSDDET": 0, "NSPSDCOR": 0, "PDCVAR": 0.9,
        "PDCMETHD": pdc_method, "NUMBAND": n_bands, **bands, **goodness,
        f"TMOFST{camera}{ccd}": 0.06 + 0.5 * (ccd - 1),
        **{f"MEANBLC{out}": 6500 + 100 * i for i, out in enumerate("ABCD")},
    }


def _aperture_wcs(shape: tuple[int, ...], ra: float, dec: float,
                  centre: npt.NDArray[np.float64]) -> dict[str, object]:
    """Sky (TAN, 21"/pixel) and physical (CCD column/row) WCS of the aperture image."""
    scale = 21.0 / 3600.0
    corner = np.floor(centre - np.array(shape[::-1]) / 2.0)
    return {"WCSAXES": 2, "CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CUNIT1": "deg",
            "CUNIT2": "deg", "CRPIX1": (shape[1] + 1) / 2, "CRPIX2": (shape[0] + 1) / 2,
            "CRVAL1": ra, "CRVAL2": dec, "CDELT1": -scale, "CDELT2": scale, "PC1_1": 1.0,
            "PC1_2": 0.0, "PC2_1": 0.0, "PC2_2": 1.0, "WCSNAMEP": "PHYSICAL",
            "WCSAXESP": 2, "CTYPE1P": "RAWX", "CUNIT1P": "PIXEL", "CRPIX1P": 1,
            "CRVAL1P": int(corner[0]), "CDELT1P": 1.0, "CTYPE2P": "RAWY", "CUNIT2P": "PIXEL",
            "CRPIX2P": 1, "CRVAL2P": int(corner[1]), "CDELT2P": 1.0}


def _aperture_mask(shape: tuple[int, int] = (11, 11), column: float = 1000.0
                   ) -> npt.NDArray[np.int32]:
    """SPOC aperture bits: 1 collected, 2 optimal aperture, 4 background, 8 centroid.

    Every pixel also carries the bit of the CCD output (A-D: 32, 64, 128, 256)
    that read it: the outputs read 512 columns each.
    """
    rows, cols = np.indices(shape)
    distance = np.hypot(rows - shape[0] // 2, cols - shape[1] // 2)
    mask = np.ones(shape, dtype=np.int32)
    mask[distance <= 1.0] |= 2 | 8
    mask[distance >= 4.0] |= 4
    mask |= 32 << min(max(int(column) // 512, 0), 3)
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
    """Copy ``source`` through ``edit`` to ``dest``, with fresh (valid) CHECKSUM cards."""
    with fits.open(source, memmap=False) as hdul:
        hdul = fits.HDUList([hdu.copy() for hdu in hdul])
    return write_checksummed(edit(hdul), dest, when=_COPY_TIME)


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
