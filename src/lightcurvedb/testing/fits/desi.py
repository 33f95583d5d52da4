r"""DESI healpix spectra and coadd files, reduced to what a target loader reads.

The layout follows the DESI data model of
``healpix/SURVEY/PROGRAM/PIXGROUP/PIXNUM/``:

* ``spectra-SURVEY-PROGRAM-PIXNUM.fits`` -- one spectrum per exposure of each
  target: its ``FIBERMAP`` (HDU 1) has one row per target *per exposure*, so a
  TARGETID repeats, once per ``EXPID``, with the fibre, night, tile and MJD of
  that exposure;
* ``coadd-SURVEY-PROGRAM-PIXNUM.fits`` -- the exposures of a target coadded:
  its ``FIBERMAP`` (HDU 1) has one row per target (``COADD_NUMEXP`` and
  friends in place of the per-exposure columns) and its ``EXP_FIBERMAP``
  (HDU 2) the per-exposure rows again.

Both have the empty primary HDU with ``HPXNSIDE``/``HPXPIXEL``/``HPXNEST``, the
``FIBERMAP`` columns that identify and place a target (``TARGETID`` int64,
``TARGET_RA``/``TARGET_DEC`` float64, ``FIBER`` int32, ...; a subset of DESI's
~80), a small ``B_WAVELENGTH``/``B_FLUX`` pair of images, and ``CHECKSUM`` and
``DATASUM`` in every HDU, as DESI writes them. The coordinates are spread
around one point rather than computed from the pixel (no HEALPix library is
needed).

The two files of one healpix share every TARGETID; two pairs share those
passed to both (targets of overlapping tiles)::

    from lightcurvedb.testing.fits.desi import write_desi_fibermap_pair

    pair = write_desi_fibermap_pair(tmp_path, n_targets=20, exposures=3)
    pair.coadd, pair.spectra, pair.targetids
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from astropy.io import fits

__all__ = ["DesiFibermapPair", "FIRST_DESI_TARGETID", "write_desi_fibermap_pair"]

#: First TARGETID of the generated targets (DR9 Legacy Survey TARGETIDs are ~3.96e16).
FIRST_DESI_TARGETID = 39_633_123_000_000_000
#: Wavelengths of the reduced ``B_WAVELENGTH`` image (DESI's b camera spans 3600-5930 A).
_N_WAVE = 16


@dataclass(frozen=True)
class DesiFibermapPair:
    """The files :func:`write_desi_fibermap_pair` wrote.

    Attributes
    ----------
    coadd : pathlib.Path
        ``coadd-SURVEY-PROGRAM-PIXNUM.fits``: one ``FIBERMAP`` row per target.
    spectra : pathlib.Path
        ``spectra-SURVEY-PROGRAM-PIXNUM.fits``: one ``FIBERMAP`` row per target
        per exposure.
    targetids : numpy.ndarray of int64
        The targets, in the coadd's row order.
    expids : numpy.ndarray of int32
        The exposures, in the spectra file's order.
    exposures_of : dict of int to list of int
        TARGETID -> the EXPIDs it was observed in.
    """

    coadd: pathlib.Path
    spectra: pathlib.Path
    targetids: npt.NDArray[np.int64]
    expids: npt.NDArray[np.int32]
    exposures_of: dict[int, list[int]]

    @property
    def spectra_rows(self) -> int:
        """Rows of the spectra file's ``FIBERMAP`` (target-exposure pairs)."""
        return sum(len(e) for e in self.exposures_of.values())


def _primary(healpix: int, survey: str, program: str, specprod: str) -> fits.PrimaryHDU:
    primary = fits.PrimaryHDU()
    header = primary.header
    header["HPXNSIDE"] = (64, "HEALPix nside")
    header["HPXPIXEL"] = (healpix, "HEALPix pixel (nested)")
    header["HPXNEST"] = (True, "HEALPix nested ordering")
    header["SPECPROD"] = (specprod, "Spectroscopic production name")
    header["SURVEY"] = survey
    header["PROGRAM"] = program
    return primary


def _table(name: str, columns: Sequence[tuple[str, str, npt.ArrayLike]],
           unit: dict[str, str]) -> fits.BinTableHDU:
    return fits.BinTableHDU.from_columns(
        [fits.Column(name=col, format=fmt, array=values, unit=unit.get(col))
         for col, fmt, values in columns], name=name)


def _images(n_spectra: int, rng: np.random.Generator) -> list[fits.ImageHDU]:
    wave = fits.ImageHDU(np.linspace(3600.0, 5930.0, _N_WAVE), name="B_WAVELENGTH")
    wave.header["BUNIT"] = "Angstrom"
    flux = fits.ImageHDU(rng.normal(1.0, 0.3, (n_spectra, _N_WAVE)).astype(np.float32),
                         name="B_FLUX")
    flux.header["BUNIT"] = "10**-17 erg/(s cm2 Angstrom)"
    return [wave, flux]


def _write(hdus: Sequence[fits.hdu.base.ExtensionHDU | fits.PrimaryHDU],
           path: pathlib.Path) -> None:
    """Write ``hdus`` with CHECKSUM and DATASUM in each, commented without a time stamp.

    (astropy's ``checksum=True`` comments the cards with the time, so two
    writes a second apart would differ.)
    """
    hdul = fits.HDUList(list(hdus))
    for hdu in hdul:
        hdu.add_checksum(when="checksum written by lightcurvedb.testing")
    hdul.writeto(path, overwrite=True)


def write_desi_fibermap_pair(directory: str | os.PathLike[str],
                             targetids: Sequence[int] | None = None, *, n_targets: int = 20,
                             exposures: int = 3, survey: str = "main", program: str = "dark",
                             healpix: int = 9557, specprod: str = "iron",
                             first_expid: int = 120_000, seed: int = 0) -> DesiFibermapPair:
    """Write the coadd and spectra files of one healpix, which share their TARGETIDs.

    Parameters
    ----------
    directory : path-like
        Where to write the two files (created if absent; files overwritten).
    targetids : sequence of int, optional
        The targets. Default: ``n_targets`` TARGETIDs from
        :data:`FIRST_DESI_TARGETID`, 13 apart.
    n_targets : int, optional
        How many targets when ``targetids`` is not given.
    exposures : int, optional
        Exposures of the healpix (each on its own tile and night). Every target
        is in the first; each later one holds a random two thirds of them.
    survey, program : str, optional
        The ``SURVEY`` and ``PROGRAM`` of the file names and headers.
    healpix : int, optional
        ``HPXPIXEL`` (nside 64, nested) and the file names' ``PIXNUM``.
    specprod : str, optional
        ``SPECPROD`` of the primary headers.
    first_expid : int, optional
        ``EXPID`` of the first exposure; the others follow, 1 apart.
    seed : int, optional
        Seed of the random values; the same arguments give the same bytes.

    Returns
    -------
    DesiFibermapPair

    Raises
    ------
    ValueError
        For no targets or exposures, or a TARGETID given twice.
    """
    ids = (FIRST_DESI_TARGETID + 13 * np.arange(n_targets, dtype=np.int64)
           if targetids is None else np.asarray(targetids, dtype=np.int64))
    if len(ids) == 0 or exposures < 1:
        raise ValueError("a healpix file needs at least one target and one exposure")
    if len(np.unique(ids)) != len(ids):
        raise ValueError("targetids must not repeat: each is one target")
    rng = np.random.default_rng(seed)
    n = len(ids)
    ra = 150.1 + rng.uniform(-0.4, 0.4, n)
    dec = 2.2 + rng.uniform(-0.4, 0.4, n)
    flux = rng.lognormal(0.5, 0.8, (3, n)).astype(np.float32)
    desi_target = np.where(rng.random(n) < 0.6, 2 ** 1, 2 ** 0).astype(np.int64)  # ELG / LRG
    expids = (first_expid + np.arange(exposures)).astype(np.int32)
    nights = (20220101 + 3 * np.arange(exposures)).astype(np.int32)
    tiles = (1000 + 7 * np.arange(exposures)).astype(np.int32)
    mjds = 59580.2 + 3.0 * np.arange(exposures)
    seen = np.ones((exposures, n), dtype=bool)
    seen[1:] = rng.random((exposures - 1, n)) < 2 / 3
    # Spectra rows: exposure by exposure, each on distinct fibres of its tile.
    rows_e, rows_t = np.nonzero(seen)
    fibers = np.concatenate([rng.choice(5000, int(seen[e].sum()), replace=False)
                             for e in range(exposures)]).astype(np.int32)
    device = rng.integers(0, 524, len(fibers)).astype(np.int32)
    petal = (fibers // 500).astype(np.int16)
    per_exposure = [
        ("TARGETID", "K", ids[rows_t]),
        ("PETAL_LOC", "I", petal),
        ("DEVICE_LOC", "J", device),
        ("LOCATION", "K", petal.astype(np.int64) * 1000 + device),
        ("FIBER", "J", fibers),
        ("FIBERSTATUS", "J", np.zeros(len(fibers), dtype=np.int32)),
        ("TARGET_RA", "D", ra[rows_t]),
        ("TARGET_DEC", "D", dec[rows_t]),
        ("OBJTYPE", "3A", np.full(len(fibers), "TGT")),
        ("FLUX_G", "E", flux[0][rows_t]),
        ("FLUX_R", "E", flux[1][rows_t]),
        ("FLUX_Z", "E", flux[2][rows_t]),
        ("DESI_TARGET", "K", desi_target[rows_t]),
        ("NIGHT", "J", nights[rows_e]),
        ("EXPID", "J", expids[rows_e]),
        ("MJD", "D", mjds[rows_e]),
        ("TILEID", "J", tiles[rows_e]),
    ]
    units = {"TARGET_RA": "deg", "TARGET_DEC": "deg", "FLUX_G": "nanomaggy",
             "FLUX_R": "nanomaggy", "FLUX_Z": "nanomaggy", "MJD": "d"}
    out = pathlib.Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    stem = f"{survey}-{program}-{healpix}.fits"
    primary = _primary(healpix, survey, program, specprod)
    spectra = out / f"spectra-{stem}"
    _write([primary, _table("FIBERMAP", per_exposure, units), *_images(len(fibers), rng)],
           spectra)
    coadd_columns = [
        ("TARGETID", "K", ids),
        ("COADD_FIBERSTATUS", "J", np.zeros(n, dtype=np.int32)),
        ("TARGET_RA", "D", ra),
        ("TARGET_DEC", "D", dec),
        ("OBJTYPE", "3A", np.full(n, "TGT")),
        ("FLUX_G", "E", flux[0]),
        ("FLUX_R", "E", flux[1]),
        ("FLUX_Z", "E", flux[2]),
        ("DESI_TARGET", "K", desi_target),
        ("COADD_NUMEXP", "I", seen.sum(axis=0).astype(np.int16)),
        ("COADD_EXPTIME", "E", (900.0 * seen.sum(axis=0)).astype(np.float32)),
        ("COADD_NUMNIGHT", "I", seen.sum(axis=0).astype(np.int16)),
        ("COADD_NUMTILE", "I", seen.sum(axis=0).astype(np.int16)),
    ]
    exp_columns = [(name, fmt, values) for name, fmt, values in per_exposure
                   if name in ("TARGETID", "NIGHT", "EXPID", "MJD", "TILEID", "PETAL_LOC",
                               "DEVICE_LOC", "LOCATION", "FIBER", "FIBERSTATUS")]
    coadd = out / f"coadd-{stem}"
    _write([_primary(healpix, survey, program, specprod),
            _table("FIBERMAP", coadd_columns, units), _table("EXP_FIBERMAP", exp_columns, units),
            *_images(n, rng)], coadd)
    exposures_of = {int(t): [int(expids[e]) for e in range(exposures) if seen[e, i]]
                    for i, t in enumerate(ids)}
    return DesiFibermapPair(coadd, spectra, ids, expids, exposures_of)
