"""Targets on the sky, on SQLite and PostgreSQL: positions, aliases, find_target, cone_search.

Expected positions are worked out by hand from the sexagesimal strings, and
distances from the spherical law of cosines, independently of the library's
Vincenty formula.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import sqlalchemy as sa
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.time import Time

import lightcurvedb
from lightcurvedb.missions.tess import ensure_tess_mission
from lightcurvedb.models import MissionCatalog, Target, TargetAlias
from lightcurvedb.sky import CONE_COLUMNS, list_targets, parse_center, parse_radius
from sky_support import haversine_deg


@pytest.fixture
def sky(session):
    """TIC targets around pi Men's position, one without a position, one NVSS source."""
    _, tic = ensure_tess_mission(session)
    nvss = MissionCatalog(name="NVSS", host_mission=tic.host_mission)
    stars = {
        261136679: (84.29125, -80.469166, 5.105),
        261136680: (84.40, -80.40, None),          # 4.6 arcmin away, no magnitude
        261136681: (84.29125, -79.969166, 9.0),    # 0.5 deg north
        261136682: (264.29125, -89.9, 12.0),       # across the pole: 9.43 deg away
    }
    targets = {n: Target(catalog=tic, name=n, ra=ra, dec=dec, magnitude=mag,
                         magnitude_band=None if mag is None else "TESS")
               for n, (ra, dec, mag) in stars.items()}
    targets[1] = Target(catalog=tic, name=1)      # no position
    targets[261136679].aliases = [TargetAlias(catalog="Gaia DR3", name="4623036143454223744"),
                                  TargetAlias(catalog="2MASS", name="J05370988-8028091")]
    radio = Target(catalog=nvss, name=123456420312, designation="NVSS J053709-802809",
                   ra=84.2875, dec=-80.4692)
    session.add_all([*targets.values(), radio])
    session.flush()
    return targets, radio


def test_find_target_by_number_prefix_designation_and_alias(session, sky):
    targets, radio = sky
    star = targets[261136679]
    for name in (261136679, np.int64(261136679), "261136679", "TIC 261136679", "tic261136679",
                 "TIC:261136679", "  TIC 261136679 ", "Gaia DR3 4623036143454223744",
                 "gaia dr3 4623036143454223744", "2MASS J05370988-8028091",
                 "J05370988-8028091"):
        assert lightcurvedb.find_target(session, name) is star, name
    assert lightcurvedb.find_target(session, "NVSS J053709-802809") is radio
    assert lightcurvedb.find_target(session, "nvss j053709-802809") is radio
    assert lightcurvedb.find_target(session, "123456420312", catalog="nvss") is radio
    assert [a.catalog for a in star.aliases] == ["Gaia DR3", "2MASS"]


def test_find_target_failures_are_one_line(session, sky):
    targets, _ = sky
    session.add(Target(catalog=targets[1].catalog, name=123456420312))  # the NVSS number in TIC
    session.flush()
    cases = {
        ("TIC 42", None): "no target named 'TIC 42' (looked for catalog numbers, designations "
                          "and aliases)",
        ("99999999999999999999999", None): "no target named '99999999999999999999999'",
        ("1", "Gaia"): "no catalog 'Gaia' in the database (catalogs: NVSS, TIC)",
        ("123456420312", None): "'123456420312' names 2 targets (",
        ("", None): "no target named ''",
    }
    for (name, catalog), message in cases.items():
        with pytest.raises(LookupError) as error:
            lightcurvedb.find_target(session, name, catalog=catalog)
        assert str(error.value).startswith(message), str(error.value)
        assert "\n" not in str(error.value)
    assert lightcurvedb.find_target(session, "TIC 123456420312").catalog.name == "TIC"


def test_parse_center_and_radius():
    # 5h37m09.9s = 84.29125 deg; -80d28m09s = -80.469166... deg
    ra, dec = 84.29125, -(80 + 28 / 60 + 9 / 3600)
    for text in ("05:37:09.9 -80:28:09", "5h37m09.9s -80d28m09s", "05 37 09.9 -80 28 09",
                 f"{ra} {dec}", f"{ra},{dec}"):
        got = parse_center(text)
        assert got == pytest.approx((ra, dec), abs=1e-9), text
    assert parse_center((ra * u.deg, dec * u.deg)) == pytest.approx((ra, dec))
    assert parse_center((ra - 360.0, dec)) == pytest.approx((ra, dec))
    galactic = SkyCoord(ra=ra * u.deg, dec=dec * u.deg).galactic
    assert parse_center(galactic) == pytest.approx((ra, dec), abs=1e-9)
    assert parse_radius("2 arcmin") == pytest.approx(2 / 60)
    assert parse_radius("30arcsec") == pytest.approx(30 / 3600)
    assert parse_radius(1.5) == 1.5
    assert parse_radius(0.25 * u.deg) == 0.25
    for bad, message in ((("nowhere"), "'nowhere' is not a sky position"),
                         ((10.0, 95.0), "(10.0, 95.0) is not a sky position"),
                         ((math.nan, 0.0), "(nan, 0.0) is not a sky position")):
        with pytest.raises(ValueError) as error:
            parse_center(bad)
        assert str(error.value).startswith(message) and "\n" not in str(error.value)
    for bad, message in (("5 kg", "radius '5 kg' is not an angle"),
                         (0, "radius 0: expected an angle in (0, 180] deg"),
                         (-1.0, "radius -1.0: expected"), ("200 deg", "radius '200 deg': "),
                         ("far", "radius 'far' is not an angle")):
        with pytest.raises(ValueError) as error:
            parse_radius(bad)
        assert str(error.value).startswith(message), str(error.value)


def test_cone_search_returns_the_nearest_first_with_units(session, sky):
    targets, radio = sky
    table = lightcurvedb.cone_search(session, "05:37:09.9 -80:28:09", "10 deg")
    assert tuple(table.colnames) == CONE_COLUMNS
    assert (table["ra"].unit, table["dec"].unit, table["distance"].unit,
            table["magnitude"].unit) == (u.deg, u.deg, u.deg, u.mag)
    centre = (84.29125, -(80 + 28 / 60 + 9 / 3600))
    expected = sorted((float(haversine_deg(*centre, t.ra, t.dec)), t.id)
                      for t in [*targets.values(), radio] if t.ra is not None)
    assert list(table["target_id"]) == [target_id for _, target_id in expected]
    assert np.allclose(table["distance"], [d for d, _ in expected], rtol=0, atol=1e-9)
    # across the pole: (90 - 80.469167) + (90 - 89.9) deg
    assert expected[-1][0] == pytest.approx(9.630833, abs=1e-6)
    row = table[list(table["name"]).index(261136680)]
    assert row["magnitude"] is np.ma.masked and row["magnitude_band"] is np.ma.masked
    assert list(table[table["catalog"] == "NVSS"]["designation"]) == ["NVSS J053709-802809"]
    assert table.meta["radius"] == 10.0


def test_cone_search_limit_catalog_and_target_centre(session, sky):
    targets, _ = sky
    star = targets[261136679]
    near = lightcurvedb.cone_search(session, star, "6 arcmin", catalog="tic")
    assert list(near["name"]) == [261136679, 261136680]
    assert near["distance"][0] == 0.0
    two = lightcurvedb.cone_search(session, star.coord, 1.0, limit=2)
    assert len(two) == 2 and list(two["distance"]) == sorted(two["distance"])
    empty = lightcurvedb.cone_search(session, (0.0, 0.0), "1 arcsec")
    assert len(empty) == 0 and tuple(empty.colnames) == CONE_COLUMNS
    with pytest.raises(LookupError, match="no catalog 'Gaia'"):
        lightcurvedb.cone_search(session, star, 1.0, catalog="Gaia")
    with pytest.raises(ValueError, match="TIC 1 has no sky position"):
        lightcurvedb.cone_search(session, targets[1], 1.0)


def test_list_targets_masks_what_is_unknown(session, sky):
    table = list_targets(session, catalog="TIC")
    assert table.meta["total"] == 5 and "distance" not in table.colnames
    assert list(table["name"]) == [1, 261136679, 261136680, 261136681, 261136682]
    assert table["ra"].mask[0] and not table["ra"].mask[1:].any()
    assert len(list_targets(session, limit=2)) == 2


def test_coord_carries_proper_motion_and_epoch(session, sky):
    targets, _ = sky
    star = targets[261136679]
    star.pm_ra, star.pm_dec, star.epoch = 275.0, 188.0, 2000.0
    coord = star.coord
    assert coord.pm_ra_cosdec.to_value(u.mas / u.yr) == pytest.approx(275.0)
    assert coord.pm_dec.to_value(u.mas / u.yr) == pytest.approx(188.0)
    assert coord.obstime == Time(2000.0, format="jyear", scale="tdb")
    assert targets[1].coord is None
    assert targets[261136680].coord.data.differentials == {}   # no proper motion stored


@pytest.mark.parametrize(("column", "value"), [("ra", 360.0), ("ra", -0.1), ("dec", 90.5),
                                               ("dec", -91.0)])
def test_positions_off_the_sky_are_refused_by_the_database(session, sky, column, value):
    targets, _ = sky
    with pytest.raises(sa.exc.IntegrityError, match=f"ck_target_{column}_range|CHECK"):
        with session.begin_nested():
            session.execute(sa.update(Target).where(Target.id == targets[1].id)
                            .values(ra=0.0, dec=0.0).values({column: value}))


def test_an_alias_names_one_target_and_goes_with_it(session, sky):
    targets, _ = sky
    with pytest.raises(sa.exc.IntegrityError):
        with session.begin_nested():
            session.add(TargetAlias(target=targets[1], catalog="Gaia DR3",
                                    name="4623036143454223744"))
    star_id = targets[261136679].id
    session.expunge_all()
    session.execute(sa.delete(Target).where(Target.id == star_id))   # ON DELETE CASCADE
    left = session.scalar(sa.select(sa.func.count()).select_from(TargetAlias)
                          .where(TargetAlias.target_id == star_id))
    assert left == 0


def test_catalog_position_columns():
    from lightcurvedb.loaders.catalog_targets import DESI_POSITIONS, position_columns

    assert position_columns(None) == {}
    assert position_columns("DESI") == DESI_POSITIONS
    assert set(DESI_POSITIONS) == {"TARGET_RA", "TARGET_DEC", "REF_EPOCH", "PMRA", "PMDEC"}
    assert position_columns("RA=ra, DEC=dec") == {"RA": "ra", "DEC": "dec"}
    for bad, message in (("RA", "positions 'RA': expected 'desi' or COLUMN=attribute"),
                         ("RA=ra,GMAG=mag", "positions: unknown target attribute(s) mag"),
                         ("RA=ra", "positions: ra and dec go together")):
        with pytest.raises(ValueError) as error:
            position_columns(bad)
        assert str(error.value).startswith(message)


def test_tess_loads_fill_a_missing_position_and_keep_a_stored_one(session, tmp_path):
    from astropy.io import fits

    from lightcurvedb.loaders.tess import load_lightcurves
    from lightcurvedb.testing.fits import write_spoc_lightcurve

    _, tic = ensure_tess_mission(session)
    bare = Target(catalog=tic, name=700000001)                      # known, no position
    placed = Target(catalog=tic, name=700000002, ra=10.0, dec=20.0)  # known, placed
    session.add_all([bare, placed])
    session.flush()
    paths = [write_spoc_lightcurve(tmp_path, tic_id=n, sector=7, camera=1, ccd=1, n_cadences=40,
                                   ra=ra, dec=dec, tessmag=11.5, pm_ra=3.0, pm_dec=-4.0)
             for n, ra, dec in ((700000001, 200.5, -45.25), (700000002, 30.0, 40.0),
                                (700000003, 1.5, 2.5))]
    report = load_lightcurves(session, paths, progress=False)
    assert len(report.loaded) == 3, report.failures
    session.expire_all()
    got = {t.name: (t.ra, t.dec, t.pm_ra, t.pm_dec, t.magnitude)
           for t in session.scalars(sa.select(Target).where(Target.name >= 700000001))}
    headers = {n: fits.getheader(p) for n, p in zip((700000001, 700000002, 700000003), paths,
                                                   strict=True)}
    for n in (700000001, 700000003):                   # filled from the header
        h = headers[n]
        assert got[n] == (h["RA_OBJ"], h["DEC_OBJ"], h["PMRA"], h["PMDEC"], h["TESSMAG"])
    assert got[700000002][:2] == (10.0, 20.0)          # the stored position is kept
    assert got[700000002][4] == headers[700000002]["TESSMAG"]   # the missing magnitude filled
