"""The DESI healpix coadd/spectra writer: the data model's layout, checksums, shared TARGETIDs."""

from __future__ import annotations

import collections
import warnings

import numpy as np
import pytest
from astropy.io import fits

from lightcurvedb.loaders.fitsfile import open_fits
from lightcurvedb.testing.fits.desi import FIRST_DESI_TARGETID, write_desi_fibermap_pair


def test_layout_and_shared_targets(tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, n_targets=30, exposures=4, healpix=27256,
                                    survey="sv3", program="bright", seed=9)
    assert (pair.coadd.name, pair.spectra.name) == ("coadd-sv3-bright-27256.fits",
                                                    "spectra-sv3-bright-27256.fits")
    assert pair.targetids.tolist() == (FIRST_DESI_TARGETID + 13 * np.arange(30)).tolist()
    with fits.open(pair.coadd) as coadd, fits.open(pair.spectra) as spectra:
        assert [h.name for h in coadd] == ["PRIMARY", "FIBERMAP", "EXP_FIBERMAP",
                                           "B_WAVELENGTH", "B_FLUX"]
        assert [h.name for h in spectra] == ["PRIMARY", "FIBERMAP", "B_WAVELENGTH", "B_FLUX"]
        for hdul in (coadd, spectra):
            header = hdul[0].header
            assert (header["HPXNSIDE"], header["HPXPIXEL"], header["HPXNEST"],
                    header["SURVEY"], header["PROGRAM"]) == (64, 27256, True, "sv3", "bright")
        per_target = coadd["FIBERMAP"].data
        per_exposure = spectra["FIBERMAP"].data
        assert per_target["TARGETID"].dtype == np.dtype(">i8")
        assert per_exposure["TARGET_RA"].dtype == np.dtype(">f8")
        assert per_exposure["FIBER"].dtype == np.dtype(">i4")
        assert per_target["TARGETID"].tolist() == pair.targetids.tolist()  # once per target
        ids = per_exposure["TARGETID"].tolist()
        pairs = list(zip(ids, per_exposure["EXPID"].tolist(), strict=True))
        assert len(set(pairs)) == len(pairs) == pair.spectra_rows  # once per exposure
        assert set(ids) == set(pair.targetids.tolist()) and len(ids) > 30
        counts = collections.Counter(ids)
        assert per_target["COADD_NUMEXP"].tolist() == [counts[t] for t in pair.targetids]
        assert {t: sorted(e for tt, e in pairs if tt == t) for t in counts} == pair.exposures_of
        assert all(pair.exposures_of[t][0] == pair.expids[0] for t in counts)  # all in the 1st
        exp = coadd["EXP_FIBERMAP"].data
        assert sorted(zip(exp["TARGETID"].tolist(), exp["EXPID"].tolist(),
                          strict=True)) == sorted(pairs)
        # Fibres are distinct within an exposure; a target keeps its coordinates.
        for expid in pair.expids:
            fibers = per_exposure["FIBER"][per_exposure["EXPID"] == expid]
            assert len(set(fibers.tolist())) == len(fibers)
        ra = dict(zip(per_target["TARGETID"].tolist(), per_target["TARGET_RA"].tolist(),
                      strict=True))
        assert all(ra[t] == r for t, r in zip(ids, per_exposure["TARGET_RA"].tolist(),
                                              strict=True))
        assert spectra["B_FLUX"].data.shape == (len(ids), 16)


def test_checksums_in_every_hdu_verify(tmp_path):
    pair = write_desi_fibermap_pair(tmp_path, n_targets=5, exposures=2)
    for path in (pair.coadd, pair.spectra):
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # astropy warns on a checksum it cannot verify
            with fits.open(path, checksum=True) as hdul:
                assert all("CHECKSUM" in h.header and "DATASUM" in h.header for h in hdul)
                assert hdul[1].header.comments["CHECKSUM"] == \
                    "checksum written by lightcurvedb.testing"  # no time stamp
        with open_fits(path) as (_, content):
            assert content.compression is None


def test_targets_given_and_the_same_bytes_again(tmp_path):
    ids = [7, 3, 11]
    a = write_desi_fibermap_pair(tmp_path / "a", ids, exposures=2, seed=4)
    b = write_desi_fibermap_pair(tmp_path / "b", ids, exposures=2, seed=4)
    assert a.targetids.tolist() == ids
    assert a.coadd.read_bytes() == b.coadd.read_bytes()
    assert a.spectra.read_bytes() == b.spectra.read_bytes()
    with pytest.raises(ValueError, match="must not repeat"):
        write_desi_fibermap_pair(tmp_path, [1, 1])
    with pytest.raises(ValueError, match="at least one target and one exposure"):
        write_desi_fibermap_pair(tmp_path, n_targets=3, exposures=0)
