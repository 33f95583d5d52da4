"""lightcurvedb.bulk.upsert_rows on SQLite and PostgreSQL: idempotent bulk writes."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from lightcurvedb.bulk import BulkLoadError, UpsertResult, copy_rows, upsert_rows
from lightcurvedb.models import DataSet, PhotometricSource, QualityFlagArray
from lightcurvedb.testing import factories


def _sources(session: Session, prefix: str) -> list[tuple]:
    """(id, name, description) of the photometric sources named ``prefix...``, by id."""
    return [tuple(r) for r in session.execute(
        select(PhotometricSource.id, PhotometricSource.name, PhotometricSource.description)
        .where(PhotometricSource.name.like(f"{prefix}%")).order_by(PhotometricSource.id))]


def _row_versions(session: Session, backend: str, prefix: str) -> dict[str, str]:
    """Name -> physical row version on PostgreSQL (``ctid`` moves when a row is updated)."""
    if backend != "postgresql":
        return {}
    return dict(session.execute(text(
        "SELECT name, ctid::text FROM photometric_source WHERE name LIKE :p"),
        {"p": f"{prefix}%"}).all())


def _named(prefix: str, count: int) -> list[dict]:
    return [{"name": f"{prefix} Öffnung ✓ {i} 光",
             "description": None if i % 3 == 0 else f"déjà vu {i}"} for i in range(count)]


def test_loading_twice_changes_nothing(session: Session, backend: str) -> None:
    rows = _named("twice", 8)
    first = upsert_rows(session.connection(), PhotometricSource, rows, update="all")
    assert first == UpsertResult(inserted=8, updated=0, unchanged=0)
    before = _sources(session, "twice")
    versions = _row_versions(session, backend, "twice")
    second = upsert_rows(session.connection(), PhotometricSource, rows, update="all")
    assert second == UpsertResult(inserted=0, updated=0, unchanged=8)
    assert second.total == 8
    assert _sources(session, "twice") == before
    assert _row_versions(session, backend, "twice") == versions
    assert [r[1:] for r in before] == [(r["name"], r["description"]) for r in rows]


def test_changed_values_update_only_the_changed_rows(session: Session, backend: str) -> None:
    rows = _named("changed", 6)
    upsert_rows(session.connection(), PhotometricSource, rows, update="all")
    ids = {r[1]: r[0] for r in _sources(session, "changed")}
    versions = _row_versions(session, backend, "changed")
    rows[1]["description"] = None           # value -> NULL
    rows[3]["description"] = "now known"    # NULL -> value
    rows += _named("changed new", 2)
    result = upsert_rows(session.connection(), PhotometricSource, rows, update="all")
    assert result == UpsertResult(inserted=2, updated=2, unchanged=4)
    got = {r[1]: r for r in _sources(session, "changed")}
    assert len(got) == 8
    for row in rows:
        assert got[row["name"]][2] == row["description"]
    assert all(got[name][0] == id_ for name, id_ in ids.items())  # updated in place
    if backend == "postgresql":
        after = _row_versions(session, backend, "changed")
        moved = {name for name in versions if after[name] != versions[name]}
        assert moved == {rows[1]["name"], rows[3]["name"]}


def test_do_nothing_leaves_existing_rows_alone(session: Session) -> None:
    rows = _named("nothing", 3)
    upsert_rows(session.connection(), PhotometricSource, rows)
    rows[1]["description"] = "ignored"
    rows.append({"name": "nothing extra", "description": "new"})
    result = upsert_rows(session.connection(), PhotometricSource, rows)
    assert result == UpsertResult(inserted=1, updated=0, unchanged=3)
    got = {r[1]: r[2] for r in _sources(session, "nothing")}
    assert got[rows[1]["name"]] == "déjà vu 1" and got["nothing extra"] == "new"


def test_update_only_the_listed_columns(session: Session) -> None:
    import datetime as dt

    from lightcurvedb.rbh1 import PipelineRun

    # PipelineRun has no unique key but its primary key: supply run_id, update two columns.
    run = {"run_name": "listed", "stage_name": "s", "status": "success", "notes": "a",
           "rows_processed": 1, "started_at": dt.datetime(2024, 5, 1, tzinfo=dt.UTC)}
    copy_rows(session.connection(), PipelineRun, [run])
    run_id = session.scalar(select(PipelineRun.run_id).where(PipelineRun.run_name == "listed"))
    changed = {**run, "run_id": run_id, "stage_name": "t", "notes": "b", "rows_processed": 2}
    result = upsert_rows(session.connection(), PipelineRun, [changed],
                         update=["notes", "rows_processed"])
    assert result == UpsertResult(0, 1, 0)
    session.expire_all()
    got = session.scalars(select(PipelineRun).where(PipelineRun.run_name == "listed")).one()
    assert (got.stage_name, got.notes, got.rows_processed) == ("s", "b", 2)


@pytest.mark.parametrize("update", [None, "all"], ids=["do-nothing", "do-update"])
def test_duplicate_key_in_the_input(session: Session, update: str | None) -> None:
    rows = _named("dup", 5)
    rows[3]["name"] = rows[1]["name"]
    with pytest.raises(BulkLoadError) as info:
        upsert_rows(session.connection(), PhotometricSource, rows, update=update)
    err = info.value
    assert err.row_index == 3 and err.resume_from is None
    assert f"name={rows[1]['name']!r}" in str(err) and "rows 1 and 3" in str(err)
    assert _sources(session, "dup") == []  # atomic: nothing of the call kept


def test_database_refusal_is_atomic(session: Session) -> None:
    target = factories.TargetFactory()
    observation = factories.ObservationFactory()
    session.flush()
    rows = [{"type": "base_quality_flag", "observation_id": observation.id,
             "target_id": target.id, "quality_flags": np.arange(3)},
            {"type": "base_quality_flag", "observation_id": -42,  # no such observation
             "target_id": target.id, "quality_flags": np.arange(3)}]
    with pytest.raises(BulkLoadError, match="bulk load failed: the database refused the "
                                            "write: .*(FOREIGN KEY|foreign key)"):
        upsert_rows(session.connection(), QualityFlagArray, rows, chunk_size=1)
    assert session.scalars(select(QualityFlagArray)
                           .where(QualityFlagArray.target_id == target.id)).all() == []


def test_arrays_through_upsert(session: Session) -> None:
    target = factories.TargetFactory()
    observation = factories.ObservationFactory()
    session.flush()
    values = [np.array([1.0, np.nan, np.inf]), np.array([], dtype=float), np.arange(5.0)]
    rows = [{"target_id": target.id, "observation_id": observation.id, "values": v,
             "errors": None if i == 1 else v / 10} for i, v in enumerate(values)]
    copy_rows(session.connection(), DataSet, rows)
    ids = session.scalars(select(DataSet.id).where(DataSet.target_id == target.id)
                          .order_by(DataSet.id)).all()
    keyed = [{"id": id_, **row} for id_, row in zip(ids, rows, strict=True)]
    key = ["id", "observation_id"]
    same = upsert_rows(session.connection(), DataSet, keyed, conflict=key, update="all")
    assert same == UpsertResult(0, 0, 3)  # NaN equals NaN, NULL equals NULL
    keyed[2]["values"] = np.array([0.0, 1.0, 2.0, 3.0, -4.0])
    keyed[1]["errors"] = np.array([], dtype=float)
    changed = upsert_rows(session.connection(), DataSet, keyed, conflict=key,
                          update=["values", "errors"])
    assert changed == UpsertResult(0, 2, 1)
    session.expire_all()
    got = session.scalars(select(DataSet).where(DataSet.target_id == target.id)
                          .order_by(DataSet.id)).all()
    np.testing.assert_array_equal(got[0].values, [1.0, np.nan, np.inf])
    np.testing.assert_array_equal(got[2].values, [0.0, 1.0, 2.0, 3.0, -4.0])
    assert got[1].errors is not None and got[1].errors.size == 0
    with pytest.raises(ValueError, match="several unique keys"):
        upsert_rows(session.connection(), DataSet, keyed)


def test_partial_unique_index_as_conflict_target(session: Session) -> None:
    observation = factories.ObservationFactory()
    session.flush()
    rows = [{"type": "base_quality_flag", "observation_id": observation.id, "target_id": None,
             "quality_flags": np.array([0, 1, 1 << 40])}]
    key = ["type", "observation_id"]  # the WHERE target_id IS NULL index
    assert upsert_rows(session.connection(), QualityFlagArray, rows, conflict=key,
                       update=["quality_flags"]) == UpsertResult(1, 0, 0)
    assert upsert_rows(session.connection(), QualityFlagArray, rows, conflict=key,
                       update=["quality_flags"]) == UpsertResult(0, 0, 1)
    rows[0]["quality_flags"] = np.array([2, 2])
    assert upsert_rows(session.connection(), QualityFlagArray, rows, conflict=key,
                       update=["quality_flags"]) == UpsertResult(0, 1, 0)
    flags = session.scalars(select(QualityFlagArray.quality_flags)
                            .where(QualityFlagArray.observation_id == observation.id)).all()
    assert len(flags) == 1
    np.testing.assert_array_equal(flags[0], [2, 2])
    # The default key (type, observation_id, target_id) cannot match a NULL target:
    # the partial index refuses the second copy instead of a silent duplicate.
    with pytest.raises(BulkLoadError):
        upsert_rows(session.connection(), QualityFlagArray, rows)
    without_target = [{k: v for k, v in rows[0].items() if k != "target_id"}]
    with pytest.raises(ValueError, match="lacks column.*target_id"):
        upsert_rows(session.connection(), QualityFlagArray, without_target, conflict=key)


@pytest.mark.parametrize("chunk_size", [1, 6, 7, 8])
def test_chunk_boundaries(session: Session, chunk_size: int) -> None:
    rows = _named(f"chunks {chunk_size}", 7)
    assert upsert_rows(session.connection(), PhotometricSource, rows, update="all",
                       chunk_size=chunk_size) == UpsertResult(7, 0, 0)
    rows[6]["description"] = "last"
    assert upsert_rows(session.connection(), PhotometricSource, iter(rows), update="all",
                       chunk_size=chunk_size) == UpsertResult(0, 1, 6)
    assert len(_sources(session, f"chunks {chunk_size}")) == 7


def test_footprints_through_upsert(session: Session) -> None:
    from lightcurvedb.core.geometry import SkyPolygon
    from lightcurvedb.rbh1 import GeometricRegion, RegionOfInterest

    rows = [{"name": f"upsert roi {i}", "region": GeometricRegion.BACKGROUND,
             "footprint": SkyPolygon(((i, 0.0), (i + 1.0, 0.0), (i + 1.0, 1.0)))}
            for i in range(3)]
    assert upsert_rows(session.connection(), RegionOfInterest, rows,
                       update="all") == UpsertResult(3, 0, 0)
    assert upsert_rows(session.connection(), RegionOfInterest, rows,
                       update="all") == UpsertResult(0, 0, 3)
    moved = SkyPolygon(((5.0, 5.0), (6.0, 5.0), (6.0, 6.0)))
    rows[0]["footprint"] = moved
    assert upsert_rows(session.connection(), RegionOfInterest, rows,
                       update="all") == UpsertResult(0, 1, 2)
    got = session.scalar(select(RegionOfInterest).where(RegionOfInterest.name == "upsert roi 0"))
    session.refresh(got)
    assert got.footprint == moved


def test_keys_and_updates_are_checked(session: Session) -> None:
    rows = [{"name": "checked", "description": "x"}]
    with pytest.raises(ValueError, match="not a unique key"):
        upsert_rows(session.connection(), PhotometricSource, rows, conflict="description")
    with pytest.raises(ValueError, match="does not supply"):
        upsert_rows(session.connection(), PhotometricSource, rows, update=["id"])
    with pytest.raises(ValueError, match="cannot update key"):
        upsert_rows(session.connection(), PhotometricSource, rows, update=["name"])
    with pytest.raises(ValueError, match="no unique key"):
        upsert_rows(session.connection(), PhotometricSource, [{"description": "x"}])
    with pytest.raises(ValueError, match="several unique keys"):
        upsert_rows(session.connection(), PhotometricSource, [{"id": 1, **rows[0]}])
    assert upsert_rows(session.connection(), PhotometricSource, []) == UpsertResult(0, 0, 0)
    assert _sources(session, "checked") == []


def test_validation_error_names_the_row(session: Session) -> None:
    observation = factories.ObservationFactory()
    session.flush()
    rows = [{"type": "base_quality_flag", "observation_id": observation.id, "target_id": None,
             "quality_flags": np.array([1.5])}]
    with pytest.raises(BulkLoadError, match="row 0, column 'quality_flags'"):
        upsert_rows(session.connection(), QualityFlagArray, rows,
                    conflict=["type", "observation_id"])


def test_upsert_progress(session: Session, capsys) -> None:
    upsert_rows(session.connection(), PhotometricSource, _named("progress upsert", 9),
                progress=True)
    final = capsys.readouterr().err.rstrip("\n").split("\r")[-1]
    assert final.startswith("photometric_source [") and " 9/9 " in final


def test_existing_id_under_another_key_is_refused(session: Session) -> None:
    target = factories.TargetFactory()
    first, second = factories.ObservationFactory(), factories.ObservationFactory()
    session.flush()
    copy_rows(session.connection(), DataSet, [{"target_id": target.id,
                                               "observation_id": first.id,
                                               "values": np.arange(2.0)}])
    (id_,) = session.scalars(select(DataSet.id).where(DataSet.target_id == target.id)).all()
    moved = [{"id": id_, "target_id": target.id, "observation_id": second.id,
              "values": np.arange(3.0)}]
    with pytest.raises(BulkLoadError, match=f"id={id_} already exists with other values "
                                            "of observation_id"):
        upsert_rows(session.connection(), DataSet, moved, conflict=["id", "observation_id"],
                    update="all")
    assert session.scalars(select(DataSet.observation_id)
                           .where(DataSet.target_id == target.id)).all() == [first.id]


@pytest.mark.parametrize("update", [None, "all"])
def test_one_id_twice_under_two_observations_is_refused(session: Session, update) -> None:
    target = factories.TargetFactory()
    first, second = factories.ObservationFactory(), factories.ObservationFactory()
    session.flush()
    next_id = (session.scalar(select(func.max(DataSet.id))) or 0) + 1000
    rows = [{"id": next_id, "target_id": target.id, "observation_id": obs.id,
             "values": np.arange(float(n))} for n, obs in ((2, first), (3, second))]
    with pytest.raises(BulkLoadError, match=f"id={next_id} appears more than once in the input "
                                            r"\(rows 0 and 1\)"):
        upsert_rows(session.connection(), DataSet, rows, conflict=["id", "observation_id"],
                    update=update)
    assert session.scalars(select(DataSet.id).where(DataSet.target_id == target.id)).all() == []
