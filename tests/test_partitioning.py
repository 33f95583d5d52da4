"""Partitioned big tables (PostgreSQL), their helpers, and lineage keyed by (id, observation)."""

from __future__ import annotations

import datetime as dt
import json

import numpy as np
import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, make_transient_to_detached

from lightcurvedb import connect, migrations, partitions
from lightcurvedb.missions.tess import TESSQualityFlagArray
from lightcurvedb.models import (
    DataSet,
    DataSetHierarchy,
    Observation,
    QualityFlagArray,
    Target,
    TargetSpecificTime,
)
from lightcurvedb.radio import products_service
from lightcurvedb.radio.products import Image, MSIndex, Photometry
from lightcurvedb.testing import factories as f

POSTGRES = pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
BOTH = pytest.mark.parametrize("empty_database_url", ["sqlite", "postgresql"], indirect=True)
OBSERVATION_TABLES = ("dataset", "target_specific_time", "quality_flag_array")
UTC = dt.UTC


def _partition_of(session: Session, table: str, row_id: int) -> str:
    return session.execute(sa.text(f"SELECT tableoid::regclass::text FROM {table} "
                                   "WHERE id = :id"), {"id": row_id}).scalar_one()


def _observation_rows(observation: Observation, target=None):
    target = target or f.TargetFactory()
    tst = f.TargetSpecificTimeFactory(target=target, observation=observation)
    raw = f.DataSetFactory(target=target, observation=observation)
    flags = f.QualityFlagArrayFactory(observation=observation, target=target)
    return target, tst, raw, flags


# -- the partitioned layout -----------------------------------------------------------------

@POSTGRES
def test_big_tables_are_partitioned_with_a_default_partition(session):
    layout = dict(session.execute(sa.text("""
        SELECT c.oid::regclass::text, p.partstrat::text || ':' || a.attname
        FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = p.partattrs[0]""")).all())
    assert layout == {"dataset": "l:observation_id", "target_specific_time": "l:observation_id",
                      "quality_flag_array": "l:observation_id",
                      "radio.photometry": "r:measured_at"}
    for table in (*OBSERVATION_TABLES, "radio.photometry"):
        defaults = [p for p in partitions.partitions(session, table) if p.is_default]
        assert [(p.name, p.bound) for p in defaults] == [(f"{table}_default", "DEFAULT")]


@POSTGRES
def test_rows_land_in_their_observation_partition(session):
    observation, elsewhere = f.ObservationFactory(), f.ObservationFactory()
    session.flush()
    created = partitions.create_observation_partitions(session, [observation.id, observation.id])
    assert created == [f"{t}_obs_{observation.id}" for t in OBSERVATION_TABLES]
    _, tst, raw, flags = _observation_rows(observation)
    _, other_tst, other_raw, other_flags = _observation_rows(elsewhere)
    session.flush()
    for table, row in zip(OBSERVATION_TABLES, (raw, tst, flags), strict=True):
        assert _partition_of(session, table, row.id) == f"{table}_obs_{observation.id}"
    # No partition for the other observation: its rows wait in the DEFAULT partitions.
    for table, row in zip(OBSERVATION_TABLES, (other_raw, other_tst, other_flags), strict=True):
        assert _partition_of(session, table, row.id) == f"{table}_default"
    listed = {p.name: p for p in partitions.partitions(session, DataSet, exact=True)}
    assert listed[f"dataset_obs_{observation.id}"].bound == f"FOR VALUES IN ({observation.id})"
    assert listed[f"dataset_obs_{observation.id}"].rows == 1


@POSTGRES
def test_helper_moves_default_rows_and_keeps_lineage(session):
    observation, partitioned = f.ObservationFactory(), f.ObservationFactory()
    session.flush()
    partitions.create_observation_partitions(session, [partitioned.id])
    target, tst, raw, flags = _observation_rows(observation)
    detrended = f.DataSetFactory(target=target, observation=observation)
    detrended.source_datasets.append(raw)
    elsewhere = f.DataSetFactory(target=target, observation=partitioned)
    elsewhere.source_datasets.append(detrended)  # an edge across observations
    session.flush()
    edges = sorted(session.execute(sa.select(DataSetHierarchy.__table__)).all())
    arrays = {lc.id: lc.values.copy() for lc in (raw, detrended)}
    assert _partition_of(session, "dataset", raw.id) == "dataset_default"

    created = partitions.create_observation_partitions(session, [observation.id, partitioned.id])
    assert created == [f"{t}_obs_{observation.id}" for t in OBSERVATION_TABLES]
    for table, row in zip(OBSERVATION_TABLES, (raw, tst, flags), strict=True):
        assert _partition_of(session, table, row.id) == f"{table}_obs_{observation.id}"
        assert session.execute(sa.text(f"SELECT count(*) FROM {table}_default WHERE "
                                       "observation_id = :o"), {"o": observation.id}).scalar() == 0
    assert _partition_of(session, "dataset", detrended.id) == f"dataset_obs_{observation.id}"
    assert sorted(session.execute(sa.select(DataSetHierarchy.__table__)).all()) == edges
    session.expire_all()
    for lc_id, values in arrays.items():
        np.testing.assert_array_equal(session.get(DataSet, lc_id).values, values)
    assert [lc.id for lc in session.get(DataSet, elsewhere.id).ancestors()] == \
        [detrended.id, raw.id]
    assert partitions.create_observation_partitions(session, [observation.id]) == []


@POSTGRES
def test_array_storage_is_chosen_per_column(session):
    observation = f.ObservationFactory()
    session.flush()
    partitions.create_observation_partitions(session, [observation.id])
    storage = {name: (kind, compression) for name, kind, compression in session.execute(
        sa.text("""
        SELECT attrelid::regclass::text || '.' || attname, attstorage, attcompression
        FROM pg_attribute
        WHERE attname IN ('values', 'errors', 'barycentric_julian_dates', 'quality_flags')
          AND attrelid::regclass::text ~ '^(dataset|target_specific_time|quality_flag_array)'
        """)).all()}
    # migration 0012 on a server with lz4 (the suite's): EXTENDED with lz4 everywhere
    for relation in ("", "_default", f"_obs_{observation.id}"):
        for column in ("dataset{}.values", "dataset{}.errors",
                       "target_specific_time{}.barycentric_julian_dates",
                       "quality_flag_array{}.quality_flags"):
            assert storage[column.format(relation)] == ("x", "l"), column.format(relation)


def _image(session: Session) -> str:
    session.execute(sa.insert(MSIndex), [{"path": "/ms/p.ms", "status": "ok"}])
    session.execute(sa.insert(Image), [{"path": "/img/p.fits", "ms_path": "/ms/p.ms",
                                        "created_at": dt.datetime(2026, 1, 1, tzinfo=UTC),
                                        "type": "image"}])
    return "/img/p.fits"


def _photometry(image: str, when: dt.datetime, source: str = "NVSS J000000.0+000000") -> dict:
    return {"image_path": image, "source_id": source, "ra_deg": 10.0, "dec_deg": 20.0,
            "peak_jyb": 0.01, "measured_at": when}


@POSTGRES
def test_photometry_partitions_by_month(session):
    image = _image(session)
    last_second = dt.datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    early = session.execute(sa.insert(Photometry).returning(Photometry.id),
                            [_photometry(image, last_second)]).scalar_one()
    assert _partition_of(session, "radio.photometry", early) == "radio.photometry_default"
    created = partitions.create_photometry_partitions(
        session, dt.datetime(2026, 11, 15, tzinfo=UTC), dt.datetime(2027, 1, 1, tzinfo=UTC))
    assert created == ["radio.photometry_2026_11", "radio.photometry_2026_12",
                       "radio.photometry_2027_01"]
    assert _partition_of(session, "radio.photometry", early) == "radio.photometry_2026_11"
    midnight = dt.datetime(2026, 12, 1, tzinfo=UTC)
    late = session.execute(sa.insert(Photometry).returning(Photometry.id),
                           [_photometry(image, midnight)]).scalar_one()
    assert _partition_of(session, "radio.photometry", late) == "radio.photometry_2026_12"
    bounds = {p.name: p.bound for p in partitions.partitions(session, "photometry")}
    # 2026-01-01T00:00Z is 1767225600 s; December starts 334 days later, January 365.
    december, january = 1767225600 + 334 * 86400, 1767225600 + 365 * 86400
    assert bounds["radio.photometry_2026_12"] == \
        f"FOR VALUES FROM ('{december}') TO ('{january}')"
    assert partitions.create_photometry_partitions(session, december, december + 1.0) == []


@POSTGRES
def test_photometry_writer_creates_the_months_partitions(session):
    image = _image(session)
    when = dt.datetime(2025, 3, 14, 12, 0, tzinfo=UTC)
    assert products_service.record_photometry(session, [_photometry(image, when)]) == 1
    row = session.scalars(sa.select(Photometry.id)).one()
    assert _partition_of(session, "radio.photometry", row) == "radio.photometry_2025_03"


@POSTGRES
def test_tess_loader_writes_into_the_new_observations_partitions(session, tmp_path):
    from lightcurvedb.loaders.tess import load_lightcurves
    from lightcurvedb.testing.fits import spoc_filename, write_spoc_lightcurve

    path = write_spoc_lightcurve(tmp_path / spoc_filename(261136679, 3), tic_id=261136679,
                                 sector=3, camera=1, ccd=2, n_cadences=50)
    assert load_lightcurves(session, [path], progress=False).loaded == [path]
    placed = session.execute(sa.text(
        "SELECT DISTINCT tableoid::regclass::text, observation_id FROM dataset")).all()
    assert [name for name, observation in placed] == [f"dataset_obs_{placed[0][1]}"]


def test_helpers_refuse_bad_arguments(session):
    with pytest.raises(TypeError, match="observation id must be an integer, got 'a'"):
        partitions.create_observation_partitions(session, ["a"])
    with pytest.raises(ValueError, match="naive datetime"):
        partitions.create_photometry_partitions(session, dt.datetime(2026, 1, 1), 0.0)
    with pytest.raises(ValueError, match="is before start"):
        partitions.create_photometry_partitions(session, 2e9, 1e9)
    with pytest.raises(ValueError, match="outside January 1970"):
        partitions.create_photometry_partitions(session, -1.0, 1.0)
    with pytest.raises(ValueError, match="'observation' is not a partitioned table"):
        partitions.partitions(session, Observation)


def test_helpers_do_nothing_on_sqlite(session, backend):
    observation = f.ObservationFactory()
    session.flush()
    created = partitions.create_observation_partitions(session, [observation.id])
    assert (created == []) == (backend == "sqlite")
    assert (partitions.partitions(session, "dataset") == []) == (backend == "sqlite")


# -- the ORM on partitioned tables ----------------------------------------------------------

@POSTGRES
def test_polymorphic_rows_and_cascades_through_partitions(session):
    observation = f.ObservationFactory()
    session.flush()
    partitions.create_observation_partitions(session, [observation.id])
    target, tst, raw, _ = _observation_rows(observation)
    tess_flags = TESSQualityFlagArray(observation=observation,
                                      quality_flags=np.zeros(5, dtype=np.int64))
    session.add(tess_flags)
    session.flush()
    session.expire_all()
    loaded = session.scalars(sa.select(QualityFlagArray).where(
        QualityFlagArray.id == tess_flags.id)).one()
    assert type(loaded) is TESSQualityFlagArray
    assert _partition_of(session, "quality_flag_array", loaded.id) == \
        f"quality_flag_array_obs_{observation.id}"

    other = f.DataSetFactory(target=target)  # same target, another observation
    session.flush()
    session.delete(session.get(Observation, observation.id))
    session.flush()
    for model in (DataSet, TargetSpecificTime, QualityFlagArray):
        assert session.scalar(sa.select(sa.func.count()).select_from(model).where(
            model.observation_id == observation.id)) == 0
    assert session.get(DataSet, other.id) is not None


@POSTGRES
def test_queries_by_target_use_the_target_index_of_every_partition(session):
    observations = [f.ObservationFactory() for _ in range(2)]
    catalog = f.MissionCatalogFactory()
    session.flush()
    partitions.create_observation_partitions(session, [o.id for o in observations])
    target_ids = session.execute(sa.insert(sa.table("target", sa.column("catalog_id"),
                                                    sa.column("name")))
                                 .returning(sa.column("id")),
                                 [{"catalog_id": catalog.id, "name": n} for n in range(3000)]
                                 ).scalars().all()
    session.execute(sa.insert(DataSet), [
        {"target_id": t, "observation_id": o.id, "values": np.ones(3)}
        for o in observations for t in target_ids])
    session.execute(sa.text("ANALYZE dataset"))
    plan = session.execute(sa.text("EXPLAIN (FORMAT JSON) SELECT id FROM dataset "
                                   "WHERE target_id = :t"), {"t": target_ids[17]}).scalar_one()
    plan = plan if isinstance(plan, list) else json.loads(plan)
    scans = {}

    def walk(node):
        if "Relation Name" in node:
            scans[node["Relation Name"]] = (node["Node Type"], node.get("Index Name"))
        for child in node.get("Plans", []):
            walk(child)

    walk(plan[0]["Plan"])
    partitioned = {f"dataset_obs_{o.id}" for o in observations}
    assert partitioned <= set(scans)
    for relation in partitioned:
        node_type, index = scans[relation]
        assert node_type in {"Index Scan", "Bitmap Heap Scan", "Index Only Scan"}, scans
    indexes = _index_names(plan[0]["Plan"])
    assert all(name.endswith("target_id_idx") for name in indexes) and indexes, indexes


def _index_names(node) -> list[str]:
    names = [node["Index Name"]] if "Index Name" in node else []
    for child in node.get("Plans", []):
        names += _index_names(child)
    return names


# -- lineage edges carry their light curves' observations (both backends) --------------------

def test_lineage_edges_store_both_keys(session):
    raw = f.DataSetFactory()
    detrended = f.DataSetFactory(target=raw.target)
    detrended.source_datasets.append(raw)
    session.flush()
    edge = session.scalars(sa.select(DataSetHierarchy)).one()
    assert (edge.source_dataset_id, edge.source_observation_id) == (raw.id, raw.observation_id)
    assert (edge.child_dataset_id, edge.child_observation_id) == \
        (detrended.id, detrended.observation_id)
    made = f.DataSetHierarchyFactory(source=detrended)
    assert made.source_observation_id == detrended.observation_id
    assert made.child_observation_id == session.get(DataSet, made.child_dataset_id).observation_id


def test_lineage_edge_with_a_wrong_observation_is_refused(session):
    raw, detrended = f.DataSetFactory(), f.DataSetFactory()
    session.flush()
    with pytest.raises(IntegrityError), session.begin_nested():
        session.add(DataSetHierarchy(
            source_dataset_id=raw.id, source_observation_id=detrended.observation_id,
            child_dataset_id=detrended.id, child_observation_id=detrended.observation_id))
        session.flush()


def test_lineage_follows_and_cascades_with_its_light_curves(session):
    raw, moved = f.DataSetFactory(), f.DataSetFactory()
    moved.source_datasets.append(raw)
    target_observation = f.ObservationFactory()
    session.flush()
    # Moving a light curve to another observation (another partition on PostgreSQL).
    session.execute(sa.update(DataSet).where(DataSet.id == moved.id)
                    .values(observation_id=target_observation.id))
    assert session.execute(sa.select(DataSetHierarchy.child_observation_id)).scalar_one() == \
        target_observation.id
    session.execute(sa.delete(DataSet).where(DataSet.id == raw.id))
    assert session.scalar(sa.select(sa.func.count()).select_from(DataSetHierarchy)) == 0


# -- migration 0008 on a database with rows ----------------------------------------------------

VIEW = "CREATE VIEW lcdb_light_curves_per_target AS " \
       "SELECT target_id, count(*) AS n FROM dataset GROUP BY target_id"
PHOTOMETRY_TIMES = (dt.datetime(2026, 10, 31, 23, 0, tzinfo=UTC),
                    dt.datetime(2026, 11, 2, 8, 30, tzinfo=UTC),
                    dt.datetime(1969, 7, 20, 20, 17, tzinfo=UTC))


def _target_0007(session: Session, catalog_id: int, name: int) -> Target:
    """A target row as the 0007 schema has it (the ORM would insert today's columns too)."""
    target_id = session.execute(sa.text(
        "INSERT INTO target (catalog_id, name) VALUES (:c, :n) RETURNING id"),
        {"c": catalog_id, "n": name}).scalar_one()
    target = Target(id=target_id, catalog_id=catalog_id, name=name)
    make_transient_to_detached(target)      # as if loaded: nothing of it is written again
    session.add(target)
    return target


def _seed_0007(engine) -> list[int]:
    """Rows written at revision 0007: 3 observations x 2 targets, lineage, photometry, a view."""
    with Session(engine) as session, f.bound_to(session):
        observations = [f.ObservationFactory() for _ in range(3)]
        targets = [_target_0007(session, f.MissionCatalogFactory().id, 100 + i)
                   for i in range(2)]
        for observation in observations:
            for target in targets:
                _observation_rows(observation, target)
                f.DataSetFactory(target=target, observation=observation)
        session.flush()
        ids = session.scalars(sa.select(DataSet.id).order_by(DataSet.id)).all()
        edges = [{"s": a, "c": b} for a, b in zip(ids[::2], ids[1::2], strict=True)]
        edges.append({"s": ids[0], "c": ids[-1]})  # across observations
        session.execute(sa.text("INSERT INTO dataset_hierarchy (source_dataset_id, "
                                "child_dataset_id) VALUES (:s, :c)"), edges)
        image = _image(session)
        session.execute(sa.insert(Photometry), [
            _photometry(image, when, f"NVSS J{i}") for i, when in enumerate(PHOTOMETRY_TIMES)])
        session.execute(sa.text(VIEW))
        session.commit()
        return [o.id for o in observations]


def _fingerprint(engine) -> dict[str, list[tuple]]:
    """Every row of the four tables and the lineage (as of 0007), arrays as bytes."""
    tables = [DataSet.__table__, TargetSpecificTime.__table__, QualityFlagArray.__table__,
              Photometry.__table__]
    found = {}
    with engine.connect() as connection:
        for table in tables:
            rows = connection.execute(sa.select(table).order_by(table.c.id)).all()
            found[table.name] = [tuple(v.tobytes() if isinstance(v, np.ndarray) else v
                                       for v in row) for row in rows]
        lineage = DataSetHierarchy.__table__.c
        found["lineage"] = connection.execute(sa.select(
            lineage.id, lineage.source_dataset_id, lineage.child_dataset_id)
            .order_by(lineage.id)).all()
        found["view"] = connection.execute(sa.text(
            "SELECT * FROM lcdb_light_curves_per_target ORDER BY target_id")).all()
    return found


def _relkinds(engine) -> dict[str, str]:
    with engine.connect() as connection:
        return dict(connection.execute(sa.text(
            "SELECT oid::regclass::text, relkind::text FROM pg_class WHERE oid IN ("
            "to_regclass('dataset'), to_regclass('target_specific_time'), "
            "to_regclass('quality_flag_array'), to_regclass('radio.photometry'))")).all())


@BOTH
def test_upgrade_and_downgrade_keep_every_row(empty_database_url):
    engine = connect(empty_database_url)
    postgres = engine.dialect.name == "postgresql"
    try:
        migrations.upgrade(engine, "0007")
        observation_ids = _seed_0007(engine)
        before = _fingerprint(engine)
        assert len(before["dataset"]) == 12 and len(before["lineage"]) == 7
        if postgres:
            assert set(_relkinds(engine).values()) == {"r"}

        migrations.upgrade(engine)
        assert _fingerprint(engine) == before
        with engine.connect() as connection:
            # Partitions per observation and month do not count as schema drift.
            options = migrations.context_options(connection)
            assert compare_metadata(MigrationContext.configure(connection, opts=options),
                                    options["target_metadata"]) == []
            # The lineage learnt its light curves' observations.
            wrong = connection.execute(sa.text("""
                SELECT count(*) FROM dataset_hierarchy h
                JOIN dataset s ON s.id = h.source_dataset_id
                JOIN dataset c ON c.id = h.child_dataset_id
                WHERE s.observation_id <> h.source_observation_id
                   OR c.observation_id <> h.child_observation_id""")).scalar()
            assert wrong == 0
        if postgres:
            assert set(_relkinds(engine).values()) == {"p"}
            with engine.connect() as connection:
                for table in OBSERVATION_TABLES:
                    placed = connection.execute(sa.text(
                        f"SELECT DISTINCT tableoid::regclass::text, observation_id FROM {table}"
                    )).all()
                    assert sorted(placed) == [(f"{table}_obs_{o}", o) for o in observation_ids]
                months = connection.execute(sa.text(
                    "SELECT source_id, tableoid::regclass::text FROM radio.photometry "
                    "ORDER BY source_id")).all()
            assert months == [("NVSS J0", "radio.photometry_2026_10"),
                              ("NVSS J1", "radio.photometry_2026_11"),
                              ("NVSS J2", "radio.photometry_default")]

        migrations.downgrade(engine, "0007")
        assert _fingerprint(engine) == before
        if postgres:
            assert set(_relkinds(engine).values()) == {"r"}
            with engine.connect() as connection:
                storage = connection.execute(sa.text(
                    "SELECT attstorage FROM pg_attribute WHERE attrelid = 'dataset'::regclass "
                    "AND attname = 'values'")).scalar()
            assert storage == "x"
        with engine.begin() as connection:  # the id sequences carried on
            new = connection.execute(sa.text(
                'INSERT INTO dataset (target_id, observation_id, "values") SELECT target_id, '
                'observation_id, "values" FROM dataset WHERE id = :id RETURNING id'),
                {"id": before["dataset"][0][0]}).scalar()
        assert new > max(row[0] for row in before["dataset"])
        migrations.upgrade(engine)
        assert len(_fingerprint(engine)["dataset"]) == 13
    finally:
        engine.dispose()
