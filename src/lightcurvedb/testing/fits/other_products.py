"""Files a TESS SPOC light-curve loader must refuse, in their real layouts.

Each writer copies the HDU layout, extension names, column formats and the
identifying keywords of an archive product that shares a directory, a name
or a layout with SPOC light curves:

* :func:`write_kepler_lightcurve` -- a Kepler ``kplr..._llc.fits`` light curve
  (Kepler Archive Manual, section 2.3.1): primary header with ``TELESCOP =
  'Kepler'``, ``KEPLERID``, ``QUARTER``, ``OBSMODE``, ``MISSION``; a
  ``LIGHTCURVE`` table like SPOC's but with ``SAP_QUALITY`` and times in BKJD
  (``BJDREFI = 2454833``); an ``APERTURE`` image;
* :func:`write_k2_lightcurve` -- a K2 ``ktwo..._llc.fits`` light curve: the
  same layout with ``MISSION = 'K2'``, ``CAMPAIGN`` and an EPIC id;
* :func:`write_tess_target_pixel_file` -- a SPOC ``..._tp.fits`` target pixel
  file (TESS SDPDD, section 5.2): ``PIXELS`` table of image columns
  (``RAW_CNTS``, ``FLUX``, ... with ``TDIM``), ``APERTURE``, ``TARGET COSMIC
  RAY``;
* :func:`write_tesscut_cutout` -- a TESScut (astrocut) FFI cutout
  ``..._astrocut.fits``: ``CREATOR = 'astrocut'``, no TIC id, ``PIXELS`` and
  ``APERTURE`` like a target pixel file;
* :func:`write_tess_ffi` -- a (miniature) SPOC calibrated full-frame image
  ``..._ffic.fits``;
* :func:`write_qlp_lightcurve` -- a QLP high-level light curve
  (``ORIGIN = 'MIT/QLP'``, ``KSPSAP_FLUX``, no ``PDCSAP_FLUX``).

The data are small and synthetic; the headers are what loaders judge. Every
file is byte-for-byte deterministic and can be written gzip- or
bzip2-compressed (``compression=``).
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy.io import fits

from lightcurvedb.testing.fits._writer import COMPRESSION_SUFFIXES, write_checksummed
from lightcurvedb.testing.fits.tess import spoc_filename

__all__ = [
    "kepler_filename",
    "write_k2_lightcurve",
    "write_kepler_lightcurve",
    "write_qlp_lightcurve",
    "write_tess_ffi",
    "write_tess_target_pixel_file",
    "write_tesscut_cutout",
]

PathLike = str | os.PathLike[str]
_WHEN = "2016-05-02T10:11:12Z"
#: Kepler time stamps: seconds of a long (29.4 min) and a short (58.85 s) cadence.
_KEPLER_CADENCE = {"long": 1765.46, "short": 58.85}


def _target(path: PathLike, name: str, compression: str | None) -> pathlib.Path:
    target = pathlib.Path(path)
    return target / (name + COMPRESSION_SUFFIXES[compression]) if target.is_dir() else target


def _column(name: str, form: str, values: Any, unit: str | None = None,
            disp: str | None = None, **extra: Any) -> fits.Column:
    return fits.Column(name=name, format=form, unit=unit, disp=disp, array=values, **extra)


def _photometry_columns(rng: np.random.Generator, n: int, start: float, days: float,
                        quality: str, time_unit: str) -> list[fits.Column]:
    """Return the light-curve columns Kepler and SPOC share, ``quality`` the flag column."""
    time = start + np.arange(n) * days
    flux = 2.0e4 * (1.0 + rng.normal(0.0, 1e-4, n))
    centroid = rng.uniform(100.0, 1000.0, 2)
    return [
        _column("TIME", "D", time, time_unit, "D14.7"),
        _column("TIMECORR", "E", np.full(n, 1e-3, np.float32), "d", "E13.6"),
        _column("CADENCENO", "J", np.arange(1105, 1105 + n, dtype=np.int32), None, "I10"),
        *(_column(name, "E", values.astype(np.float32), "e-/s", "E14.7") for name, values in (
            ("SAP_FLUX", flux), ("SAP_FLUX_ERR", np.full(n, 2.0)),
            ("SAP_BKG", np.full(n, 150.0)), ("SAP_BKG_ERR", np.full(n, 0.5)),
            ("PDCSAP_FLUX", flux * 1.01), ("PDCSAP_FLUX_ERR", np.full(n, 2.1)))),
        _column(quality, "J", np.zeros(n, dtype=np.int32), None, "B16.16"),
        *(_column(f"{kind}_CENTR{axis}{err}", "E" if err else "D",
                  np.full(n, 1e-3 if err else centroid[axis - 1]), "pixel",
                  "E14.7" if err else "F10.5")
          for kind in ("PSF", "MOM") for axis in (1, 2) for err in ("", "_ERR")),
        _column("POS_CORR1", "E", np.zeros(n, np.float32), "pixels", "E14.7"),
        _column("POS_CORR2", "E", np.zeros(n, np.float32), "pixels", "E14.7"),
    ]


def kepler_filename(kepler_id: int, quarter: int = 1, cadence: str = "long", *,
                    campaign: int | None = None) -> str:
    """Return a Kepler (``kplr011446443-2009166043257_llc.fits``) or K2 light-curve file name.

    With ``campaign`` the K2 name ``ktwo211089792-c04_llc.fits``; ``cadence``
    ``"short"`` gives ``_slc``. The Kepler time stamp is synthetic but follows
    the quarter.
    """
    suffix = "llc" if cadence == "long" else "slc"
    if campaign is not None:
        return f"ktwo{kepler_id:09d}-c{campaign:02d}_{suffix}.fits"
    day = 166 + 91 * (quarter - 1)
    return f"kplr{kepler_id:09d}-{2009 + (day - 1) // 365}{(day - 1) % 365 + 1:03d}043257_" \
           f"{suffix}.fits"


def _kepler_file(target: pathlib.Path, identity: Mapping[str, Any], *, cadence: str,
                 n_cadences: int, seed: int, compression: str | None) -> pathlib.Path:
    if cadence not in _KEPLER_CADENCE:
        raise ValueError(f"cadence must be 'long' or 'short', not {cadence!r}")
    rng = np.random.default_rng(seed)
    days = _KEPLER_CADENCE[cadence] / 86400.0
    object_cards = {"TELESCOP": "Kepler", "INSTRUME": "Kepler Photometer",
                    "OBJECT": identity["OBJECT"], "KEPLERID": identity["KEPLERID"],
                    "RADESYS": "ICRS", "RA_OBJ": 286.80847, "DEC_OBJ": 49.316422,
                    "EQUINOX": 2000.0}
    primary = fits.PrimaryHDU()
    primary.header.update({
        "NEXTEND": 2, "EXTNAME": "PRIMARY", "EXTVER": 1, "ORIGIN": "NASA/Ames",
        "DATE": "2015-09-24", "CREATOR": "917482 FluxExporter2PipelineModule",
        "PROCVER": "svn+ssh://murzim/repo/soc/tags/release/9.3.22 r60269", "FILEVER": "6.1",
        "TIMVERSN": "OGIP/93-003", **object_cards, "CHANNEL": 44, "MODULE": 13, "OUTPUT": 4,
        **{key: value for key, value in identity.items() if key not in object_cards},
        "DATA_REL": 25, "OBSMODE": f"{cadence} cadence", "TTABLEID": 29,
        "PMRA": 0.0, "PMDEC": 0.0, "PMTOTAL": 0.0, "KEPMAG": 11.1, "TEFF": 5720,
        "LOGG": 4.4, "FEH": -0.04, "RADIUS": 1.05,
    })
    start = 120.53 + float(identity.get("QUARTER", identity.get("CAMPAIGN", 1))) * 90.0
    columns = _photometry_columns(rng, n_cadences, start, days, "SAP_QUALITY",
                                  "BJD - 2454833")
    table = fits.BinTableHDU.from_columns(columns)
    tstop = start + (n_cadences - 1) * days
    table.header.update({
        "INHERIT": True, "EXTNAME": "LIGHTCURVE", "EXTVER": 1, **object_cards,
        "TIMEREF": "SOLARSYSTEM", "TASSIGN": "SPACECRAFT", "TIMESYS": "TDB",
        "BJDREFI": 2454833, "BJDREFF": 0.0, "TIMEUNIT": "d", "TELAPSE": tstop - start,
        "TSTART": start, "TSTOP": tstop, "LC_START": start + 54832.5, "LC_END": tstop + 54832.5,
        "DEADC": 0.92063492, "TIMEPIXR": 0.5, "TIERRELA": 5.78e-7, "INT_TIME": 6.019802903,
        "READTIME": 0.518948526, "FRAMETIM": 6.538751429,
        "NUM_FRM": 270 if cadence == "long" else 9, "TIMEDEL": days, "BACKAPP": True,
        "DEADAPP": True, "VIGNAPP": True, "GAIN": 110.0, "READNOIS": 76.4, "NREADOUT": 270,
        "TIMSLICE": 3, "MEANBLCK": 716, "CDPP3_0": 28.5, "CDPP6_0": 22.1, "CDPP12_0": 17.3,
        "CROWDSAP": 0.998, "FLFRCSAP": 0.905, "PDCVAR": 0.41, "PDCMETHD": "msMAP",
    })
    aperture = fits.ImageHDU(np.array([[0, 1, 1, 0], [1, 3, 3, 1], [1, 3, 3, 1],
                                       [0, 1, 1, 0]], dtype=np.int32))
    aperture.header.update({"INHERIT": True, "EXTNAME": "APERTURE", "EXTVER": 1,
                            **object_cards, "NPIXSAP": 4, "NPIXMISS": 0})
    return write_checksummed(fits.HDUList([primary, table, aperture]), target, when=_WHEN,
                             compression=compression)


def write_kepler_lightcurve(path: PathLike, *, kepler_id: int = 11446443, quarter: int = 1,
                            cadence: str = "long", n_cadences: int = 200, seed: int = 0,
                            compression: str | None = None) -> pathlib.Path:
    """Write a Kepler light curve (``kplr..._llc.fits``, or ``_slc`` for short cadence).

    Parameters
    ----------
    path : path-like
        The file, or a directory to write :func:`kepler_filename` into.
    kepler_id, quarter : int, optional
        ``KEPLERID`` (the KIC number) and ``QUARTER``.
    cadence : {"long", "short"}, optional
        ``OBSMODE`` and ``TIMEDEL`` (29.4 min or 58.85 s).
    n_cadences, seed : int, optional
        Rows and the seed of the synthetic flux.
    compression : {None, "gzip", "bzip2"}, optional
        Compress the whole file.

    Returns
    -------
    pathlib.Path
    """
    target = _target(path, kepler_filename(kepler_id, quarter, cadence), compression)
    identity = {"OBJECT": f"KIC {kepler_id}", "KEPLERID": kepler_id, "SKYGROUP": 24,
                "QUARTER": quarter, "SEASON": (quarter + 1) % 4, "MISSION": "Kepler"}
    return _kepler_file(target, identity, cadence=cadence, n_cadences=n_cadences, seed=seed,
                        compression=compression)


def write_k2_lightcurve(path: PathLike, *, epic_id: int = 211089792, campaign: int = 4,
                        cadence: str = "long", n_cadences: int = 200, seed: int = 0,
                        compression: str | None = None) -> pathlib.Path:
    """Write a K2 light curve (``ktwo211089792-c04_llc.fits``): Kepler's layout, K2's keywords.

    ``MISSION = 'K2'``, ``CAMPAIGN`` instead of ``QUARTER``, and the EPIC id
    as ``KEPLERID``; other parameters as for :func:`write_kepler_lightcurve`.

    Returns
    -------
    pathlib.Path
    """
    target = _target(path, kepler_filename(epic_id, cadence=cadence, campaign=campaign),
                     compression)
    identity = {"OBJECT": f"EPIC {epic_id}", "KEPLERID": epic_id, "CAMPAIGN": campaign,
                "MISSION": "K2"}
    return _kepler_file(target, identity, cadence=cadence, n_cadences=n_cadences, seed=seed,
                        compression=compression)


def _tess_primary(cards: Mapping[str, Any]) -> fits.PrimaryHDU:
    primary = fits.PrimaryHDU()
    primary.header.update({"EXTNAME": "PRIMARY", "EXTVER": 1, "SIMDATA": False,
                           "TELESCOP": "TESS", "INSTRUME": "TESS Photometer", **cards})
    return primary


def _pixel_columns(rng: np.random.Generator, n: int, shape: tuple[int, int], start: float,
                   *, raw: bool = True, extra: Sequence[fits.Column] = ()) -> list[fits.Column]:
    """Return the ``PIXELS`` columns of pixel files and cutouts: one image per cadence."""
    size, dim = shape[0] * shape[1], f"({shape[1]},{shape[0]})"
    flux = (50.0 + rng.normal(0.0, 1.0, (n, *shape))).astype(np.float32)
    images = [("FLUX", flux), ("FLUX_ERR", np.full_like(flux, 1.1)),
              ("FLUX_BKG", np.full_like(flux, 12.0)), ("FLUX_BKG_ERR", np.full_like(flux, 0.3))]
    counts = np.full((n, *shape), -1 if not raw else 4000, dtype=np.int32)
    return [
        _column("TIME", "D", start + np.arange(n) / 720.0, "BJD - 2457000, days", "D14.7"),
        _column("TIMECORR", "E", np.full(n, 1e-3, np.float32), "d", "E14.7"),
        _column("CADENCENO", "J", np.arange(n, dtype=np.int32) if raw else np.zeros(n, np.int32),
                None, "I10"),
        _column("RAW_CNTS", f"{size}J", counts, "count", "I8", dim=dim, null=-1),
        *(_column(name, f"{size}E", values, "e-/s", "E14.7", dim=dim) for name, values in images),
        _column("QUALITY", "J", np.zeros(n, np.int32), None, "B16.16"),
        _column("POS_CORR1", "E", np.zeros(n, np.float32), "pixel", "E14.7"),
        _column("POS_CORR2", "E", np.zeros(n, np.float32), "pixel", "E14.7"),
        *extra,
    ]


def write_tess_target_pixel_file(path: PathLike, *, tic_id: int = 307210830, sector: int = 5,
                                 camera: int = 4, ccd: int = 4, n_cadences: int = 50,
                                 shape: tuple[int, int] = (11, 11), seed: int = 0,
                                 compression: str | None = None) -> pathlib.Path:
    """Write a SPOC target pixel file (``..._tp.fits``): ``PIXELS``, ``APERTURE``, cosmic rays.

    The primary header is a light curve's (``TICID``, ``SECTOR``, ...) with
    ``CREATOR`` naming the ``TargetPixelExporterPipelineModule``.

    Returns
    -------
    pathlib.Path
    """
    target = _target(path, spoc_filename(tic_id, sector, product="tp"), compression)
    rng = np.random.default_rng(seed)
    start = 1437.98 + 27.4 * (sector - 5)
    primary = _tess_primary({
        "NEXTEND": 3, "ORIGIN": "NASA/Ames", "DATE": "2019-02-10",
        "CREATOR": "7561 TargetPixelExporterPipelineModule", "PROCVER": "spoc-3.3.55-20190205",
        "FILEVER": "1.0", "TIMVERSN": "OGIP/93-003", "DATA_REL": 7, "OBJECT": f"TIC {tic_id}",
        "TICID": tic_id, "SECTOR": sector, "CAMERA": camera, "CCD": ccd, "PXTABLE": 136,
        "RADESYS": "ICRS", "RA_OBJ": 124.5319, "DEC_OBJ": -68.313, "EQUINOX": 2000.0,
        "TESSMAG": 9.393, "TICVER": 7})
    pixels = fits.BinTableHDU.from_columns(_pixel_columns(rng, n_cadences, shape, start))
    pixels.header.update({"INHERIT": True, "EXTNAME": "PIXELS", "EXTVER": 1, "TICID": tic_id,
                          "TIMESYS": "TDB", "BJDREFI": 2457000, "BJDREFF": 0.0,
                          "TIMEDEL": 1 / 720.0, "NUM_FRM": 60})
    aperture = fits.ImageHDU(np.full(shape, 65, dtype=np.int32))
    aperture.header.update({"INHERIT": True, "EXTNAME": "APERTURE", "EXTVER": 1,
                            "TICID": tic_id, "NPIXSAP": 0, "NPIXMISS": 0})
    cosmic = fits.BinTableHDU.from_columns([
        _column("TIME", "D", np.array([start + 0.5]), "BJD - 2457000, days"),
        _column("RAWX", "J", np.array([1550], np.int32), "pixel"),
        _column("RAWY", "J", np.array([405], np.int32), "pixel"),
        _column("COSMIC_RAY", "E", np.array([310.0], np.float32), "e-/s")])
    cosmic.header.update({"INHERIT": True, "EXTNAME": "TARGET COSMIC RAY", "EXTVER": 1})
    return write_checksummed(fits.HDUList([primary, pixels, aperture, cosmic]), target,
                             when="2019-02-10T15:15:39Z", compression=compression)


def write_tesscut_cutout(path: PathLike, *, ra: float = 124.5319, dec: float = -68.313,
                         sector: int = 5, camera: int = 4, ccd: int = 4,
                         size: tuple[int, int] = (5, 5), n_cadences: int = 30, seed: int = 0,
                         compression: str | None = None) -> pathlib.Path:
    """Write a TESScut FFI cutout as astrocut makes it (``..._5x5_astrocut.fits``).

    The primary header is the FFI cube's with astrocut's cards: ``CREATOR =
    'astrocut'``, ``FFI_TYPE = 'SPOC'``, the cutout centre as ``RA_OBJ`` /
    ``DEC_OBJ`` and an undefined ``TICID``. ``PIXELS`` holds the cutout
    images (``CADENCENO`` zero, ``RAW_CNTS`` null, plus ``FFI_FILE``) and
    ``APERTURE`` ones where the cutout is on the CCD. astrocut writes both
    ``CHECKSUM`` and ``DATASUM``, and so does this.

    Returns
    -------
    pathlib.Path
    """
    name = (f"tess-s{sector:04d}-{camera}-{ccd}_{ra:f}_{dec:f}_{size[1]}x{size[0]}_"
            f"astrocut.fits")
    target = _target(path, name, compression)
    rng = np.random.default_rng(seed)
    start = 1437.98 + 27.4 * (sector - 5)
    primary = _tess_primary({
        "ORIGIN": "STScI/MAST", "DATE": "2023-05-01", "SECTOR": sector, "CAMERA": camera,
        "CCD": ccd, "CREATOR": "astrocut", "PROCVER": "0.9", "FFI_TYPE": "SPOC",
        "RA_OBJ": ra, "DEC_OBJ": dec, "TIMESYS": "TDB", "BJDREFI": 2457000, "BJDREFF": 0.0,
        "OBJECT": "", "TCID": 0, "TESSMAG": 0.0, "TICVER": 0, "TICID": None})
    ffi_files = np.array([f"tess2018319{i:06d}-s{sector:04d}-{camera}-{ccd}-0125-s_ffic.fits"
                          for i in range(n_cadences)])
    columns = _pixel_columns(rng, n_cadences, size, start, raw=False,
                             extra=[_column("FFI_FILE", "38A", ffi_files, "pixel")])
    pixels = fits.BinTableHDU.from_columns(columns)
    pixels.header.update({"EXTNAME": "PIXELS", "INHERIT": True, "TIMEDEL": 1 / 48.0})
    aperture = fits.ImageHDU(np.ones(size, dtype=np.int32))
    aperture.header.update({"EXTNAME": "APERTURE", "INHERIT": True})
    return write_checksummed(fits.HDUList([primary, pixels, aperture]), target,
                             when="2023-05-01T12:00:00", compression=compression, datasum=True)


def write_tess_ffi(path: PathLike, *, sector: int = 1, camera: int = 1, ccd: int = 1,
                   shape: tuple[int, int] = (64, 64), seed: int = 0,
                   compression: str | None = None) -> pathlib.Path:
    """Write a miniature SPOC calibrated full-frame image (``..._ffic.fits``).

    An empty primary HDU (``SECTOR``, ``CAMERA``, ``CCD``), the calibrated
    image and its uncertainty (real FFIs are 2136 x 2078 pixels; ``shape``
    keeps tests small).

    Returns
    -------
    pathlib.Path
    """
    name = f"tess2018206192942-s{sector:04d}-{camera}-{ccd}-0120-s_ffic.fits"
    target = _target(path, name, compression)
    rng = np.random.default_rng(seed)
    primary = _tess_primary({"ORIGIN": "NASA/Ames", "DATE": "2018-08-10",
                             "CREATOR": "1137 FfiExporterPipelineModule", "SECTOR": sector,
                             "CAMERA": camera, "CCD": ccd})
    image = fits.ImageHDU((100.0 + rng.normal(0.0, 3.0, shape)).astype(np.float32))
    image.header.update({"INHERIT": True, "IMAGTYPE": "cal", "BUNIT": "e-/s"})
    error = fits.ImageHDU(np.full(shape, 3.0, dtype=np.float32))
    error.header.update({"INHERIT": True, "IMAGTYPE": "uncert", "BUNIT": "e-/s"})
    return write_checksummed(fits.HDUList([primary, image, error]), target, when=_WHEN,
                             compression=compression)


def write_qlp_lightcurve(path: PathLike, *, tic_id: int = 261136679, sector: int = 1,
                         camera: int = 1, ccd: int = 1, n_cadences: int = 100, seed: int = 0,
                         compression: str | None = None) -> pathlib.Path:
    """Write a QLP light curve (``hlsp_qlp_tess_ffi_s0001-..._tess_v01_llc.fits``).

    A TESS light curve of the MIT Quick-Look Pipeline: ``ORIGIN = 'MIT/QLP'``,
    a ``LIGHTCURVE`` table of ``SAP_FLUX``, ``KSPSAP_FLUX`` (detrended),
    ``QUALITY``, ``ORBITID`` and centroids, and no ``PDCSAP_FLUX``.

    Returns
    -------
    pathlib.Path
    """
    name = f"hlsp_qlp_tess_ffi_s{sector:04d}-{tic_id:016d}_tess_v01_llc.fits"
    target = _target(path, name, compression)
    rng = np.random.default_rng(seed)
    n = n_cadences
    flux = (1.0 + rng.normal(0.0, 1e-3, n)).astype(np.float32)
    primary = _tess_primary({"ORIGIN": "MIT/QLP", "DATE": "2020-11-12", "OBJECT": f"TIC {tic_id}",
                             "TICID": tic_id, "SECTOR": sector, "CAMERA": camera, "CCD": ccd,
                             "RA_OBJ": 83.2, "DEC_OBJ": -60.1, "TESSMAG": 10.2})
    table = fits.BinTableHDU.from_columns([
        _column("TIME", "D", 1325.3 + np.arange(n) / 48.0, "BTJD"),
        _column("CADENCENO", "J", np.arange(4697, 4697 + n, dtype=np.int32)),
        *(_column(name, "E", flux, "relative flux") for name in (
            "SAP_FLUX", "KSPSAP_FLUX", "KSPSAP_FLUX_SML", "KSPSAP_FLUX_LAG")),
        _column("KSPSAP_FLUX_ERR", "E", np.full(n, 1e-3, np.float32), "relative flux"),
        _column("QUALITY", "J", np.zeros(n, np.int32)),
        _column("ORBITID", "J", np.full(n, 9, np.int32)),
        _column("SAP_X", "E", np.full(n, 1000.5, np.float32), "pixel"),
        _column("SAP_Y", "E", np.full(n, 600.5, np.float32), "pixel"),
        _column("SAP_BKG", "E", np.full(n, 0.01, np.float32), "relative flux"),
        _column("SAP_BKG_ERR", "E", np.full(n, 1e-4, np.float32), "relative flux")])
    table.header.update({"EXTNAME": "LIGHTCURVE", "TIMEDEL": 1 / 48.0, "BJDREFI": 2457000,
                         "BJDREFF": 0.0, "TIMESYS": "TDB"})
    return write_checksummed(fits.HDUList([primary, table]), target, when=_WHEN,
                             compression=compression)
