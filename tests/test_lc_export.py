"""Light curves out: TimeSeries, lightkurve, tables, pandas, Parquet, FITS, plots and views."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from astropy.io import fits
from sqlalchemy import select
from sqlalchemy.orm import Session

import lightcurvedb
from lightcurvedb.bulk import read_arrays
from lightcurvedb.demo import build_demo
from lightcurvedb.lc import MissingExtraError
from lightcurvedb.lc.extras import require
from lightcurvedb.missions.tess import TESSObservation
from lightcurvedb.models import DataSet, QualityFlagArray, TargetSpecificTime


@pytest.fixture
def curves(session: Session):
    build_demo(session)
    session.flush()
    session.expunge_all()
    return lightcurvedb.lightcurves(session, tic=[25155310, 261136679])


def stored_bjd(session: Session, lc) -> np.ndarray:
    return session.scalars(select(TargetSpecificTime).filter_by(
        target_id=lc.target.id, observation_id=lc.observation.id)).one().barycentric_julian_dates


def test_timeseries_in_btjd_with_units_and_metadata(session, curves):
    lc = curves[1]                              # TIC 25155310 sector 1 PDC
    series = lc.to_timeseries()
    assert series.time.format == "btjd" and series.time.scale == "tdb"
    np.testing.assert_allclose(series.time.jd, stored_bjd(session, lc), rtol=0, atol=1e-9)
    assert str(series["flux"].unit) == "electron / s"
    observation = session.get(TESSObservation, lc.observation.id)
    meta = series.meta
    assert (meta["SECTOR"], meta["CAMERA"], meta["CCD"]) == \
        (observation.sector, observation.camera, observation.ccd)
    assert meta["TICID"] == meta["TARGETID"] == 25155310 and meta["OBJECT"] == "TIC 25155310"
    assert meta["MISSION"] == meta["TELESCOP"] == "TESS" and meta["LABEL"] == lc.label
    assert (meta["PHOTSRC"], meta["PROCESS"]) == ("SPOC aperture", "PDC")
    dataset = session.get(DataSet, lc.id)
    assert meta["SOURCES"] == ",".join(str(s.id) for s in dataset.source_datasets)
    assert meta["DATASET"] == lc.id and meta["QUALITY_BITMASK"] > 0


def test_lightkurve_light_curve(session, curves):
    lc = curves[1]
    lk = lc.to_lightkurve("hard")
    assert type(lk).__name__ == "TessLightCurve"
    assert lk.time.format == "btjd" and lk.sector == lc.observation.sector
    assert lk.targetid == 25155310 and lk.label == lc.label and lk.mission == "TESS"
    np.testing.assert_allclose(lk.time.jd, stored_bjd(session, lc), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(lk.flux.mask, lc.quality_mask("hard") | np.isnan(lc.values))
    normalized = lk.normalize()                  # lightkurve ignores the masked cadences
    good = ~lk.flux.mask
    np.testing.assert_allclose(normalized.flux.unmasked.value[good],
                               lc.values[good] / np.median(lc.values[good]), rtol=1e-12)


def test_long_table_pandas_and_parquet(session, curves, tmp_path):
    table = curves.to_table()
    assert len(table) == sum(len(lc) for lc in curves)
    for lc in curves:
        rows = table[table["dataset"] == lc.id]
        np.testing.assert_array_equal(rows["flux"], lc.values)
        np.testing.assert_array_equal(rows["time"], lc.times)
        np.testing.assert_array_equal(rows["quality_mask"], lc.quality_mask())
        assert set(rows["sector"]) == {lc.observation.sector}
        assert rows["processing"].mask.all() == (lc.processing is None)
    assert str(table["flux"].unit) == "electron / s"

    frame = curves.to_pandas()
    stored = read_arrays(session, DataSet, "values")
    medians = frame.groupby("dataset")["flux"].median()     # pandas skips NaN
    for dataset_id, median in medians.items():
        assert median == pytest.approx(np.nanmedian(stored[dataset_id]))
    raw = frame[frame["processing"].isna()]
    assert set(raw["dataset"]) == {lc.id for lc in curves if lc.processing is None}

    path = tmp_path / "curves.parquet"
    curves.to_parquet(path)
    pq = require("pyarrow.parquet", "parquet", "test")
    back = pq.read_table(path)
    assert back.num_rows == len(table)
    np.testing.assert_array_equal(back.column("flux").to_numpy(), np.asarray(table["flux"]))
    assert back.column("processing").null_count == sum(len(lc) for lc in curves
                                                       if lc.processing is None)
    assert back.schema.field("flux").metadata[b"unit"] == b"electron / s"
    info = json.loads(back.schema.metadata[b"lightcurvedb"])
    assert [m["DATASET"] for m in info["light_curves"]] == [lc.id for lc in curves]
    assert {m["TICID"] for m in info["light_curves"]} == {25155310, 261136679}


def test_summary_one_row_per_light_curve(session, curves):
    summary = curves.summary()
    stored = read_arrays(session, DataSet, "values")
    flags = {(q.target_id, q.observation_id): q for q in session.scalars(select(QualityFlagArray))}
    assert list(summary["dataset"]) == [lc.id for lc in curves]
    for row, lc in zip(summary, curves, strict=True):
        values = stored[lc.id]
        flagged = flags[(lc.target.id, lc.observation.id)].hard_mask()
        good = values[~flagged & ~np.isnan(values)]
        assert row["n_nan"] == np.isnan(values).sum() and row["n_flagged"] == flagged.sum()
        assert row["flux_median"] == pytest.approx(np.median(good))
        assert (row["flux_min"], row["flux_max"]) == (good.min(), good.max())


def test_fits_file_read_back_with_astropy_and_lightkurve(session, curves, tmp_path):
    lc = curves[1]
    path = tmp_path / "lc.fits"
    lc.to_fits(path)
    with fits.open(path) as hdul:
        header, data, ext = hdul[0].header, hdul["LIGHTCURVE"].data, hdul["LIGHTCURVE"].header
        observation = session.get(TESSObservation, lc.observation.id)
        assert (header["TICID"], header["SECTOR"], header["CAMERA"], header["CCD"]) == \
            (25155310, observation.sector, observation.camera, observation.ccd)
        assert header["TELESCOP"] == "TESS" and header["PROCESS"] == "PDC"
        assert header["CADENCE_SECONDS"] == 120          # a HIERARCH card
        assert (ext["BJDREFI"], ext["BJDREFF"], ext["TIMESYS"]) == (2457000, 0.0, "TDB")
        np.testing.assert_array_equal(data["TIME"] + ext["BJDREFI"], lc.times + 2457000.0)
        np.testing.assert_array_equal(data["FLUX"], lc.values)
        np.testing.assert_array_equal(data["QUALITY"], lc.quality)
        np.testing.assert_array_equal(data["QUALITY_MASK"], lc.quality_mask())
        np.testing.assert_array_equal(data["CADENCENO"], lc.cadenceno)
    with pytest.raises(OSError):
        lc.to_fits(path)                                     # no silent overwrite
    lc.to_fits(path, overwrite=True)
    generic = require("lightkurve.io.generic", "lightkurve", "test")
    back = generic.read_generic_lightcurve(str(path))
    assert back.time.format == "btjd"
    np.testing.assert_allclose(back.time.jd, stored_bjd(session, lc), rtol=0, atol=1e-9)
    np.testing.assert_array_equal(np.asarray(back.flux.unmasked.value
                                             if hasattr(back.flux, "unmasked") else back.flux),
                                  lc.values)


def test_plot_draws_the_unmasked_cadences(curves):
    require("matplotlib", "plot", "test").use("Agg")
    ax = curves.plot()
    lines = ax.get_lines()
    assert [line.get_label() for line in lines] == [lc.label for lc in curves]
    for line, lc in zip(lines, curves, strict=True):
        x, y = line.get_xdata(), line.get_ydata()
        np.testing.assert_array_equal(x, lc.times)
        np.testing.assert_array_equal(np.ma.getmaskarray(y), lc.bad())
        np.testing.assert_array_equal(np.ma.getdata(y)[~lc.bad()], lc.values[~lc.bad()])
    assert ax.get_xlabel() == "Time (BTJD, TDB) [d]" and "electron / s" in ax.get_ylabel()
    single = curves[0].plot(normalize=False)
    assert len(single.get_lines()) == 1
    normalized = curves.plot(normalize=True).get_lines()[0].get_ydata()
    assert np.ma.median(normalized) == pytest.approx(1.0)
    require("matplotlib.pyplot", "plot", "test").close("all")


@pytest.mark.parametrize(("module", "call", "extra"), [
    ("pandas", lambda c, p: c.to_pandas(), "pandas"),
    ("pyarrow", lambda c, p: c.to_parquet(p / "x.parquet"), "parquet"),
    ("lightkurve", lambda c, p: c[0].to_lightkurve(), "lightkurve"),
    ("matplotlib", lambda c, p: c.plot(), "plot"),
])
def test_a_missing_extra_is_one_line_naming_it(curves, tmp_path, monkeypatch, module, call, extra):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)       # `import module` now fails
    with pytest.raises(MissingExtraError) as caught:
        call(curves, tmp_path)
    message = str(caught.value)
    assert "\n" not in message and f"pip install '.[{extra}]'" in message
    assert message.startswith(("to_pandas()", "to_parquet()", "to_lightkurve()", "plot()"))


def test_repr_is_one_line_and_html_summarizes_arrays(curves):
    lc = curves[1]
    assert repr(lc) == f"LightCurve({lc.label}, n=1000, unit='electron / s', dataset={lc.id})"
    assert repr(curves) == "LightCurveCollection(8 light curves of 2 targets in 2 observations)"
    page = lc._repr_html_()
    assert len(page) < 5000                                   # no array dump
    cells = re.findall(r"<tr><td>values</td>((?:<td>[^<]*</td>){5})</tr>", page)
    length, n_nan, low, median, high = re.findall(r"<td>([^<]*)</td>", cells[0])
    finite = lc.values[~np.isnan(lc.values)]
    assert (int(length), int(n_nan)) == (len(lc.values), np.isnan(lc.values).sum())
    assert float(median) == pytest.approx(np.median(finite), rel=1e-6)
    assert (float(low), float(high)) == (pytest.approx(finite.min(), rel=1e-6),
                                         pytest.approx(finite.max(), rel=1e-6))
    collection_page = curves._repr_html_()
    assert collection_page.count("<tr><td>") == len(curves)
    text = str(curves)
    assert text.splitlines()[0] == repr(curves) and len(text.splitlines()) == len(curves) + 3
