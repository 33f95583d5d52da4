"""DSA-110 master sources: catalog loading (FITS, CSV), derived flags, cone search."""

from __future__ import annotations

import csv
import math

import numpy as np
import pytest
import sqlalchemy as sa
from astropy.coordinates import SkyCoord
from astropy.table import Table

from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.radio import Source
from lightcurvedb.radio.catalog import cone_search, load_master_sources, spectral_index

ALPHA_DENOMINATOR = math.log(3.0 / 1.4)


def make_catalog(n_random=300, seed=110):
    """Random sources plus hand-placed ones: across RA 0/360, at the pole, close pairs."""
    rng = np.random.default_rng(seed)
    ra = list(rng.uniform(0, 360, n_random))
    dec = list(np.degrees(np.arcsin(rng.uniform(-0.5, 1.0, n_random))))
    special = [(359.996, 10.0), (0.004, 10.0),        # 28" apart across RA = 0
               (0.0, 89.99), (180.0, 89.995),         # 54" apart across the pole
               (120.0, -20.0), (120.0, -20.0 + 40 / 3600),  # 40": confused
               (200.0, 5.0), (200.0, 5.0 + 50 / 3600)]      # 50": not confused
    ra += [p[0] for p in special]
    dec += [p[1] for p in special]
    n = len(ra)
    s_nvss = rng.uniform(0.005, 2.0, n)
    s_vlass = rng.uniform(0.002, 1.0, n)
    s_vlass[::4] = np.nan
    maj = rng.uniform(0.5, 12.0, n)
    maj[::3] = np.nan
    return {"source_id": [f"NVSS TEST{i:05d}" for i in range(n)], "ra": np.array(ra),
            "dec": np.array(dec), "s_nvss": s_nvss, "snr_nvss": s_nvss / 0.00045,
            "s_vlass": s_vlass, "first_maj": maj, "first_min": maj / 2,
            "first_pa": rng.uniform(0, 180, n)}


def write_fits(path, cat):
    Table({"SOURCE_ID": cat["source_id"], "RA": cat["ra"], "DEC": cat["dec"],
           "S_NVSS": cat["s_nvss"], "SNR_NVSS": cat["snr_nvss"], "S_VLASS": cat["s_vlass"],
           "FIRST_MAJ": cat["first_maj"], "FIRST_MIN": cat["first_min"],
           "FIRST_PA": cat["first_pa"]}).write(path, format="fits")
    return path


def write_csv(path, cat, *, ids=None):
    """CSV with other accepted names, fluxes in mJy and empty cells for missing values."""
    def cell(value):
        return "" if np.isnan(value) else repr(float(value))

    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["nvss_name", "ra_deg", "dec_deg", "s_nvss_mjy", "snr_nvss",
                         "s_vlass_mjy", "first_size_maj_arcsec", "first_size_min_arcsec",
                         "first_size_pa_deg", "comment"])
        for i in (range(len(cat["source_id"])) if ids is None else ids):
            writer.writerow([cat["source_id"][i], cell(cat["ra"][i]), cell(cat["dec"][i]),
                             cell(cat["s_nvss"][i] * 1000), cell(cat["snr_nvss"][i]),
                             cell(cat["s_vlass"][i] * 1000), cell(cat["first_maj"][i]),
                             cell(cat["first_min"][i]), cell(cat["first_pa"][i]), "ignored"])
    return path


def confused_by_brute_force(ra, dec, radius_arcsec=45.0):
    coords = SkyCoord(ra, dec, unit="deg")
    sep = coords[:, None].separation(coords[None, :]).arcsec
    np.fill_diagonal(sep, np.inf)
    return (sep <= radius_arcsec).any(axis=1)


def stored(session):
    return {s.source_id: s for s in session.scalars(sa.select(Source))}


def check_catalog(rows, cat, rel=1e-12):
    confused = confused_by_brute_force(cat["ra"], cat["dec"])
    assert len(rows) == len(cat["source_id"])
    for i, source_id in enumerate(cat["source_id"]):
        row = rows[source_id]
        assert (row.ra_deg, row.dec_deg) == (cat["ra"][i], cat["dec"][i])
        assert row.s_nvss == pytest.approx(cat["s_nvss"][i], rel=rel)
        if np.isnan(cat["s_vlass"][i]):
            assert row.s_vlass is None and row.alpha is None
        else:
            expected = math.log(cat["s_vlass"][i] / cat["s_nvss"][i]) / ALPHA_DENOMINATOR
            assert row.alpha == pytest.approx(expected, rel=1e-9)
        maj = cat["first_maj"][i]
        assert row.resolved_flag is bool(not np.isnan(maj) and maj > 5.4)
        assert row.first_size_maj_arcsec == (None if np.isnan(maj) else maj)
        assert row.confusion_flag is bool(confused[i]), source_id


def test_load_fits(session, tmp_path):
    cat = make_catalog()
    assert load_master_sources(session, write_fits(tmp_path / "master.fits", cat)) == 308
    rows = stored(session)
    check_catalog(rows, cat)
    n = len(cat["ra"])
    assert rows[f"NVSS TEST{n - 8:05d}"].confusion_flag  # across RA = 0
    assert not rows[f"NVSS TEST{n - 6:05d}"].confusion_flag  # 54" across the pole
    assert rows[f"NVSS TEST{n - 4:05d}"].confusion_flag
    assert not rows[f"NVSS TEST{n - 2:05d}"].confusion_flag


def test_load_csv_and_reload(session, tmp_path):
    cat = make_catalog()
    first = [i for i in range(len(cat["ra"])) if i != len(cat["ra"]) - 3]  # one 40" pair member
    assert load_master_sources(session, write_csv(tmp_path / "a.csv", cat, ids=first)) == 307
    rows = stored(session)
    assert not rows[f"NVSS TEST{len(cat['ra']) - 4:05d}"].confusion_flag  # alone so far

    cat["s_nvss"][0] *= 2
    assert load_master_sources(session, write_csv(tmp_path / "b.csv", cat), chunk_size=50) == 308
    rows = stored(session)
    check_catalog(rows, cat, rel=1e-9)  # mJy -> Jy
    assert rows[f"NVSS TEST{len(cat['ra']) - 4:05d}"].confusion_flag  # its neighbour arrived


def test_spectral_index():
    alpha = spectral_index([1.0, 1.0, 0.0, 1.0], [1.0, 3.0 / 1.4, 1.0, np.nan])
    np.testing.assert_allclose(alpha[:2], [0.0, 1.0])
    assert np.isnan(alpha[2:]).all()


BAD_FILES = {
    "no_dec": ("source_id,ra\nNVSS A,1.0\n", "no 'dec_deg' column"),
    "dec_off_sky": ("source_id,ra,dec\nNVSS A,1.0,2.0\nNVSS B,1.0,91.0\n", r"Dec .*row 2"),
    "missing_ra": ("source_id,ra,dec\nNVSS A,,2.0\n", r"RA missing .*row 1"),
    "repeated_id": ("source_id,ra,dec\nNVSS A,1,2\nNVSS A,3,4\n", "repeated"),
    "negative_flux": ("source_id,ra,dec,s_nvss\nNVSS A,1,2,-0.1\n", "s_nvss not a positive"),
    "not_a_number": ("source_id,ra,dec,snr_nvss\nNVSS A,1,2,high\n", "'high' is not a number"),
    "ambiguous": ("source_id,ra,ra_deg,dec\nNVSS A,1,1,2\n", "all mean 'ra_deg'"),
    "ragged": ("source_id,ra,dec\nNVSS A,1\n", "line 2: 2 fields"),
}


@pytest.mark.parametrize("kind", sorted(BAD_FILES))
def test_bad_files_write_nothing(session, tmp_path, kind):
    text, message = BAD_FILES[kind]
    load_master_sources(session, write_csv(tmp_path / "good.csv", make_catalog(5)))
    before = {k: (v.s_nvss, v.confusion_flag) for k, v in stored(session).items()}
    path = tmp_path / "bad.csv"
    path.write_text(text.replace("NVSS A", "NVSS TEST00000"))
    with pytest.raises(LoaderError, match=message):
        load_master_sources(session, path)
    session.expire_all()
    assert {k: (v.s_nvss, v.confusion_flag) for k, v in stored(session).items()} == before


def test_unknown_format(session, tmp_path):
    path = tmp_path / "master.votable"
    path.write_text("")
    with pytest.raises(LoaderError, match="unknown format"):
        load_master_sources(session, path)


CONES = [(0.0, 10.0, 0.05), (359.999, 10.0, 0.02), (0.001, 10.0, 3.0), (90.0, 89.95, 0.2),
         (123.0, -20.0, 8.0), (45.0, 30.0, 1e-4), (10.0, -89.0, 40.0), (300.0, 0.0, 180.0)]


@pytest.mark.parametrize(("ra", "dec", "radius"), CONES)
def test_cone_search_matches_brute_force(session, tmp_path, ra, dec, radius):
    cat = make_catalog()
    load_master_sources(session, write_fits(tmp_path / "master.fits", cat))
    sep = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(cat["ra"], cat["dec"], unit="deg"))
    inside = np.flatnonzero(sep.deg <= radius)
    expected = [cat["source_id"][i] for i in inside[np.argsort(sep.deg[inside])]]
    found = cone_search(session, ra, dec, radius)
    assert [s.source_id for s in found] == expected
    assert all(isinstance(s, Source) for s in found)
    if (ra, dec) == (0.0, 10.0):  # both sides of RA = 0
        assert {s.ra_deg < 1 for s in found} == {True, False}


def test_cone_search_rejects_bad_input(session):
    for args in ((0.0, 91.0, 1.0), (float("nan"), 0.0, 1.0), (0.0, 0.0, 0.0), (0.0, 0.0, 181)):
        with pytest.raises(ValueError):
            cone_search(session, *args)
    assert cone_search(session, 370.0, 0.0, 1.0) == []


@pytest.mark.needs_extensions
@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)  # q3c is PostgreSQL's
def test_q3c_index_backs_the_postgresql_cone_search(session, tmp_path):
    load_master_sources(session, write_fits(tmp_path / "master.fits", make_catalog()))
    session.execute(sa.text("SET LOCAL enable_seqscan = off"))
    plan = "\n".join(session.scalars(sa.text(
        "EXPLAIN SELECT source_id FROM radio.sources "
        "WHERE q3c_radial_query(ra_deg, dec_deg, 120.0, -20.0, 0.1)")))
    assert "sources_q3c_idx" in plan
    assert [s.source_id for s in cone_search(session, 120.0, -20.0, 0.1)] == [
        "NVSS TEST00304", "NVSS TEST00305"]


def test_cli_load_and_cone(tmp_path, capsys):
    import argparse

    from lightcurvedb.radio.cli_analysis import add_radio_analysis_commands

    parser = argparse.ArgumentParser()
    parser.add_argument("--url")
    add_radio_analysis_commands(parser.add_subparsers(required=True))
    url = f"sqlite:///{tmp_path / 'radio.sqlite3'}"
    path = write_fits(tmp_path / "master.fits", make_catalog())
    for argv in (["sources", "load", str(path)], ["sources", "cone", "120", "-20", "0.1"]):
        args = parser.parse_args(["--url", url, *argv])
        assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "308 master sources loaded" in out
    assert "NVSS TEST00304\t120.000000\t-20.000000\t0.00" in out
    assert "2 sources within 0.1 deg" in out


@pytest.mark.needs_extensions
@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_migration_0006_installs_and_removes_q3c(empty_database_url):
    from lightcurvedb import connect, migrations

    def state(engine):
        with engine.connect() as connection:
            return (connection.exec_driver_sql(
                        "SELECT count(*) FROM pg_extension WHERE extname = 'q3c'").scalar(),
                    connection.exec_driver_sql(
                        "SELECT count(*) FROM pg_indexes WHERE schemaname = 'radio' "
                        "AND indexname = 'sources_q3c_idx'").scalar())

    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        assert state(engine) == (1, 1)
        migrations.downgrade(engine, "0005")
        assert state(engine) == (0, 0)  # 0006 created the extension, so it drops it
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE EXTENSION q3c")
        migrations.upgrade(engine)
        migrations.downgrade(engine, "0005")
        assert state(engine) == (1, 0)  # installed before: left alone
    finally:
        engine.dispose()
