"""``lcdb targets list|search|cone`` on SQLite and PostgreSQL (in process; twice as a subprocess).

Positions are the ``RA_OBJ``/``DEC_OBJ``/``PMRA``/``PMDEC``/``TESSMAG`` cards
of generated SPOC files, read back with astropy; distances are worked out
with the haversine formula.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from sqlalchemy.engine import URL

import lightcurvedb
from cli_support import lcdb
from conftest import BACKENDS, create_test_database
from lightcurvedb import migrations
from lightcurvedb.cli import main
from lightcurvedb.loaders.tess import load_paths
from lightcurvedb.models import TargetAlias
from lightcurvedb.testing.fits import write_spoc_lightcurve
from sky_support import haversine_deg

#: TIC id -> (RA, Dec) written into the generated files: two 20 arcsec apart, one 3 deg away.
STARS = {100000001: (150.0, -30.0), 100000002: (150.0 + 20 / 3600 / math.cos(math.radians(30)),
                                                -30.0), 100000003: (153.0, -31.0)}
GAIA = ("Gaia DR3", "5000000000000000001")


@dataclass(frozen=True)
class Loaded:
    url: str
    headers: dict[int, fits.Header]


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    files = tmp_path_factory.mktemp("spoc")
    paths = [write_spoc_lightcurve(files, tic_id=tic, sector=5, camera=1, ccd=2, n_cadences=50,
                                   ra=ra, dec=dec, tessmag=9.0 + i, pm_ra=-12.5 * (i + 1),
                                   pm_dec=None if i == 2 else 30.25)
             for i, (tic, (ra, dec)) in enumerate(STARS.items())]
    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(tmp_path_factory.mktemp("db") / "t.sqlite3"))
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_test_database(server, "cli_targets")
        request.addfinalizer(lambda: server.drop_database("cli_targets"))
    migrations.upgrade(url)
    assert load_paths(url, paths, progress=False).ok
    with lightcurvedb.session(url) as session:
        star = lightcurvedb.find_target(session, "TIC 100000001")
        session.add(TargetAlias(target=star, catalog=GAIA[0], name=GAIA[1]))
        session.commit()
    headers = {tic: fits.getheader(path) for tic, path in zip(STARS, paths, strict=True)}
    return Loaded(url.render_as_string(hide_password=False), headers)


def run(capsys: pytest.CaptureFixture[str], database: Loaded, *argv: str) -> str:
    """``lcdb --url URL targets ARGV`` in this process: its standard output."""
    assert main(["--url", database.url, "targets", *argv]) == 0
    out, err = capsys.readouterr()
    assert err == ""
    return out


def test_list_prints_each_target_with_the_header_position(capsys, database):
    table = Table.read((run(capsys, database, "list", "--format", "csv")),
                       format="ascii.csv")
    assert list(table["name"]) == sorted(STARS)
    for row in table:
        header = database.headers[int(row["name"])]
        assert (row["catalog"], row["ra"], row["dec"], row["magnitude"]) == \
            ("TIC", header["RA_OBJ"], header["DEC_OBJ"], pytest.approx(header["TESSMAG"]))
        assert row["magnitude_band"] == "TESS"
    text = run(capsys, database, "list", "--limit", "2")
    assert text.splitlines()[-1] == "(2 of 3 targets: --limit N for more)"
    assert len(text.splitlines()) == 3 + 2 + 1        # header, units, rule; rows; note


def test_search_by_number_or_alias_shows_position_motion_aliases(capsys, database):
    header = database.headers[100000001]
    for name in (["TIC", "100000001"], ["tic100000001"], ["100000001"], list(GAIA)):
        lines = run(capsys, database, "search", *name).splitlines()
        assert lines[0] == "TIC 100000001", name
        assert lines[1].startswith(f"  position: RA {header['RA_OBJ']:.6f} Dec "
                                   f"{header['DEC_OBJ']:+.6f} deg ICRS (10:00:00.00 "
                                   "-30:00:00.00), epoch J2000")
        assert f"  proper motion: {header['PMRA']:g} {header['PMDEC']:+g} mas/yr" in lines[2]
        assert f"  magnitude: {header['TESSMAG']:.3f} (TESS)" in lines
        assert f"  alias: {GAIA[0]} {GAIA[1]}" in lines
        assert lines[-1] == "  light curves: 2"          # SAP and PDCSAP


def test_a_star_without_proper_motion_shows_none(capsys, database):
    lines = run(capsys, database, "search", "TIC 100000003").splitlines()
    assert database.headers[100000003]["PMDEC"] is None        # a blank card, as SPOC writes
    assert not any(line.startswith("  proper motion") for line in lines)
    assert lines[1].startswith("  position: RA 153.000000 Dec -31.000000 deg ICRS")


def test_lc_show_takes_an_alias(env, database):
    result = lcdb(env, "--url", database.url, "lc", "show", *GAIA)    # a real subprocess
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("TIC 100000001: 2 light curves")   # SAP and PDCSAP


def test_cone_around_a_position_or_a_target(capsys, database):
    ra, dec = STARS[100000001]
    for center in ("10:00:00 -30:00:00", f"{ra} {dec}", "TIC 100000001"):
        table = Table.read((run(capsys, database, "cone", center, "1arcmin",
                                           "--format", "ecsv")), format="ascii.ecsv")
        assert list(table["name"]) == [100000001, 100000002], center
        assert table["distance"].unit == "deg"
        assert np.allclose(table["distance"], [0.0, 20 / 3600], rtol=0, atol=1e-9)
    wide = Table.read((run(capsys, database, "cone", "TIC 100000002", "5deg",
                                      "--format", "csv")), format="ascii.csv")
    centre = STARS[100000002]
    want = sorted((float(haversine_deg(*centre, *STARS[tic])), tic) for tic in STARS)
    assert list(wide["name"]) == [tic for _, tic in want]
    assert list(wide["distance"]) == pytest.approx([d for d, _ in want], abs=1e-9)
    assert run(capsys, database, "cone", "0 0", "1deg") == "no targets within 1deg of 0 0\n"
    limited = run(capsys, database, "cone", "TIC 100000001", "5deg", "--limit", "1")
    assert len(limited.splitlines()) == 4


@pytest.mark.parametrize(("argv", "message"), [
    (("search", "TIC", "42"), "no target named 'TIC 42' (looked for catalog numbers, "
                              "designations and aliases)"),
    (("cone", "somewhere", "1deg"), "CENTER 'somewhere' is neither a sky position nor a "
                                    "target's name"),
    (("cone", "0 0", "2 parsecs"), "radius '2 parsecs' is not an angle"),
    (("cone", "0 0", "181deg"), "radius '181deg': expected an angle in (0, 180] deg"),
    (("list", "--catalog", "Gaia"), "no catalog 'Gaia' in the database (catalogs: TIC)"),
])
def test_bad_requests_are_one_line(capsys, database, argv, message):
    assert main(["--url", database.url, "targets", *argv]) == 1
    out, err = capsys.readouterr()
    assert err.startswith(f"lcdb: error: {message}"), err
    assert len(err.splitlines()) == 1 and out == ""


def test_an_unmigrated_database_says_so(env, tmp_path):
    url = f"sqlite:///{Path(tmp_path) / 'none.sqlite3'}"
    result = lcdb(env, "--url", url, "targets", "list")
    assert result.returncode == 1 and len(result.stderr.splitlines()) == 1
    assert "lcdb db upgrade" in result.stderr
