"""The FastSpecFit-like catalog writer used by the catalog loader's tests and benchmarks."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table

from lightcurvedb.testing.fits.catalog import (
    FASTSPEC_COLUMNS,
    FIRST_TARGETID,
    write_fastspec_catalog,
)


def test_layout_units_and_nulls(tmp_path):
    path = write_fastspec_catalog(tmp_path / "fs.fits", 1_000, chunk_rows=300,
                                  nulls={"HEALPIX": [0, 999], "SURVEY": 3})
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "FASTSPEC", "METADATA"]
        assert hdul[0].header["SPECPROD"] == "iron"
        fastspec, metadata = hdul["FASTSPEC"], hdul["METADATA"]
        assert fastspec.header["NAXIS2"] == metadata.header["NAXIS2"] == 1_000
        assert [c.name for c in fastspec.columns] == [c.name for c in FASTSPEC_COLUMNS]
        assert fastspec.columns["TARGETID"].format == "K"
        assert fastspec.columns["LOGMSTAR"].unit == "solMass"
        assert fastspec.columns["HEALPIX"].null == -1
        data = fastspec.data
        np.testing.assert_array_equal(data["TARGETID"],
                                      FIRST_TARGETID + 7 * np.arange(1_000))
        np.testing.assert_array_equal(metadata.data["TARGETID"], data["TARGETID"])
        np.testing.assert_array_equal(metadata.data["Z"], data["Z"])  # row-aligned
        assert np.flatnonzero(data["HEALPIX"] == -1).tolist() == [0, 999]
        assert np.count_nonzero(np.char.strip(data["SURVEY"]) == "") == 3
        assert data["RA"].min() >= 0.2 and data["RA"].max() <= 359.8
        assert data["DEC"].min() >= -30.5 and data["DEC"].max() <= 89.2
        assert data["Z"].min() >= 0.001 and data["Z"].max() <= 0.45
    # The units parse as FITS units: reading the table raises no UnitsWarning.
    table = Table.read(path, hdu="FASTSPEC")
    assert str(table["SFR"].unit) == "solMass / yr"


def test_null_fraction_duplicates_and_overrides(tmp_path):
    path = write_fastspec_catalog(tmp_path / "f.fits", 5_000, null_fraction=0.1,
                                  duplicate_keys=3, overrides={"Z": {4_000: 0.75}},
                                  metadata=False)
    with fits.open(path) as hdul:
        data = hdul["FASTSPEC"].data
        nulls = int(np.isnan(data["LOGMSTAR"]).sum())
        assert 400 < nulls < 600  # binomial(5000, 0.1): mean 500, sd 21
        assert not np.isnan(data["RA"]).any() and not np.isnan(data["Z"]).any()
        keys = data["TARGETID"]
        assert keys[-3:].tolist() == keys[[2, 1, 0]].tolist()
        assert len(np.unique(keys)) == 4_997
        assert data["Z"][4_000] == 0.75


def test_streams_a_large_file_in_chunks(tmp_path):
    path = write_fastspec_catalog(tmp_path / "big.fits", 250_000, chunk_rows=65_536,
                                  metadata=False)
    with fits.open(path, memmap=True) as hdul:
        hdu = hdul["FASTSPEC"]
        assert len(hdu.data) == 250_000
        assert hdu.data["TARGETID"][-1] == FIRST_TARGETID + 7 * 249_999
    assert path.stat().st_size % 2880 == 0


def test_refuses_impossible_requests(tmp_path):
    with pytest.raises(ValueError, match="TNULL"):
        write_fastspec_catalog(tmp_path / "x.fits", 10, nulls={"TARGETID": 1})
    with pytest.raises(ValueError, match="no column"):
        write_fastspec_catalog(tmp_path / "x.fits", 10, nulls={"MASS": 1})
    with pytest.raises(ValueError, match="duplicate_keys"):
        write_fastspec_catalog(tmp_path / "x.fits", 10, duplicate_keys=6)
