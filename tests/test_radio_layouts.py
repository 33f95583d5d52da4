"""Every DSA-110 service on every layout: the pipeline's four files, one file, PostgreSQL.

The per-layout tests run the service families of :mod:`radio_families` on each
layout of the ``layout`` fixture (:mod:`radio_layouts`);
:func:`test_results_are_identical_on_every_layout` runs them all on all
layouts and compares what was returned and stored, row for row.
"""

from __future__ import annotations

import contextlib

import numpy as np
import pytest
import sqlalchemy as sa

import radio_layouts
from lightcurvedb.models import DataSet
from lightcurvedb.radio import ESECandidate, IngestGroup, Source, VariabilityStats, queue
from radio_families import (
    SCINTILLATING,
    SCINTILLATING_JY,
    calibration_family,
    count,
    frontend_family,
    lightcurve_family,
    products_family,
    queue_family,
    sources_family,
    variability_family,
)
from radio_layouts import LAYOUTS, open_layout, stored_rows

layout = radio_layouts.layout   # the fixture: every layout in turn


# -- per layout -----------------------------------------------------------------------------

def test_queue_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        queue_family(session, tmp_path)


def test_calibration_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        calibration_family(session, tmp_path)


def test_products_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        products_family(session, tmp_path)


def test_variability_and_ese_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        products_family(session, tmp_path)
        variability_family(session, tmp_path)
    with layout.session() as session:                         # committed, in their file
        assert count(session, ESECandidate) == 1 and count(session, VariabilityStats) == 2


def test_master_sources_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        sources_family(session, tmp_path)


def test_frontend_on_every_layout(layout, tmp_path):
    with layout.session() as session:
        products_family(session, tmp_path)
        variability_family(session, tmp_path)
        frontend_family(session, tmp_path)


FAMILIES = {"ingest": queue_family, "cal_registry": calibration_family,
            "products": products_family, "master_sources": sources_family}


def test_results_are_identical_on_every_layout(tmp_path, request, postgres_server):
    base = tmp_path / "files"
    base.mkdir()
    results, rows = {}, {}
    for name in LAYOUTS:
        with open_layout(name, tmp_path / name, request) as opened, opened.session() as session:
            returned = {family.__name__: family(session, base) for family in (
                queue_family, calibration_family, products_family, variability_family,
                sources_family, frontend_family)}
            session.commit()
            results[name], rows[name] = returned, stored_rows(session)
    assert sum(len(table) for table in rows["postgresql"].values()) == 35
    for name in LAYOUTS[1:]:
        assert results[name] == results[LAYOUTS[0]], name
        assert rows[name] == rows[LAYOUTS[0]], name


def test_each_service_writes_its_own_file(tmp_path, request):
    """On the four files, each group's services change that group's file and no other."""
    with open_layout("pipeline_files", tmp_path, request) as opened:
        for group, family in FAMILIES.items():
            before = opened.dumps()
            with opened.session() as session:
                family(session, tmp_path)
                if group == "products":
                    variability_family(session, tmp_path)
                    frontend_family(session, tmp_path)
                session.commit()
            after = opened.dumps()
            assert [g for g in before if before[g] != after[g]] == [group]


# -- light curves: the core tables are in a lightcurvedb database --------------------------

def test_lightcurve_on_every_layout(layout, tmp_path, request):
    """One database: its own core tables; the pipeline's databases: core= another one."""
    with contextlib.ExitStack() as stack:
        options = {}
        if not layout.has_core:
            core = stack.enter_context(open_layout("sqlite", tmp_path / "core", request))
            options["core"] = core.binds
        session = stack.enter_context(layout.session(**options))
        products_family(session, tmp_path)
        session.commit()
        before = layout.dumps() if layout.files and not layout.has_core else None
        result = lightcurve_family(session, tmp_path)
        assert result["values"] == pytest.approx(np.array(SCINTILLATING_JY) * 1000)
        if before is not None:              # nothing is written to the pipeline's databases
            assert layout.dumps() == before
        if not layout.has_core:
            with core.session() as other:
                assert count(other, DataSet) == 1


def test_lightcurves_are_identical_with_a_core_database(tmp_path, request, postgres_server):
    base = tmp_path / "files"
    base.mkdir()
    results = {}
    for name in LAYOUTS:
        with contextlib.ExitStack() as stack:
            opened = stack.enter_context(open_layout(name, tmp_path / name, request))
            options = {}
            if not opened.has_core:
                options["core"] = stack.enter_context(
                    open_layout("sqlite", tmp_path / f"{name}-core", request)).binds
            session = stack.enter_context(opened.session(**options))
            products_family(session, base)
            results[name] = lightcurve_family(session, base)
    for name in LAYOUTS[1:]:
        assert results[name] == results[LAYOUTS[0]], name


def test_lightcurve_without_core_tables_is_refused(tmp_path, request):
    from lightcurvedb.radio.targets import CoreDatabaseError, materialise_lightcurve

    for name, message in (
            ("pipeline_files", "no lightcurvedb database for the core tables (target, "
                               "data_set, ...): the session reaches only DSA-110 databases "
                               "such as the pipeline's four files; open it with "
                               "radio_session(..., core=URL) of a migrated lightcurvedb "
                               "database"),
            ("pipeline_file", f"sqlite:///{tmp_path / 'pipeline_file' / 'radio.sqlite3'} has "
                              "no lightcurvedb core tables (no 'target' table): run 'lcdb db "
                              "upgrade' on it")):
        with open_layout(name, tmp_path / name, request) as opened:
            with opened.session() as session:
                products_family(session, tmp_path / name)
            before = opened.dumps()
            with opened.session() as session:
                with pytest.raises(CoreDatabaseError) as refused:
                    materialise_lightcurve(session, SCINTILLATING)
                session.commit()
            assert str(refused.value) == message
            assert "\n" not in message and opened.dumps() == before


# -- naming the pipeline's files -------------------------------------------------------------

def test_state_databases_names_the_four_files(tmp_path, monkeypatch):
    from lightcurvedb.radio.binding import (
        PIPELINE_FILES,
        RadioLayoutError,
        radio_session,
        state_databases,
    )
    from lightcurvedb.testing import radio_ddl

    assert PIPELINE_FILES == radio_ddl.DATABASE_FILES
    paths = radio_ddl.create_pipeline_databases(tmp_path / "state")
    monkeypatch.chdir(tmp_path)
    urls = state_databases("state")                              # relative: from here
    assert {group: url.database for group, url in urls.items()} == {
        group: str(path) for group, path in paths.items()}
    with radio_session(urls) as session:
        assert queue.queue_counts(session)["pending"] == 0
        for engine in {session.get_bind(model) for model in (IngestGroup, Source)}:
            engine.dispose()
    paths["products"].unlink()
    paths["master_sources"].unlink()
    with pytest.raises(RadioLayoutError) as refused:
        state_databases(tmp_path / "state")
    assert str(refused.value) == (
        f"DSA-110 state directory {tmp_path / 'state'} lacks products.sqlite3, "
        "catalogs/master_sources.sqlite3 (the pipeline creates them; nothing was created)")
    assert not paths["products"].exists() and not paths["master_sources"].exists()
    with pytest.raises(RadioLayoutError, match=r"^\S+/nowhere: no such DSA-110 state directory$"):
        state_databases(tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()


def test_core_is_the_default_bind(tmp_path, request):
    from lightcurvedb.models import Target

    with open_layout("pipeline_files", tmp_path / "radio", request) as opened, \
            open_layout("sqlite", tmp_path / "core", request) as core:
        with opened.session(core=core.binds) as session:
            assert session.get_bind(Target) is core.binds
            assert session.get_bind(Source) is opened.binds["master_sources"]
            assert session.execute(sa.text("SELECT count(*) FROM target")).scalar() == 0
        with pytest.raises(TypeError, match="give core= or bind=, not both"):
            opened.session(core=core.binds, bind=core.binds)
        with opened.session() as session, pytest.raises(sa.exc.UnboundExecutionError):
            session.get_bind(Target)
