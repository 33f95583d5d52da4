"""Databases made by the DSA-110 pipeline's own DDL open with the radio models unchanged.

Every database here is built from the pipeline's DDL text by the ``sqlite3``
module (:mod:`lightcurvedb.testing.radio_ddl`), as the pipeline builds them:
four files, one file, a products file upgraded by ``migrate_products_db``, and
an existing file adopted by ``migrations.upgrade``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from lightcurvedb import connect, migrations
from lightcurvedb.radio import (
    AlertHistory,
    CalTable,
    ESECandidate,
    Image,
    IngestGroup,
    Mosaic,
    MSIndex,
    PerformanceMetrics,
    Photometry,
    Source,
    SubbandFile,
    VariabilityStats,
)
from lightcurvedb.radio.binding import GROUPS, bind_radio, group_models, radio_session
from lightcurvedb.testing import radio_ddl

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)
T0_UNIX = T0.timestamp()
GROUP = "2025-10-24T12:00:00"

#: Every primary-key column of the pipeline DDL: none says NOT NULL, so SQLite
#: reports them nullable (for TEXT and REAL keys SQLite really admits NULL).
NULLABLE_PRIMARY_KEYS = {
    ("alert_history", "id"), ("caltables", "id"), ("ese_candidates", "id"), ("images", "id"),
    ("ingest_queue", "group_id"), ("mosaics", "id"), ("ms_index", "path"),
    ("performance_metrics", "id"), ("photometry", "id"), ("pointing_history", "timestamp"),
    ("qa_artifacts", "id"), ("sources", "source_id"), ("subband_files", "id"),
    ("variability_stats", "source_id"),
}
#: The pipeline's inline, unnamed UNIQUE constraints (the models name them uq_...).
INLINE_UNIQUES = {
    ("caltables", ("path",)), ("images", ("path",)), ("mosaics", ("path",)),
    ("performance_metrics", ("group_id",)), ("qa_artifacts", ("group_id", "name")),
    ("subband_files", ("group_id", "subband_idx")),
}


def _raw(path, sql, *params):
    with contextlib.closing(sqlite3.connect(path)) as connection:
        rows = connection.execute(sql, params).fetchall()
        connection.commit()
    return rows


def _schema_sql(path):
    return _raw(path, "SELECT type, name, sql FROM sqlite_master ORDER BY type, name")


def _seed_rows(paths):
    """Rows as the pipeline writes them: Unix REAL times, 0/1 integers."""
    _raw(paths["ingest"], "INSERT INTO ingest_queue (group_id, state, received_at, last_update, "
         "has_calibrator, calibrators) VALUES (?, 'pending', ?, ?, 1, '[\"3C286\"]')",
         GROUP, T0_UNIX, T0_UNIX + 60.5)
    _raw(paths["ingest"], "INSERT INTO subband_files (group_id, subband_idx, file_path, "
         "file_size, discovered_at) VALUES (?, 3, '/in/sb03.hdf5', 1024, ?)", GROUP, T0_UNIX)
    _raw(paths["cal_registry"], "INSERT INTO caltables (set_name, path, table_type, order_index, "
         "valid_start_mjd, valid_end_mjd, created_at, active) VALUES "
         "('bp_3c286_60972', '/cal/bp', 'BP', 1, 60972.0, 60973.0, ?, 0)", T0_UNIX)
    _raw(paths["products"], "INSERT INTO ms_index (path, mid_mjd, processed_at, stage, "
         "cal_applied) VALUES ('/ms/a.ms', 60972.5, ?, 'imaged', 1)", T0_UNIX)
    _raw(paths["products"], "INSERT INTO images (path, ms_path, created_at, type, "
         "beam_major_arcsec) VALUES ('/img/a.fits', '/ms/a.ms', ?, 'image', 15.1)", T0_UNIX)
    _raw(paths["master_sources"], "INSERT INTO sources (source_id, ra_deg, dec_deg, s_nvss, "
         "snr_nvss, alpha) VALUES ('NVSS J123456.7+420312', 188.73, 42.05, 0.12, 40.0, -0.7), "
         "('NVSS J000000.0+000000', 0.0, 0.0, 0.01, 8.0, NULL)")


def _check_reads(session):
    group = session.get(IngestGroup, GROUP)
    assert group.received_at == T0
    assert group.last_update == T0 + dt.timedelta(seconds=60.5)
    assert group.has_calibrator is True
    assert group.expected_subbands == 16 and group.retry_count == 0  # the DDL's defaults
    assert [(s.subband_idx, s.file_size, s.discovered_at) for s in group.subbands] == \
        [(3, 1024, T0)]
    cal = session.scalars(sa.select(CalTable)).one()
    assert (cal.active, cal.created_at, cal.order_index) == (False, T0, 1)
    ms = session.get(MSIndex, "/ms/a.ms")
    assert (ms.cal_applied, ms.processed_at, ms.stage) == (True, T0, "imaged")
    image = session.scalars(sa.select(Image)).one()
    assert (image.pbcor, image.format, image.ms.path) == (False, "fits", "/ms/a.ms")
    source = session.get(Source, "NVSS J123456.7+420312")
    assert (source.resolved_flag, source.confusion_flag) == (False, False)


def _write_through_models(session):
    later = T0 + dt.timedelta(hours=1, microseconds=250_000)
    session.add(IngestGroup(group_id="2025-10-24T13:00:00", state="collecting",
                            received_at=later, last_update=later, has_calibrator=False))
    session.add(PerformanceMetrics(group_id=GROUP, writer_type="auto", total_time=42.0,
                                   recorded_at=later))
    session.add(CalTable(set_name="g_60972", path="/cal/g", table_type="G", order_index=2,
                         valid_start_mjd=60972.0, valid_end_mjd=60973.0, created_at=later))
    session.add(Photometry(image_path="/img/a.fits", source_id="NVSS J123456.7+420312",
                           ra_deg=188.73, dec_deg=42.05, peak_jyb=0.118, measured_at=later))
    session.add(VariabilityStats(source_id="NVSS J123456.7+420312", ra_deg=188.73,
                                 dec_deg=42.05, updated_at=later))
    session.add(AlertHistory(source_id="NVSS J123456.7+420312", alert_type="ese_candidate",
                             severity="info", message="test", sent_at=later, success=False))
    session.add(Source(source_id="NVSS J010101.0+010101", ra_deg=15.25, dec_deg=1.02,
                       s_nvss=0.05, snr_nvss=12.0, resolved_flag=True))
    session.commit()
    return later


def _check_stored(paths, later):
    """What the models wrote is stored as the pipeline stores it."""
    stamp = later.timestamp()
    assert _raw(paths["ingest"], "SELECT received_at, has_calibrator, state, expected_subbands, "
                "retry_count FROM ingest_queue WHERE group_id = '2025-10-24T13:00:00'") == \
        [(stamp, 0, "collecting", 16, 0)]
    assert _raw(paths["ingest"], "SELECT recorded_at, total_time FROM performance_metrics") == \
        [(stamp, 42.0)]
    assert _raw(paths["cal_registry"], "SELECT created_at, active FROM caltables "
                "WHERE path = '/cal/g'") == [(stamp, 1)]
    assert _raw(paths["products"], "SELECT measured_at, flags FROM photometry") == [(stamp, 0)]
    assert _raw(paths["products"], "SELECT sent_at, success FROM alert_history") == [(stamp, 0)]
    assert _raw(paths["master_sources"], "SELECT resolved_flag, confusion_flag FROM sources "
                "WHERE source_id = 'NVSS J010101.0+010101'") == [(1, 0)]
    assert {type(value) for (value,) in _raw(paths["ingest"],
                                             "SELECT received_at FROM ingest_queue")} == {float}


def _reference_ids(session, bind=None, prefix=""):
    rows = session.execute(sa.text(f"SELECT source_id FROM {prefix}final_references "
                                   "ORDER BY source_id"),
                           bind_arguments={"bind": bind} if bind is not None else None)
    return list(rows.scalars())


def test_four_pipeline_files(tmp_path):
    paths = radio_ddl.create_pipeline_databases(tmp_path / "state")
    assert paths["master_sources"] == tmp_path / "state" / "catalogs" / "master_sources.sqlite3"
    _seed_rows(paths)
    schemas = {group: _schema_sql(path) for group, path in paths.items()}
    engines = {group: connect(f"sqlite:///{path}") for group, path in paths.items()}
    try:
        with radio_session(engines) as session:
            assert session.get_bind(IngestGroup) is engines["ingest"]
            assert session.get_bind(clause=sa.insert(Photometry.__table__)) is engines["products"]
            _check_reads(session)
            later = _write_through_models(session)
            # resolved_flag written as True (1) keeps the new source out of the view.
            assert _reference_ids(session, engines["master_sources"]) == \
                ["NVSS J123456.7+420312"]
    finally:
        for engine in engines.values():
            engine.dispose()
    _check_stored(paths, later)
    # Nothing about the files' schemas changed.
    assert {group: _schema_sql(path) for group, path in paths.items()} == schemas


def test_one_pipeline_file(tmp_path):
    path = radio_ddl.create_single_database(tmp_path / "radio.sqlite3")
    _seed_rows(dict.fromkeys(GROUPS, path))
    schema = _schema_sql(path)
    engine = connect(f"sqlite:///{path}")
    try:
        with radio_session(engine) as session:
            _check_reads(session)
            later = _write_through_models(session)
            assert _reference_ids(session) == ["NVSS J123456.7+420312"]
    finally:
        engine.dispose()
    _check_stored(dict.fromkeys(GROUPS, path), later)
    assert _schema_sql(path) == schema


@pytest.mark.parametrize("empty_database_url", ["postgresql"], indirect=True)
def test_postgresql_by_configuration(empty_database_url):
    engine = connect(empty_database_url)
    try:
        migrations.upgrade(engine)
        assert {"ingest_queue", "caltables", "photometry", "sources"} <= \
            set(sa.inspect(engine).get_table_names(schema="radio"))
        # Configured by URL, as a deployment would: the session opens its own engine.
        with radio_session(engine.url.render_as_string(hide_password=False)) as session:
            try:
                session.add(IngestGroup(group_id=GROUP, state="pending", received_at=T0,
                                        last_update=T0, has_calibrator=True))
                session.add(Source(source_id="NVSS J123456.7+420312", ra_deg=188.73,
                                   dec_deg=42.05, s_nvss=0.12, snr_nvss=40.0))
                session.commit()
                group = session.get(IngestGroup, GROUP, populate_existing=True)
                assert (group.received_at, group.has_calibrator, group.expected_subbands) == \
                    (T0, True, 16)
                assert _reference_ids(session, prefix="radio.") == ["NVSS J123456.7+420312"]
            finally:
                session.close()
                session.get_bind(IngestGroup).dispose()
        with engine.connect() as connection:
            stored = connection.exec_driver_sql(
                "SELECT received_at, has_calibrator FROM radio.ingest_queue").one()
        assert tuple(stored) == (T0_UNIX, 1)
    finally:
        engine.dispose()


def test_binding_routes_every_model_by_module():
    engines = {group: sa.create_engine("sqlite://") for group in GROUPS}
    binds = bind_radio(engines)
    assert {model: engines[group] for group in GROUPS for model in group_models(group)} == binds
    assert set(group_models("ingest")) == {IngestGroup, SubbandFile, PerformanceMetrics}
    assert binds[ESECandidate] is binds[Mosaic] is engines["products"]
    with pytest.raises(KeyError, match="unknown DSA-110 table group"):
        bind_radio({"ingest": engines["ingest"], "products_db": engines["products"]})
    with radio_session({"ingest": engines["ingest"]}) as session, \
            pytest.raises(sa.exc.UnboundExecutionError):
        session.execute(sa.select(Image))
    for engine in engines.values():
        engine.dispose()


def test_migrate_products_db_database(tmp_path):
    paths = radio_ddl.create_pipeline_databases(tmp_path, frontend_tables=False)
    products = paths["products"]
    tables = {name for (name,) in _raw(products, "SELECT name FROM sqlite_master "
                                                 "WHERE type = 'table'")}
    assert not tables & set(radio_ddl.FRONTEND_TABLES)
    _seed_rows(paths)
    radio_ddl.migrate_products_db(products)
    radio_ddl.migrate_products_db(products)   # IF NOT EXISTS: running it twice is harmless
    indexes = {name for (name,) in _raw(products, "SELECT name FROM sqlite_master "
                                                  "WHERE type = 'index' AND name LIKE 'idx_%'")}
    # The helper's index set, exactly as the pipeline's helper leaves it.
    assert {"idx_variability_chi2", "idx_variability_sigma", "idx_ese_source", "idx_ese_status",
            "idx_mosaics_mjd", "idx_alert_sent"} <= indexes
    assert not {"idx_variability_last_mjd", "idx_ese_flagged", "idx_mosaics_created",
                "idx_alert_source", "idx_alert_type"} & indexes
    engine = connect(f"sqlite:///{products}")
    try:
        with radio_session({"products": engine}) as session:
            assert session.get(MSIndex, "/ms/a.ms").processed_at == T0
            session.add(VariabilityStats(source_id="NVSS J123456.7+420312", ra_deg=188.73,
                                         dec_deg=42.05, n_obs=3, chi2_nu=7.5, updated_at=T0))
            session.flush()
            session.add(ESECandidate(source_id="NVSS J123456.7+420312", flagged_at=T0,
                                     significance=7.5, flag_type="variability"))
            session.add(Mosaic(path="/mos/a.fits", name="2025-10-24_hourly_12-13UTC",
                               created_at=T0, start_mjd=60972.5, end_mjd=60972.54))
            session.commit()
            candidate = session.scalars(sa.select(ESECandidate)).one()
            assert (candidate.flagged_by, candidate.status, candidate.flagged_at) == \
                ("auto", "active", T0)
    finally:
        engine.dispose()
    assert _raw(products, "SELECT flagged_at, flagged_by FROM ese_candidates") == \
        [(T0_UNIX, "auto")]


def _diff(connection):
    options = migrations.context_options(connection)
    context = MigrationContext.configure(connection, opts=options)
    return compare_metadata(context, options["target_metadata"])


def _describe(diff):
    described = set()
    for entry in diff:
        for op in entry if isinstance(entry, list) else [entry]:
            if op[0] == "modify_nullable":
                described.add((op[0], op[2], op[3], op[5], op[6]))
            elif op[0] == "add_constraint" and isinstance(op[1], sa.UniqueConstraint):
                described.add((op[0], op[1].table.name, tuple(c.name for c in op[1].columns)))
            else:
                described.add(tuple(map(str, op)))
    return described


def test_adopting_a_seed_database_keeps_it(tmp_path):
    path = radio_ddl.create_single_database(tmp_path / "pipeline.sqlite3")
    _seed_rows(dict.fromkeys(GROUPS, path))
    before = {table: _raw(path, f"SELECT * FROM {table}")
              for table in ("ingest_queue", "subband_files", "caltables", "ms_index", "images",
                            "sources")}
    created_sql = {name: sql for kind, name, sql in _schema_sql(path) if kind == "table"}
    engine = connect(f"sqlite:///{path}")
    try:
        migrations.upgrade(engine)
        assert migrations.current(engine) == migrations.heads()
        # The pipeline's tables were adopted, not recreated: same rows, same DDL text.
        assert {table: _raw(path, f"SELECT * FROM {table}") for table in before} == before
        after_sql = {name: sql for kind, name, sql in _schema_sql(path) if kind == "table"}
        assert {name: after_sql[name] for name in created_sql} == created_sql
        with engine.connect() as connection:
            assert list(connection.exec_driver_sql(
                "SELECT source_id FROM good_references ORDER BY source_id")) == \
                [("NVSS J000000.0+000000",), ("NVSS J123456.7+420312",)]
            differences = _describe(_diff(connection))
        expected = {("modify_nullable", table, column, True, False)
                    for table, column in NULLABLE_PRIMARY_KEYS}
        expected |= {("add_constraint", table, columns) for table, columns in INLINE_UNIQUES}
        assert differences == expected
        with radio_session(engine) as session:
            _check_reads(session)
    finally:
        engine.dispose()


@pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
def test_radio_revision_down_and_up(empty_database_url):
    engine = connect(empty_database_url)
    schema = "radio" if empty_database_url.get_backend_name() == "postgresql" else None
    try:
        migrations.upgrade(engine)
        migrations.downgrade(engine, "0004")
        inspector = sa.inspect(engine)
        assert "ingest_queue" not in inspector.get_table_names(schema=None)
        if schema:
            assert "radio" not in inspector.get_schema_names()
        assert "designation" not in {c["name"] for c in inspector.get_columns("target")}
        migrations.upgrade(engine)
        with engine.connect() as connection:
            assert _diff(connection) == []
            assert "photometry" in sa.inspect(connection).get_table_names(schema=schema)
    finally:
        engine.dispose()
