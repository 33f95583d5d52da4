"""Re-pointing a moved data tree: every path column, foreign keys kept, all or nothing."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
import sqlalchemy as sa

from lightcurvedb import connect, migrations
from lightcurvedb.models import CatalogValidation, FITSFrame
from lightcurvedb.paths import RepointError, path_columns, repoint
from lightcurvedb.radio import (
    CalTable,
    Image,
    Mosaic,
    MSIndex,
    Photometry,
    QAArtifact,
    SubbandFile,
)
from lightcurvedb.radio import calibration_registry as cal
from lightcurvedb.radio import products_service as ps
from lightcurvedb.radio import queue as q
from lightcurvedb.radio.binding import radio_session
from lightcurvedb.testing import factories, radio_ddl

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
GROUP = "2025-10-24T12:00:00"
RADIO_KEYS = ("radio.ms_index.path", "radio.ms_index.imagename", "radio.images.path",
              "radio.images.ms_path", "radio.photometry.image_path", "radio.mosaics.path",
              "radio.mosaics.thumbnail_path", "radio.qa_artifacts.path", "radio.caltables.path",
              "radio.subband_files.file_path")


def _image_row(session, path, ms_path):
    """An images row as the pipeline writes it (no FITS file needed for re-pointing)."""
    image = Image(path=path, ms_path=ms_path, created_at=T0, type="image")
    session.add(image)
    session.flush()
    return image


def _seed(session, root):
    """One row per path column under ``root``, and neighbours under ``root``'s sibling ``ab``."""
    ms, image = f"{root}/ms/{GROUP}.ms", f"{root}/img/{GROUP}.img-image.fits"
    ps.record_ms_stage(session, ms, "imaged", imagename=image)
    ps.record_ms_stage(session, f"{root}b/ms/other.ms", "imaged")       # /data/ab: not moved
    _image_row(session, image, ms)
    _image_row(session, f"{root}b/img/other.fits", f"{root}b/ms/other.ms")
    ps.record_photometry(session, [
        {"image_path": image, "source_id": f"NVSS J{i}", "ra_deg": 10.0, "dec_deg": 1.0,
         "peak_jyb": 0.1} for i in range(3)] + [
        {"image_path": f"{root}b/img/other.fits", "source_id": "NVSS J9", "ra_deg": 10.0,
         "dec_deg": 1.0, "peak_jyb": 0.1}], measured_at=T0)
    session.add(Mosaic(path=f"{root}/mosaic/m.fits", name="m", created_at=T0, start_mjd=1.0,
                       end_mjd=2.0, thumbnail_path=f"{root}/mosaic/m.png"))
    session.add(QAArtifact(group_id=GROUP, name="amp.png", path=f"{root}/qa/amp.png",
                           created_at=T0))
    cal.register_caltable(session, f"{root}/cal/60972.K", "K", set_name="k",
                          valid_start_mjd=60972.0, valid_end_mjd=60973.0, created_at=T0)
    q.register_subband(session, GROUP, 0, f"{root}/incoming/{GROUP}_sb00.hdf5", commit=False)
    factories.FITSFrameFactory(file_path=f"{root}/frames/f.fits")
    factories.FITSFrameFactory(file_path=f"{root}b/frames/f.fits")
    factories.CatalogValidationFactory(source_path=root)     # the prefix itself
    session.flush()


def _values(session):
    text = sa.String
    return {
        "ms": sorted(session.execute(sa.select(MSIndex.path, MSIndex.imagename)).all(),
                     key=str),
        "images": sorted(session.execute(sa.select(Image.path, Image.ms_path)).all()),
        "photometry": sorted(session.execute(sa.select(Photometry.image_path)).scalars()),
        "mosaics": session.execute(sa.select(Mosaic.path, Mosaic.thumbnail_path)).all(),
        "qa": session.execute(sa.select(QAArtifact.path)).scalars().all(),
        "cal": session.execute(sa.select(CalTable.path)).scalars().all(),
        "subbands": session.execute(sa.select(SubbandFile.file_path)).scalars().all(),
        "frames": sorted(session.execute(sa.select(sa.type_coerce(FITSFrame.file_path, text)))
                         .scalars()),
        "catalog": session.execute(sa.select(sa.type_coerce(CatalogValidation.source_path,
                                                            text))).scalars().all(),
    }


def _dangling(session):
    """Photometry rows without their image, images without their MS."""
    photometry = session.scalar(sa.select(sa.func.count()).select_from(Photometry).outerjoin(
        Image, Photometry.image_path == Image.path).where(Image.id.is_(None)))
    images = session.scalar(sa.select(sa.func.count()).select_from(Image).outerjoin(
        MSIndex, Image.ms_path == MSIndex.path).where(MSIndex.path.is_(None)))
    return photometry, images


def test_path_columns_are_found_from_the_metadata():
    found = {f"{column.table.fullname}.{column.name}" for column in path_columns()}
    assert {"fits_frame.file_path", "catalog_validation.source_path",
            "rbh1.observations.file_path", "rbh1.mcmc_metadata.chain_path"} <= found
    assert set(RADIO_KEYS) <= found
    other = sa.MetaData()
    sa.Table("plugin_frames", other, sa.Column("id", sa.Integer, primary_key=True),
             sa.Column("where", factories.models.FITSFrame.__table__.c.file_path.type),
             sa.Column("note", sa.Text))
    assert [column.name for column in path_columns(other)] == ["where"]


def test_repoint_every_path_column(session, tmp_path):
    old, new = f"{tmp_path}/data/a", f"{tmp_path}/archive/a"
    _seed(session, old)
    before = _values(session)
    counts = repoint(session, old, new, dry_run=True)
    expected = {"radio.ms_index.path": 1, "radio.ms_index.imagename": 1, "radio.images.path": 1,
                "radio.images.ms_path": 1, "radio.photometry.image_path": 3,
                "radio.mosaics.path": 1, "radio.mosaics.thumbnail_path": 1,
                "radio.qa_artifacts.path": 1, "radio.caltables.path": 1,
                "radio.subband_files.file_path": 1, "fits_frame.file_path": 1,
                "catalog_validation.source_path": 1}
    assert {key: n for key, n in counts.items() if n} == expected
    assert _values(session) == before                        # a dry run writes nothing
    assert repoint(session, old, new) == counts
    after = _values(session)
    ms, image = f"{new}/ms/{GROUP}.ms", f"{new}/img/{GROUP}.img-image.fits"
    assert after["ms"] == sorted([(ms, image), (f"{old}b/ms/other.ms", None)], key=str)
    assert after["images"] == sorted([(image, ms),
                                      (f"{old}b/img/other.fits", f"{old}b/ms/other.ms")])
    assert after["photometry"] == sorted([image] * 3 + [f"{old}b/img/other.fits"])
    assert after["mosaics"] == [(f"{new}/mosaic/m.fits", f"{new}/mosaic/m.png")]
    assert (after["qa"], after["cal"]) == ([f"{new}/qa/amp.png"], [f"{new}/cal/60972.K"])
    assert after["subbands"] == [f"{new}/incoming/{GROUP}_sb00.hdf5"]
    assert [p for p in after["frames"] if p.startswith(str(tmp_path))] == \
        [f"{new}/frames/f.fits", f"{old}b/frames/f.fits"]
    assert after["catalog"] == [new]
    assert _dangling(session) == (0, 0)
    # The moved MS is found under its new key; a second run changes nothing.
    assert session.get(MSIndex, ms).imagename == image
    assert not any(repoint(session, old, new).values())
    assert _values(session) == after


def test_the_new_prefix_is_stored_resolved(session, tmp_path, monkeypatch):
    (tmp_path / "vol2" / "a").mkdir(parents=True)
    (tmp_path / "current").symlink_to(tmp_path / "vol2")
    _seed(session, "/gone/data/a")
    monkeypatch.chdir(tmp_path)
    counts = repoint(session, "/gone/data/a/", "current/a")     # trailing slash, relative NEW
    assert counts["radio.caltables.path"] == 1
    assert _values(session)["cal"] == [f"{tmp_path}/vol2/a/cal/60972.K"]


@pytest.mark.parametrize(("old", "new", "reason"), [
    ("data/a", "/archive/a", "OLD must be an absolute path"),
    ("/data/a", "/data/a/", "OLD and NEW are the same path"),
    ("/data/a", "/data/a/v1", "/data/a/v1 is inside /data/a: a second run would rewrite"),
    ("/data/a/v1", "/data/a", "/data/a/v1 is inside /data/a: a second run would rewrite"),
    ("/", "/archive", "/archive is inside /"),
])
def test_refused_prefixes_change_nothing(session, old, new, reason):
    _seed(session, "/data/a")
    before = _values(session)
    with pytest.raises(RepointError, match=reason):
        repoint(session, old, new)
    assert _values(session) == before


def test_a_collision_rolls_everything_back(session, tmp_path):
    old, new = f"{tmp_path}/data/a", f"{tmp_path}/archive/a"
    _seed(session, old)
    _image_row(session, f"{new}/img/{GROUP}.img-image.fits", f"{old}/ms/{GROUP}.ms")
    before = _values(session)
    with pytest.raises(RepointError, match=r"^the database refused the rewrite \(.*\); "
                                           r"nothing was changed$"):
        repoint(session, old, new)
    session.expire_all()
    assert _values(session) == before        # caltables, frames ... rolled back too
    assert _dangling(session) == (0, 0)


def _raw(path, sql):
    connection = sqlite3.connect(path)
    try:
        rows = connection.execute(sql).fetchall()
        connection.commit()
        return rows
    finally:
        connection.close()


def test_the_pipeline_s_four_files(tmp_path):
    paths = radio_ddl.create_pipeline_databases(tmp_path / "state")
    engines = {group: connect(f"sqlite:///{path}") for group, path in paths.items()}
    try:
        with radio_session(engines) as session:
            ps.record_ms_stage(session, "/data/a/x.ms", "imaged")
            _image_row(session, "/data/a/x.fits", "/data/a/x.ms")
            ps.record_photometry(session, [{"image_path": "/data/a/x.fits", "source_id": "s",
                                            "ra_deg": 1.0, "dec_deg": 1.0, "peak_jyb": 0.1}])
            cal.register_caltable(session, "/data/a/x.K", "K", set_name="k",
                                  valid_start_mjd=1.0, valid_end_mjd=2.0)
            q.register_subband(session, GROUP, 0, f"/data/a/{GROUP}_sb00.hdf5", commit=False)
            session.commit()
        # The pipeline writes without foreign keys enforced: orphans it left behind.
        _raw(paths["products"], "INSERT INTO photometry (image_path, source_id, ra_deg, dec_deg, "
             "peak_jyb, measured_at) VALUES ('/data/a/lost.fits', 's', 1, 1, 1, 0), "
             "('/elsewhere/lost.fits', 's', 1, 1, 1, 0)")
        with radio_session(engines) as session:
            for dry_run in (True, False):
                with pytest.raises(RepointError, match=r"^radio\.photometry\.image_path: rows "
                                   r"under /data/a point at no stored radio\.images\.path "
                                   r"\(e\.g\. '/data/a/lost\.fits'\); fix or delete them first"):
                    repoint(session, "/data/a", "/data/b", dry_run=dry_run)
            session.commit()
        assert _raw(paths["cal_registry"], "SELECT path FROM caltables") == [("/data/a/x.K",)]
        _raw(paths["products"], "DELETE FROM photometry WHERE image_path = '/data/a/lost.fits'")
        with radio_session(engines) as session:
            counts = repoint(session, "/data/a", "/data/b")
            session.commit()
            assert not any(repoint(session, "/data/a", "/data/b").values())
    finally:
        for engine in engines.values():
            engine.dispose()
    assert {key: n for key, n in counts.items() if n} == {
        "radio.ms_index.path": 1, "radio.images.path": 1, "radio.images.ms_path": 1,
        "radio.photometry.image_path": 1, "radio.caltables.path": 1,
        "radio.subband_files.file_path": 1}
    products = paths["products"]
    assert _raw(products, "SELECT path FROM ms_index") == [("/data/b/x.ms",)]
    assert _raw(products, "SELECT path, ms_path FROM images") == [("/data/b/x.fits",
                                                                    "/data/b/x.ms")]
    assert sorted(_raw(products, "SELECT image_path FROM photometry")) == [
        ("/data/b/x.fits",), ("/elsewhere/lost.fits",)]
    assert _raw(paths["cal_registry"], "SELECT path FROM caltables") == [("/data/b/x.K",)]
    assert _raw(paths["ingest"], "SELECT file_path FROM subband_files") == [
        (f"/data/b/{GROUP}_sb00.hdf5",)]
    # The only violation left is the pipeline's own orphan elsewhere, untouched.
    assert [row[0] for row in _raw(products, "PRAGMA foreign_key_check")] == ["photometry"]


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_committed_on_one_database(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        with radio_session(engine) as session:
            ps.record_ms_stage(session, "/data/a/x.ms", "imaged")
            _image_row(session, "/data/a/x.fits", "/data/a/x.ms")
            ps.record_photometry(session, [{"image_path": "/data/a/x.fits", "source_id": "s",
                                            "ra_deg": 1.0, "dec_deg": 1.0, "peak_jyb": 0.1}],
                                 measured_at=T0)
            session.commit()
            assert repoint(session, "/data/a", "/data/b")["radio.photometry.image_path"] == 1
            session.commit()
        with radio_session(engine) as session:
            assert session.execute(sa.select(Image.path, Image.ms_path)).all() == [
                ("/data/b/x.fits", "/data/b/x.ms")]
            assert session.execute(sa.select(Photometry.image_path)).scalars().all() == [
                "/data/b/x.fits"]
            assert _dangling(session) == (0, 0)
    finally:
        engine.dispose()


# -- the command ----------------------------------------------------------------------------

@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_lcdb_db_repoint(empty_database_url, env, tmp_path):
    from cli_support import lcdb

    engine = connect(empty_database_url)
    url = empty_database_url.render_as_string(hide_password=False)
    try:
        migrations.upgrade(engine)
        with radio_session(engine) as session:
            ps.record_ms_stage(session, "/data/a/x.ms", "imaged")
            _image_row(session, "/data/a/x.fits", "/data/a/x.ms")
            _image_row(session, "/data/ab/y.fits", "/data/a/x.ms")
            session.commit()
        dry = lcdb(env, "--url", url, "db", "repoint", "/data/a", "/archive/a", "--dry-run")
        assert dry.returncode == 0, dry.stderr
        assert dry.stdout.splitlines() == [
            "radio.ms_index.path: 1", "radio.images.path: 1", "radio.images.ms_path: 2",
            "dry run: 4 paths would be re-pointed; nothing was written"]
        done = lcdb(env, "--url", url, "db", "repoint", "/data/a", "/archive/a")
        assert (done.returncode, done.stdout.splitlines()[-1]) == \
            (0, "4 paths re-pointed to /archive/a")
        again = lcdb(env, "--url", url, "db", "repoint", "/data/a", "/archive/a")
        assert (again.returncode, again.stdout) == (0, "no stored path under /data/a\n")
        bad = lcdb(env, "--url", url, "db", "repoint", "data/a", "/archive/a")
        assert (bad.returncode, bad.stdout) == (1, "")
        assert bad.stderr == ("lcdb: error: OLD must be an absolute path (stored paths are), "
                              "got 'data/a'\n")
        with radio_session(engine) as session:
            assert sorted(session.execute(sa.select(Image.path, Image.ms_path)).all()) == [
                ("/archive/a/x.fits", "/archive/a/x.ms"), ("/data/ab/y.fits", "/archive/a/x.ms")]
    finally:
        engine.dispose()


def test_lcdb_db_repoint_on_the_pipeline_files(env, tmp_path):
    from cli_support import lcdb

    paths = radio_ddl.create_pipeline_databases(tmp_path / "state")
    _raw(paths["products"], "INSERT INTO ms_index (path) VALUES ('/data/a/x.ms')")
    _raw(paths["cal_registry"], "INSERT INTO caltables (set_name, path, table_type, "
         "order_index, valid_start_mjd, valid_end_mjd, created_at) VALUES "
         "('k', '/data/a/x.K', 'K', 0, 1, 2, 0)")
    radio = [f"--radio={group}=sqlite:///{path}" for group, path in paths.items()]
    done = lcdb(env, "--url", f"sqlite:///{tmp_path / 'core.sqlite3'}", "db", "repoint",
                "/data/a", "/data/b", *radio)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["radio.caltables.path: 1", "radio.ms_index.path: 1",
                                        "2 paths re-pointed to /data/b"]
    assert _raw(paths["products"], "SELECT path FROM ms_index") == [("/data/b/x.ms",)]
    assert _raw(paths["cal_registry"], "SELECT path FROM caltables") == [("/data/b/x.K",)]
    bad = lcdb(env, "db", "repoint", "/data/b", "/data/c", "--radio", "products")
    assert (bad.returncode, bad.stderr.count("\n")) == (1, 1)
    assert bad.stderr.startswith("lcdb: error: --radio expects GROUP=URL once per group")
