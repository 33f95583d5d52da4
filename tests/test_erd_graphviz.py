"""The Graphviz ERDs: every table of each area, one edge per foreign key, valid DOT."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

import lightcurvedb
import lightcurvedb.missions
import lightcurvedb.models
import lightcurvedb.radio
import lightcurvedb.rbh1
from lightcurvedb.core.base import Base
from lightcurvedb.erd import area_tables, column_type_token, graphviz_erd

NODE = re.compile(r'^  "([^"]+)" \[label=<<table (.*)>\];$')
EDGE = re.compile(r'^  "([^"]+)":"([^"]+)__out":e -> "([^"]+)":"([^"]+)":w \[(.*)\];$')
ROW = re.compile(r'<tr><td port="([^"]+)" align="left">([^<]+)</td>'
                 r'<td align="left"><font color="#555555">([^<]+)</font></td>'
                 r'<td port="[^"]+" align="left">(?:<b>([^<]*)</b>| )</td></tr>')


def parse(dot: str):
    """Return ({full node: [(column, type, marks)]}, {context node}, [edges])."""
    lines = dot.splitlines()
    assert lines[0].startswith("digraph ") and lines[-1] == "}"
    full, context, edges = {}, set(), []
    for line in lines[1:-1]:
        if line.startswith(("  graph [", "  node [", "  edge [")):
            continue
        node = NODE.match(line)
        if node:
            name, body = node.groups()
            assert name not in full and name not in context, f"{name} drawn twice"
            if 'bgcolor="#eeeeee"' in body:
                context.add(name)
            else:
                full[name] = [(r[1], r[2], r[3] or "") for r in ROW.findall(body)]
            continue
        edge = EDGE.match(line)
        assert edge, f"not a node or edge line: {line!r}"
        edges.append(edge.groups()[:4])
    return full, context, edges


def _module_tables(prefix: str) -> set[str]:
    """Tables whose own class (not a single-table subclass) is defined under ``prefix``."""
    tables = set()
    for mapper in Base.registry.mappers:
        inherits_table = mapper.inherits is not None and mapper.inherits.local_table is \
            mapper.local_table
        if mapper.class_.__module__.startswith(prefix) and not inherits_table:
            tables.add(mapper.local_table.fullname)
    return tables


def expected_tables(area: str) -> set[str]:
    everything = lightcurvedb.metadata.tables.values()
    return {
        "core": _module_tables("lightcurvedb.models"),
        "missions": _module_tables("lightcurvedb.missions"),
        "rbh1": {t.fullname for t in everything if t.schema == "rbh1"},
        "radio": {t.fullname for t in everything if t.schema == "radio"},
    }[area]


@pytest.fixture(scope="module", params=["core", "missions", "rbh1", "radio"])
def drawn(request):
    area = request.param
    return area, parse(graphviz_erd(area))


def test_every_table_of_the_area_is_a_full_node(drawn):
    area, (full, _, _) = drawn
    assert set(full) == expected_tables(area)
    assert len(full) >= {"core": 13, "missions": 6, "rbh1": 11, "radio": 14}[area]


def test_every_column_is_a_row_in_table_order_with_its_type_and_keys(drawn):
    _, (full, _, _) = drawn
    for name, rows in full.items():
        table = lightcurvedb.metadata.tables[name]
        assert [r[0] for r in rows] == [c.name for c in table.columns], name
        for (column_name, type_token, marks), column in zip(rows, table.columns, strict=True):
            assert type_token == column_type_token(column.type)
            assert ("PK" in marks.split()) == column.primary_key, (name, column_name)
            assert ("FK" in marks.split()) == bool(column.foreign_keys), (name, column_name)


def test_edges_are_the_foreign_keys_of_the_metadata(drawn):
    area, (full, context, edges) = drawn
    expected = Counter()
    referred_outside = set()
    for name in expected_tables(area):
        for fk in lightcurvedb.metadata.tables[name].foreign_key_constraints:
            parent = fk.elements[0].column.table.fullname
            expected[(name, fk.elements[0].parent.name, parent,
                      fk.elements[0].column.name)] += 1
            if parent not in full:
                referred_outside.add(parent)
    assert Counter(edges) == expected
    assert context == referred_outside
    assert sum(expected.values()) >= {"core": 16, "missions": 6, "rbh1": 15,
                                      "radio": 5}[area]


def test_the_areas_cover_every_shipped_table_once():
    seen = Counter()
    for area in ("core", "missions", "rbh1", "radio"):
        seen.update(t.fullname for t in area_tables(area))
    plugin_tables = {t.fullname for t in area_tables("plugins")}
    assert all(count == 1 for count in seen.values())
    assert set(seen) | plugin_tables == set(lightcurvedb.metadata.tables)
    assert not set(seen) & plugin_tables


def test_known_edges_and_ends():
    lines = graphviz_erd("core").splitlines()
    dataset = next(line for line in lines
                   if line.startswith('  "dataset":"processing_method_id__out"'))
    assert '-> "processing_method":"id":w' in dataset
    assert 'arrowhead="teeodot"' in dataset          # nullable: zero or one method
    catalog = next(line for line in lines if line.startswith('  "target":"catalog_id__out"'))
    assert 'arrowhead="teetee"' in catalog and 'arrowtail="crowodot"' in catalog
    tess = next(line for line in graphviz_erd("missions").splitlines()
                if line.startswith('  "tess_observation":"id__out"'))
    assert '-> "observation":"id":w' in tess and 'arrowtail="teeodot"' in tess  # one-to-one


def test_chosen_tables_of_another_metadata():
    metadata = MetaData()
    Table("parent", metadata, Column("key", Integer, primary_key=True))
    Table("child", metadata, Column("id", Integer, primary_key=True),
          Column("parent_key", ForeignKey("parent.key")),
          Column("ghost_id", Integer, ForeignKey("ghost.id")),   # a table metadata lacks
          Column("label", String(8), unique=True))
    full, context, edges = parse(graphviz_erd(metadata=metadata, tables=["child"]))
    assert list(full) == ["child"]
    assert full["child"] == [("id", "int", "PK"), ("parent_key", "int", "FK"),
                             ("ghost_id", "int", "FK"), ("label", "string", "UK")]
    assert context == {"parent"}
    assert edges == [("child", "parent_key", "parent", "key")]
    both = parse(graphviz_erd(metadata=metadata, tables=["parent", "child"]))
    assert set(both[0]) == {"parent", "child"} and both[1] == set()


def test_deterministic_and_unknown_area():
    assert graphviz_erd("rbh1") == graphviz_erd("rbh1")
    with pytest.raises(ValueError, match="unknown ERD area 'galaxies'; choose one of core"):
        graphviz_erd("galaxies")


@pytest.mark.parametrize("area", ["core", "missions", "rbh1", "radio"])
def test_dot_draws_it_without_complaint(area):
    dot = shutil.which("dot")
    assert dot, "Graphviz's dot is needed to draw the ERDs (Debian package graphviz)"
    result = subprocess.run([dot, "-Tsvg"], input=graphviz_erd(area), capture_output=True,
                            text=True, check=False)
    assert result.returncode == 0 and result.stderr == "", result.stderr
    for name in expected_tables(area):
        assert f">{name}</text>" in result.stdout
