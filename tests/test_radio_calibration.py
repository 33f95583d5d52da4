"""The DSA-110 calibration registry: validity windows, apply order, refused windows."""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from lightcurvedb.radio import CalTable
from lightcurvedb.radio import calibration_registry as cal

T0 = dt.datetime(2025, 10, 24, 12, 0, 0, tzinfo=dt.UTC)


def _set(session, name, start, end, types=("G", "K", "BP"), **kwargs):
    tables = {table_type: f"/cal/{name}.{table_type}" for table_type in types}
    return cal.register_calibration_set(session, name, tables, valid_start_mjd=start,
                                        valid_end_mjd=end, created_at=T0, **kwargs)


def _count(session):
    return session.scalar(sa.select(sa.func.count()).select_from(CalTable))


def _active(session, mjd, **kwargs):
    return [(row.table_type, row.order_index, row.set_name)
            for row in cal.active_caltables(session, mjd, **kwargs)]


def test_a_set_is_applied_k_bp_g(session):
    rows = _set(session, "bp_3c286_60972", 60972.0, 60973.0)
    assert [(row.table_type, row.order_index) for row in rows] == [("K", 0), ("BP", 1), ("G", 2)]
    assert _active(session, 60972.5) == [("K", 0, "bp_3c286_60972"), ("BP", 1, "bp_3c286_60972"),
                                         ("G", 2, "bp_3c286_60972")]
    stored = session.scalars(sa.select(CalTable).where(CalTable.table_type == "BP")).one()
    assert (stored.path, stored.active, stored.created_at) == ("/cal/bp_3c286_60972.BP", True, T0)


def test_validity_is_start_inclusive_end_exclusive(session):
    _set(session, "a", 60972.0, 60973.0)
    assert len(_active(session, 60972.0)) == 3
    assert len(_active(session, 60972.999999)) == 3
    assert _active(session, 60973.0) == []
    assert _active(session, 60971.999) == []


def test_consecutive_windows_hand_over(session):
    _set(session, "a", 60972.0, 60973.0)
    _set(session, "b", 60973.0, 60974.0)
    assert {name for _, _, name in _active(session, 60972.9)} == {"a"}
    assert {name for _, _, name in _active(session, 60973.0)} == {"b"}


def test_types_of_different_sets_combine(session):
    _set(session, "delays", 60970.0, 60980.0, types=("K",))
    _set(session, "bp_3c286", 60972.0, 60973.0, types=("BP",))
    cal.register_caltable(session, "/cal/g_60972.5", "G", set_name="g_60972", created_at=T0,
                          valid_start_mjd=60972.4, valid_end_mjd=60972.6)
    assert _active(session, 60972.5) == [("K", 0, "delays"), ("BP", 1, "bp_3c286"),
                                         ("G", 2, "g_60972")]
    assert _active(session, 60972.7) == [("K", 0, "delays"), ("BP", 1, "bp_3c286")]
    with pytest.raises(cal.MissingCalibrationError, match="no active G table valid at MJD"):
        cal.active_caltables(session, 60972.7, require_all=True)


@pytest.mark.parametrize("start, end, message", [
    (60973.0, 60972.0, r"\[60973.0, 60972.0\) is inverted"),
    (60972.0, 60972.0, "is empty"),
    (float("nan"), 60973.0, "valid_start_mjd must be a finite MJD"),
    (60972.0, float("inf"), "valid_end_mjd must be a finite MJD"),
    ("60972", 60973.0, "valid_start_mjd must be a finite MJD"),
])
def test_bad_windows_are_refused(session, start, end, message):
    with pytest.raises(cal.ValidityWindowError, match=message):
        _set(session, "bad", start, end)
    assert _count(session) == 0


def test_overlapping_windows_are_refused_and_nothing_is_written(session):
    _set(session, "a", 60972.0, 60973.0)
    cal.register_caltable(session, "/cal/k_later", "K", set_name="k_later",
                          valid_start_mjd=60973.0, valid_end_mjd=60974.0)
    with pytest.raises(cal.OverlappingWindowError, match="overlaps active table") as excinfo:
        _set(session, "b", 60972.9, 60973.5, types=("BP", "G"))
    assert excinfo.value.conflicts == ["/cal/a.BP", "/cal/a.G"]
    with pytest.raises(cal.OverlappingWindowError) as excinfo:
        _set(session, "c", 60973.5, 60975.0)      # only its K overlaps (k_later) ...
    assert excinfo.value.conflicts == ["/cal/k_later"]
    assert session.scalars(sa.select(CalTable.path).where(CalTable.set_name == "c")).all() == []
    assert _count(session) == 4
    with pytest.raises(cal.OverlappingWindowError):
        _set(session, "inside", 60972.2, 60972.3, types=("K",))   # a window inside another


def test_retired_sets_make_room(session):
    _set(session, "a", 60972.0, 60973.0)
    assert cal.retire_calibration_set(session, "a") == 3
    assert cal.retire_calibration_set(session, "a") == 0
    assert _active(session, 60972.5) == []
    _set(session, "a_redone", 60972.0, 60973.0)
    assert {name for _, _, name in _active(session, 60972.5)} == {"a_redone"}
    assert _count(session) == 6


def test_other_refusals(session):
    _set(session, "a", 60972.0, 60973.0, types=("K",))
    with pytest.raises(cal.DuplicateCalTableError, match="already registered: /cal/a.K"):
        cal.register_caltable(session, "/cal/a.K", "K", set_name="a2", valid_start_mjd=60980.0,
                              valid_end_mjd=60981.0)
    with pytest.raises(cal.CalibrationError, match="table type must be one of K, BP, G"):
        cal.register_caltable(session, "/cal/x", "B", set_name="x", valid_start_mjd=60980.0,
                              valid_end_mjd=60981.0)
    with pytest.raises(cal.CalibrationError, match="needs a name"):
        cal.register_calibration_set(session, " ", {"K": "/cal/y"}, valid_start_mjd=1.0,
                                     valid_end_mjd=2.0)
    with pytest.raises(cal.CalibrationError, match="naive datetime"):
        cal.register_caltable(session, "/cal/z", "G", set_name="z", valid_start_mjd=1.0,
                              valid_end_mjd=2.0, created_at=dt.datetime(2025, 1, 1))
    assert _count(session) == 1


def test_an_ambiguous_database_is_an_error_not_a_guess(session):
    # Rows written by other means (the pipeline itself) can overlap.
    for name in ("x", "y"):
        session.add(CalTable(set_name=name, path=f"/cal/{name}.G", table_type="G",
                             order_index=2, valid_start_mjd=60972.0, valid_end_mjd=60973.0,
                             created_at=T0))
    session.flush()
    with pytest.raises(cal.OverlappingWindowError, match="2 active G tables are valid") as exc:
        cal.active_caltables(session, 60972.5)
    assert exc.value.conflicts == ["/cal/x.G", "/cal/y.G"]
