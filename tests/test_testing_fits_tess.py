"""The SPOC generator writes what real SPOC files hold (TESS SDPDD): checked on its bytes."""

from __future__ import annotations

import bz2
import gzip
import pathlib
import warnings

import numpy as np
import pytest
from astropy.io import fits

from lightcurvedb.loaders import LoaderError
from lightcurvedb.loaders.fitsfile import ones_complement_sum, open_fits
from lightcurvedb.loaders.tess import read_spoc_lightcurve
from lightcurvedb.testing.fits import spoc_filename, write_spoc_lightcurve

TIC = 261136679


def _write(directory: pathlib.Path, **kwargs) -> pathlib.Path:
    directory.mkdir(exist_ok=True)
    arguments = {"tic_id": TIC, "sector": 1, "camera": 1, "ccd": 1, "n_cadences": 200,
                 **kwargs}
    return write_spoc_lightcurve(directory, **arguments)


def _spans(path: pathlib.Path) -> list[tuple[int, int]]:
    with fits.open(path) as hdul:
        return [(h.fileinfo()["hdrLoc"], h.fileinfo()["datLoc"] + h.fileinfo()["datSpan"])
                for h in hdul]


def test_every_hdu_has_checksum_and_no_datasum_as_spoc_writes(tmp_path):
    path = _write(tmp_path)
    raw = path.read_bytes()
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "LIGHTCURVE", "APERTURE"]
        for hdu in hdul:
            assert "DATASUM" not in hdu.header
            assert len(hdu.header["CHECKSUM"]) == 16
            assert hdu.header.comments["CHECKSUM"] == "HDU checksum updated 2018-08-09T15:15:39Z"
    # the standard: each HDU, header and data blocks, sums to negative zero
    assert [ones_complement_sum(raw[a:b]) for a, b in _spans(path)] == [0xFFFFFFFF] * 3
    # astropy's own check takes the missing DATASUM for 0 and refuses the data HDUs
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with fits.open(path, checksum=True):
            pass
    assert sorted(str(w.message).split("HDU ")[1].strip() for w in caught) == [
        "('APERTURE', 1).", "('LIGHTCURVE', 1)."]
    with open_fits(path) as (_, content):
        assert content.compression is None


def test_output_is_byte_deterministic_and_compressed_copies_hold_the_same_bytes(tmp_path):
    plain = _write(tmp_path / "a")
    assert _write(tmp_path / "b").read_bytes() == plain.read_bytes()
    assert _write(tmp_path / "c", seed=3).read_bytes() != plain.read_bytes()
    packed = _write(tmp_path / "a", compression="gzip")
    squeezed = _write(tmp_path / "a", compression="bzip2")
    assert (packed.name, squeezed.name) == (spoc_filename(TIC, 1) + ".gz",
                                            spoc_filename(TIC, 1) + ".bz2")
    assert gzip.decompress(packed.read_bytes()) == plain.read_bytes()
    assert bz2.decompress(squeezed.read_bytes()) == plain.read_bytes()
    assert _write(tmp_path / "b", compression="gzip").read_bytes() == packed.read_bytes()
    with open_fits(packed) as (_, gz), open_fits(plain) as (_, flat):
        assert (gz.compression, gz.sha256) == ("gzip", flat.sha256)
    with pytest.raises(ValueError, match="compression must be"):
        _write(tmp_path / "d", compression="zip")


@pytest.mark.parametrize(("cadence", "deadc", "frames", "readouts"), [
    (120, 0.792, 60, 48), (20, 0.99, 10, 10)])
def test_keywords_and_columns_follow_the_sdpdd(tmp_path, cadence, deadc, frames, readouts):
    path = _write(tmp_path, cadence_seconds=cadence, camera=2, ccd=3)
    with fits.open(path) as hdul:
        primary, table, aperture = (h.header for h in hdul)
        assert primary["NEXTEND"] == 2 and "INHERIT" not in primary
        assert primary["DATE-OBS"].endswith("Z") and primary["DATE-END"].endswith("Z")
        assert primary["CREATOR"].endswith("LightCurveExporterPipelineModule")
        assert table["INHERIT"] is True and aperture["INHERIT"] is True
        assert (table["INT_TIME"], table["READTIME"], table["FRAMETIM"]) == (1.98, 0.02, 2.0)
        assert (table["NUM_FRM"], table["NREADOUT"]) == (frames, readouts)
        assert table["DEADC"] == pytest.approx(deadc)
        assert table["TIMEDEL"] == pytest.approx(cadence / 86400.0, rel=1e-12)
        assert table["TMOFST23"] == pytest.approx(1.06)
        for keyword in ("BACKAPP", "GAINA", "READNOID", "FXDOFF", "MEANBLCC", "NSPSDDET",
                        "PDCMETHD", "FITTYPE3", "PR_GOOD1", "PDC_TOT", "PDC_EPTP", "CDPP2_0"):
            assert keyword in table, keyword
        columns = hdul["LIGHTCURVE"].columns
        assert {c.name: (c.format, c.disp) for c in columns if c.name in (
            "TIME", "TIMECORR", "CADENCENO", "PDCSAP_FLUX", "QUALITY", "MOM_CENTR1",
            "MOM_CENTR1_ERR", "POS_CORR1")} == {
            "TIME": ("D", "D14.7"), "TIMECORR": ("E", "E14.7"), "CADENCENO": ("J", "I10"),
            "PDCSAP_FLUX": ("E", "E14.7"), "QUALITY": ("J", "B16.16"),
            "MOM_CENTR1": ("D", "F10.5"), "MOM_CENTR1_ERR": ("E", "E14.7"),
            "POS_CORR1": ("E", "E14.7")}
        assert columns["QUALITY"].unit is None and columns["POS_CORR1"].unit == "pixels"
        mask = hdul["APERTURE"].data
        assert mask.dtype == np.dtype(">i4")
        assert aperture["NPIXSAP"] == int(((mask & 2) != 0).sum()) == 5
        outputs = mask & (32 | 64 | 128 | 256)
        assert len(np.unique(outputs)) == 1 and bin(int(outputs[0, 0])).count("1") == 1
        assert (aperture["CTYPE1"], aperture["CTYPE1P"]) == ("RA---TAN", "RAWX")
    assert read_spoc_lightcurve(path).cadence_seconds == cadence


def test_a_flipped_aperture_data_byte_is_refused_naming_the_hdu(tmp_path):
    good = _write(tmp_path)
    (_, _), (_, _), (start, end) = _spans(good)
    raw = bytearray(good.read_bytes())
    raw[end - 2880 + 7] ^= 0x04            # inside the APERTURE mask's data block
    bad = tmp_path / "bad_lc.fits"
    bad.write_bytes(bytes(raw))
    with fits.open(bad) as hdul:
        card = hdul["APERTURE"].header["CHECKSUM"]
    with pytest.raises(LoaderError) as raised:
        read_spoc_lightcurve(bad)
    assert str(raised.value) == (
        f"{bad}: checksum mismatch: HDU 2 ('APERTURE'): CHECKSUM = '{card}' does not match "
        "its header and data: the HDU was changed after it was written")
