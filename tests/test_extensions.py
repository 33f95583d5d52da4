"""Optional extensions: a PostgreSQL owner without PostGIS or q3c gets every schema, the same
answers as a superuser's database with both (and as SQLite, and as plain Python geometry),
and moves to PostGIS/q3c once a superuser installs them."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import URL

import lightcurvedb
from lightcurvedb import connect, extensions, migrations
from lightcurvedb.cli import main
from lightcurvedb.core import pgpolygon
from lightcurvedb.core.engine import session as open_session
from lightcurvedb.core.extensions import availability, create_if_allowed
from lightcurvedb.core.geometry import SkyPolygon
from lightcurvedb.missions import jwst, tess
from lightcurvedb.models import Target
from lightcurvedb.radio.catalog import cone_search, load_master_sources
from lightcurvedb.rbh1 import (
    WCSSolution,
    count_invalid_footprints,
    footprints_containing,
    overlapping_footprints,
)
from sky_support import haversine_deg
from test_radio_sources import make_catalog, write_fits
from test_rbh1_queries import ARCSEC, COS_DEC, DEC0, RA0, _cube

EFFECTS = ("PostGIS not permitted for role lcdb_owner: footprints stored as text with bounding "
           "boxes; q3c not permitted for role lcdb_owner: cone searches by declination band "
           "and exact distance")
CONES = [(120.0, -20.0, 0.1), (0.001, 10.0, 3.0), (359.999, 10.0, 0.5), (10.0, -89.0, 40.0),
         (300.0, 0.0, 30.0), (45.0, 30.0, 0.0001), (RA0, DEC0, 5.0)]
#: Target positions: patches across RA = 0, at the north pole, and a wide band.
TARGET_PATCHES = ((0.0, 10.0, 4.0), (150.0, 88.5, 3.0), (84.3, -80.5, 1.0), (200.0, 0.0, 40.0))
N_TARGETS = 600


def _target_positions(seed: int = 14) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    ra, dec = [], []
    for i in range(N_TARGETS):
        ra0, dec0, half = TARGET_PATCHES[i % len(TARGET_PATCHES)]
        d = float(np.clip(dec0 + rng.uniform(-half, half), -90, 90))
        ra.append(float((ra0 + rng.uniform(-half, half) / max(math.cos(math.radians(d)), 0.05))
                        % 360.0))
        dec.append(d)
    return np.array(ra), np.array(dec)


def _add_targets(session) -> None:
    _, catalog = tess.ensure_tess_mission(session)
    ra, dec = _target_positions()
    session.add_all(Target(catalog=catalog, name=1000 + i, ra=float(a), dec=float(d))
                    for i, (a, d) in enumerate(zip(ra, dec, strict=True)))
    session.add(Target(catalog=catalog, name=999))  # no position: never in a cone


def _footprints(n: int = 24, seed: int = 11) -> list[SkyPolygon]:
    """Triangles, convex and concave quadrilaterals of 4-25" within 1' of the host."""
    rng = np.random.default_rng(seed)
    shapes = []
    for i in range(n):
        ra = RA0 + rng.uniform(-60, 60) * ARCSEC / COS_DEC
        dec = DEC0 + rng.uniform(-60, 60) * ARCSEC
        size = rng.uniform(4, 25) * ARCSEC
        k = 3 if i % 3 == 0 else 4
        angles = np.sort(rng.uniform(0, 2 * math.pi, k))
        radii = size * (rng.uniform(0.3, 1.0, k) if i % 3 == 2 else np.ones(k))  # concave
        shapes.append(SkyPolygon(tuple(
            (float(ra + r * math.cos(a) / COS_DEC), float(dec + r * math.sin(a)))
            for r, a in zip(radii, angles, strict=True))))
    return [s for s in shapes if s.is_valid()]


def _points(n: int = 400, seed: int = 12) -> list[tuple[float, float]]:
    rng = np.random.default_rng(seed)
    return [(float(RA0 + rng.uniform(-60, 60) * ARCSEC / COS_DEC),
             float(DEC0 + rng.uniform(-60, 60) * ARCSEC)) for _ in range(n)]


def _populate(url: URL | str, tmp_path) -> None:
    engine = connect(url)
    try:
        migrations.upgrade(engine)
        with open_session(engine) as session:
            ifu = jwst.create_jwst_instruments(session)
            for i, footprint in enumerate(_footprints()):
                _cube(session, ifu, i, footprint)
            path = tmp_path / "master.fits"
            load_master_sources(session,
                                path if path.exists() else write_fits(path, make_catalog()))
            _add_targets(session)
    finally:
        engine.dispose()


def _answers(engine: sa.Engine) -> dict[str, object]:
    """Every footprint and cone query, as plain values (footprints by insertion order)."""
    with open_session(engine) as session:
        solutions = session.scalars(sa.select(WCSSolution).order_by(WCSSolution.wcs_id)).all()
        index = {w.wcs_id: i for i, w in enumerate(solutions)}

        def ids(found: list[WCSSolution]) -> list[int]:
            return [index[w.wcs_id] for w in found]

        probes = _footprints(8, seed=13)
        return {
            "footprints": [w.footprint for w in solutions],
            "containing": [ids(footprints_containing(session, ra, dec)) for ra, dec in _points()],
            "overlapping": [ids(overlapping_footprints(session, w.wcs_id)) for w in solutions],
            "overlapping polygons": [ids(overlapping_footprints(session, p)) for p in probes],
            "invalid": count_invalid_footprints(session),
            "cones": [[s.source_id for s in cone_search(session, *cone)] for cone in CONES],
            "target cones": [[int(n) for n in lightcurvedb.cone_search(
                session, (ra, dec), radius)["name"]] for ra, dec, radius in CONES
                + [(a, d, h) for a, d, h in TARGET_PATCHES]],
        }


def _python_answers(catalog: dict[str, np.ndarray]) -> dict[str, object]:
    """The same queries answered by SkyPolygon and a brute-force haversine (cones as sets)."""
    shapes = _footprints()
    cones = []
    for ra, dec, radius in CONES:
        sep = haversine_deg(ra, dec, catalog["ra"], catalog["dec"])
        cones.append(sorted(str(catalog["source_id"][i]) for i in np.flatnonzero(sep <= radius)))
    target_ra, target_dec = _target_positions()
    target_cones = []
    for ra, dec, radius in CONES + list(TARGET_PATCHES):
        sep = haversine_deg(ra, dec, target_ra, target_dec)
        target_cones.append(sorted(1000 + int(i) for i in np.flatnonzero(sep <= radius)))
    return {
        "containing": [[i for i, s in enumerate(shapes) if s.contains(ra, dec)]
                       for ra, dec in _points()],
        "overlapping": [[j for j, t in enumerate(shapes) if j != i and s.intersects(t)]
                        for i, s in enumerate(shapes)],
        "overlapping polygons": [[i for i, s in enumerate(shapes) if s.intersects(p)]
                                 for p in _footprints(8, seed=13)],
        "invalid": 0,
        "cones": cones,
        "target cones": target_cones,
    }


def _superuser_database(server, name: str) -> URL:
    server.create_database(name)
    return server.url(name)


def _column_type(url: URL, table: str = "rbh1.wcs_solutions") -> str:
    engine = connect(url)
    try:
        with engine.connect() as connection:
            return str(connection.exec_driver_sql(
                "SELECT format_type(atttypid, atttypmod) FROM pg_attribute "
                f"WHERE attrelid = '{table}'::regclass AND attname = 'footprint'").scalar())
    finally:
        engine.dispose()


def _lcdb(capsys, url: URL, *argv: str) -> list[str]:
    assert main(["--url", url.render_as_string(hide_password=False), *argv]) == 0
    return capsys.readouterr().out.splitlines()


def test_an_owner_without_extensions_gets_every_schema(owner_database_url, capsys):
    lines = _lcdb(capsys, owner_database_url, "db", "upgrade")
    assert lines[-1] == f"extensions: none ({EFFECTS})"
    engine = connect(owner_database_url)
    try:
        tables = {(schema, table) for schema in ("public", "rbh1", "radio")
                  for table in sa.inspect(engine).get_table_names(schema=schema)}
        with engine.connect() as connection:
            installed = connection.exec_driver_sql(
                "SELECT extname FROM pg_extension ORDER BY extname").scalars().all()
            functions = set(connection.exec_driver_sql(
                "SELECT proname FROM pg_proc WHERE pronamespace = 'rbh1'::regnamespace"
            ).scalars())
            q3c_index = connection.exec_driver_sql(
                "SELECT to_regclass('radio.sources_q3c_idx')").scalar()
    finally:
        engine.dispose()
    declared = {(t.schema or "public", t.name)
                for t in migrations.target_metadata().tables.values()}
    assert {("public", "tess_observation"), ("rbh1", "wcs_solutions"),
            ("radio", "sources")} <= declared <= tables  # core, missions, RBH-1, radio
    assert installed == ["plpgsql"] and q3c_index is None
    assert {"lcdb_polygon_contains", "lcdb_polygons_intersect", "lcdb_polygon_is_valid",
            "get_spaxel_lines"} <= functions
    assert _column_type(owner_database_url) == "text"
    assert _column_type(owner_database_url, "rbh1.regions_of_interest") == "text"
    assert tuple(_lcdb(capsys, owner_database_url, "db", "current")[:-1]) == migrations.heads()


def test_same_answers_with_and_without_extensions(postgres_server, owner_database_url,
                                                  tmp_path):
    full = _superuser_database(postgres_server, "with_extensions")
    urls = {"sqlite": URL.create("sqlite", database=str(tmp_path / "same.sqlite3")),
            "superuser": full, "owner": owner_database_url}
    answers = {}
    try:
        for name, url in urls.items():
            _populate(url, tmp_path)
            engine = connect(url)
            try:
                answers[name] = _answers(engine)
            finally:
                engine.dispose()
        assert _column_type(full) == "geometry(Polygon,4326)"
        assert _column_type(owner_database_url) == "text"
    finally:
        postgres_server.drop_database("with_extensions")
    expected = _python_answers(make_catalog())
    assert sum(map(len, expected["containing"])) > 20  # the points do hit footprints
    assert sum(map(len, expected["overlapping"])) > 4
    assert all(expected["target cones"][len(CONES):])  # every patch's cone finds targets
    for name, got in answers.items():
        cones = ("cones", "target cones")
        assert {k: v for k, v in got.items() if k not in ("footprints", *cones)} == \
            {k: v for k, v in expected.items() if k not in cones}, name
        for key in cones:
            assert [sorted(cone) for cone in got[key]] == expected[key], (name, key)
            assert got[key] == answers["sqlite"][key], (name, key)  # nearest first, everywhere
    shapes = _footprints()
    for name in ("sqlite", "owner"):  # WKT text keeps every bit
        assert answers[name]["footprints"] == shapes
    for got, want in zip(answers["superuser"]["footprints"], shapes, strict=True):
        assert np.allclose(got.vertices, want.vertices, rtol=0, atol=1e-12)


def test_installing_extensions_later_moves_the_data(postgres_server, owner_database_url,
                                                    tmp_path, capsys):
    _populate(owner_database_url, tmp_path)
    engine = connect(owner_database_url)  # kept open across the change, then disposed
    try:
        before = _answers(engine)
        database = owner_database_url.database
        versions = dict(postgres_server.run_sql(
            "SELECT name, default_version FROM pg_available_extensions "
            "WHERE name IN ('postgis', 'q3c')"))

        postgres_server.run_sql("CREATE EXTENSION postgis", database=database)
        lines = _lcdb(capsys, owner_database_url, "db", "upgrade")
        assert lines[1] == (f"footprints converted to PostGIS {versions['postgis']} "
                            f"({len(before['footprints'])} in rbh1.wcs_solutions, "
                            "0 in rbh1.regions_of_interest)")
        assert lines[-1] == (f"extensions: postgis {versions['postgis']} (q3c not permitted "
                             "for role lcdb_owner: cone searches by declination band and "
                             "exact distance)")
        assert _column_type(owner_database_url) == "geometry(Polygon,4326)"

        postgres_server.run_sql("CREATE EXTENSION q3c", database=database)
        assert _lcdb(capsys, owner_database_url, "db", "enable-extensions") == [
            f"q3c {versions['q3c']} index sources_q3c_idx built on radio.sources (308 rows)",
            f"q3c {versions['q3c']} index target_q3c_idx built on target ({N_TARGETS + 1} rows)",
            f"extensions: postgis {versions['postgis']}, q3c {versions['q3c']}"]
        assert _lcdb(capsys, owner_database_url, "db", "enable-extensions") == [
            "nothing to enable", f"extensions: postgis {versions['postgis']}, q3c "
            f"{versions['q3c']}"]
        assert _lcdb(capsys, owner_database_url, "db", "current")[-1] == \
            f"extensions: postgis {versions['postgis']}, q3c {versions['q3c']}"

        engine.dispose()  # its pooled connections predate the change
        after = _answers(engine)
        with engine.connect() as connection:
            functions = connection.exec_driver_sql(
                "SELECT count(*) FROM pg_proc WHERE proname LIKE 'lcdb_polygon%%'").scalar()
            connection.exec_driver_sql("SET enable_seqscan = off")
            plan = "\n".join(connection.exec_driver_sql(
                "EXPLAIN SELECT source_id FROM radio.sources "
                "WHERE q3c_radial_query(ra_deg, dec_deg, 120.0, -20.0, 0.1)").scalars())
            target_plan = "\n".join(connection.exec_driver_sql(
                "EXPLAIN SELECT id FROM target "
                "WHERE q3c_radial_query(ra, dec, 84.3, -80.5, 0.1)").scalars())
    finally:
        engine.dispose()
    assert functions == 0 and "sources_q3c_idx" in plan and "target_q3c_idx" in target_plan
    assert {k: v for k, v in after.items() if k != "footprints"} == \
        {k: v for k, v in before.items() if k != "footprints"}
    for got, want in zip(after["footprints"], before["footprints"], strict=True):
        assert np.allclose(got.vertices, want.vertices, rtol=0, atol=1e-12)


def test_what_needs_an_extension_fails_naming_it(owner_database_url, capsys):
    migrations.upgrade(owner_database_url)
    with pytest.raises(extensions.ExtensionUnavailable) as failed:
        extensions.require(owner_database_url, "postgis", "the seed's ST_IsValid query")
    assert str(failed.value) == (
        "the seed's ST_IsValid query needs the PostGIS extension, which this database does not "
        "use: PostGIS is not a trusted extension and role lcdb_owner is not a superuser: a "
        f"superuser can run CREATE EXTENSION postgis in database {owner_database_url.database}")
    url = owner_database_url.render_as_string(hide_password=False)
    assert main(["--url", url, "radio", "sources", "cone", "120", "-20", "0.1"]) == 0
    capsys.readouterr()
    # A PostGIS function through lcdb: one line naming the extension, no traceback.
    from lightcurvedb.cli import error_message

    engine = connect(owner_database_url)
    try:
        with engine.connect() as connection, pytest.raises(sa.exc.ProgrammingError) as error:
            connection.exec_driver_sql(
                "SELECT count(*) FROM rbh1.wcs_solutions WHERE NOT ST_IsValid(footprint)")
    finally:
        engine.dispose()
    assert error_message(error.value) == (
        "st_isvalid() is a PostGIS function and this database does not use PostGIS "
        "(see 'lcdb db current')")


def test_polygon_functions_repeat_the_python_tests(owner_database_url):
    migrations.upgrade(owner_database_url)
    shapes = _footprints(40, seed=21)
    bow_tie = SkyPolygon(((0.0, 0.0), (1.0, 1.0), (1.0, 0.0), (0.0, 1.0)))
    spike = SkyPolygon(((0.0, 0.0), (2.0, 0.0), (1.0, 1e-9), (2.0, 1.0), (0.0, 1.0)))
    engine = connect(owner_database_url)
    try:
        with engine.connect() as connection:
            def scalar(sql: str, *args: object) -> object:
                names = ", ".join(f"%(a{i})s" for i in range(len(args)))
                return connection.exec_driver_sql(
                    f"SELECT rbh1.{sql}({names})", {f"a{i}": a for i, a in enumerate(args)}
                ).scalar()

            for shape in [*shapes, bow_tie, spike]:
                assert scalar("lcdb_polygon_is_valid", shape.to_wkt()) is shape.is_valid()
            assert [shape.is_valid() for shape in (bow_tie, spike)] == [False, True]
            for shape in shapes:
                for ra, dec in _points(40, seed=22):
                    assert scalar("lcdb_polygon_contains", shape.to_wkt(), ra, dec) \
                        is shape.contains(ra, dec)
                for other in shapes[:12]:
                    assert scalar("lcdb_polygons_intersect", shape.to_wkt(), other.to_wkt()) \
                        is shape.intersects(other)
    finally:
        engine.dispose()


def test_detection_names_each_case(postgres_server, owner_database_url):
    full = _superuser_database(postgres_server, "detection")
    engines = [connect(full), connect(owner_database_url)]
    try:
        with engines[0].connect() as connection, connection.begin():
            assert availability(connection, "postgis").creatable  # superuser, not yet installed
            missing = availability(connection, "no_such_extension")
            # A refusal the catalog does not predict: rolled back to its SAVEPOINT, reported.
            refused = create_if_allowed(connection, "postgis_raster", "test")
            assert connection.exec_driver_sql("SELECT 1").scalar() == 1
        migrations.upgrade(engines[0])
        assert extensions.status(engines[0]).describe().startswith("extensions: postgis ")
        with engines[1].connect() as connection:
            owner = availability(connection, "q3c")
    finally:
        for engine in engines:
            engine.dispose()
        postgres_server.drop_database("detection")
    assert (missing.available, missing.creatable, missing.short_reason) == (
        None, False, "no_such_extension not available")
    assert missing.reason == "no_such_extension is not installed on the server"
    assert (refused.installed, refused.reason) == (
        None, 'CREATE EXTENSION postgis_raster failed: required extension "postgis" is not '
              "installed")
    assert (owner.available is not None, owner.creatable) == (True, False)
    assert extensions.status(URL.create("sqlite")).describe() == "extensions: none needed (SQLite)"


def test_downgrade_notes_match_the_migrations():
    for name, revision in (("postgis", "0003_rbh1_schema"), ("q3c", "0006_radio_q3c")):
        path = migrations.script_location() / "versions" / f"{revision}.py"
        spec = importlib.util.spec_from_file_location(revision, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        assert getattr(module, f"{'POSTGIS' if name == 'postgis' else 'Q3C'}_NOTE") == \
            extensions.NOTES[name]
    assert len(pgpolygon.CREATE_FUNCTIONS) == len(pgpolygon.DROP_FUNCTIONS)


def test_invalid_footprints_are_counted_everywhere(session, backend):
    ifu = jwst.create_jwst_instruments(session)
    bow_tie = SkyPolygon(((RA0, DEC0), (RA0 + 0.001, DEC0 + 0.001), (RA0 + 0.001, DEC0),
                          (RA0, DEC0 + 0.001)))
    for i, footprint in enumerate([*_footprints(4), bow_tie]):
        _cube(session, ifu, 40 + i, footprint)
    session.flush()
    assert count_invalid_footprints(session) == 1
