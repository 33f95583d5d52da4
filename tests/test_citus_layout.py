"""The Citus layout: the shipped schema passes Citus's rules, and the checker finds each breach.

No Citus server: the rules are checked on the SQLAlchemy metadata, and the
constraint names the layout's SQL uses are checked against the migrated
PostgreSQL database.
"""

from __future__ import annotations

import pathlib
import re

import pytest
from sqlalchemy import (
    Column,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    inspect,
)
from sqlalchemy.engine import Engine

from lightcurvedb import Base, migrations
from lightcurvedb.citus import (
    LAYOUT,
    CitusLayout,
    DistributedTable,
    DroppedConstraint,
    ReplacedConstraint,
    distribution_statements,
    layout_problems,
    postgresql_partition_keys,
)

DOCS = pathlib.Path(__file__).resolve().parents[1] / "docs" / "citus.rst"


def copy_of(metadata: MetaData) -> MetaData:
    copy = MetaData(naming_convention=dict(metadata.naming_convention))
    for table in metadata.sorted_tables:
        table.to_metadata(copy)
    return copy


def core_metadata() -> MetaData:
    """The schema without the tables of installed mission plugins (the docs show the core)."""
    metadata = migrations.target_metadata()
    plugin_tables = {mapper.local_table.fullname for mapper in Base.registry.mappers
                     if not mapper.class_.__module__.startswith("lightcurvedb.")
                     and (mapper.inherits is None
                          or mapper.local_table is not mapper.inherits.local_table)}
    core = MetaData(naming_convention=dict(metadata.naming_convention))
    for table in metadata.sorted_tables:
        if table.fullname not in plugin_tables:
            table.to_metadata(core)
    return core


# --- the shipped layout ----------------------------------------------------------------------

def test_shipped_layout_has_no_problems_with_plugins_installed():
    metadata = migrations.target_metadata()
    assert "kepler_observation" in metadata.tables      # the example downstream mission
    assert layout_problems(metadata) == []


def test_every_table_is_placed_and_new_ones_must_be():
    metadata = migrations.target_metadata()
    roles = LAYOUT.roles(metadata)
    assert set(roles) == set(metadata.tables)
    assert roles["kepler_observation"].kind == "distributed"      # by inheritance
    assert (roles["kepler_observation"].column, roles["kepler_observation"].group) == \
        ("id", roles["observation"].group)
    assert roles["tess_ffi_frame"].kind == roles["kepler_ffi_frame"].kind == "reference"
    assert roles["radio.ingest_queue"].kind == "local"

    grown = copy_of(metadata)
    Table("light_curve_notes", grown, Column("id", Integer, primary_key=True),
          Column("text", String))
    Table("gaia_observation", grown,
          Column("id", ForeignKey("observation.id"), primary_key=True), Column("scan", Integer))
    assert layout_problems(grown) == [
        "light_curve_notes: not placed in the Citus layout (distributed, reference or local)"]
    assert ("SELECT create_distributed_table('gaia_observation', 'id', "
            "colocate_with => 'observation');") in distribution_statements(grown)


def test_statements_are_in_dependency_order():
    metadata = migrations.target_metadata()
    statements = distribution_statements(metadata)
    stages = [0 if s.startswith("ALTER TABLE") else 1 if "create_reference_table" in s else 2
              for s in statements]
    assert stages == sorted(stages) and set(stages) == {0, 1, 2}
    altered = {s.split()[2] for s in statements if s.startswith("ALTER TABLE")}
    assert altered == {"dataset_hierarchy", "fits_frame", "loaded_file",
                       "radio.ese_candidates", "radio.photometry"}
    assert statements[0] == ("ALTER TABLE dataset_hierarchy DROP CONSTRAINT "
                             "fk_dataset_hierarchy_source_dataset_id_dataset;")
    created = [re.search(r"\('([^']+)'", s).group(1) for s in statements if "create_" in s]
    dropped = {d.constraint for d in LAYOUT.dropped}
    for table in metadata.sorted_tables:   # every table a kept key references is created first
        for fk in table.foreign_keys:
            parent = fk.column.table.fullname
            if fk.constraint.name in dropped:
                continue
            if parent != table.fullname and {parent, table.fullname} <= set(created):
                assert created.index(parent) < created.index(table.fullname), (parent, table)
    assert "SELECT create_distributed_table('observation', 'id', colocate_with => 'none');" \
        in statements
    assert ("SELECT create_distributed_table('dataset', 'observation_id', "
            "colocate_with => 'observation');") in statements
    assert ("SELECT create_distributed_table('radio.photometry', 'source_id', "
            "colocate_with => 'radio.variability_stats');") in statements
    assert "SELECT create_reference_table('target');" in statements


def test_docs_show_exactly_the_core_statements():
    generated = distribution_statements(core_metadata())
    documented = [line.strip() for line in DOCS.read_text().splitlines()
                  if line.strip().startswith(("SELECT create_", "ALTER TABLE"))]
    assert documented == generated, (
        "docs/citus.rst is out of date; paste the output of distribution_statements() "
        "for the core schema (see the test's core_metadata)")
    assert not any("kepler" in line for line in documented)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_named_constraints_and_keys_match_migrated_postgresql(engine: Engine):
    """The SQL names constraints as PostgreSQL has them; partitioned keys are as assumed."""
    inspector = inspect(engine)

    def split(name: str) -> tuple[str | None, str]:
        schema, _, table = name.rpartition(".")
        return schema or None, table

    def constraint_names(name: str) -> set[str]:
        schema, table = split(name)
        return ({inspector.get_pk_constraint(table, schema=schema)["name"]}
                | {fk["name"] for fk in inspector.get_foreign_keys(table, schema=schema)}
                | {uq["name"] for uq in inspector.get_unique_constraints(table, schema=schema)})

    for item in (*LAYOUT.dropped, *LAYOUT.replaced):
        assert item.constraint in constraint_names(item.table), item
    metadata = migrations.target_metadata()
    for name, key in postgresql_partition_keys().items():
        schema, table = split(name)
        model = [c.name for c in metadata.tables[name].primary_key.columns]
        assert inspector.get_pk_constraint(table, schema=schema)["constrained_columns"] == \
            model + [key]


# --- the checker on small schemas ---------------------------------------------------------------

def small_schema() -> MetaData:
    """An observation-sharded miniature: shard, facts, a catalog (reference), a local log."""
    metadata = MetaData(naming_convention={"pk": "pk_%(table_name)s"})
    Table("catalog", metadata, Column("id", Integer, primary_key=True))
    Table("log", metadata, Column("id", Integer, primary_key=True))
    Table("shard", metadata, Column("id", Integer, primary_key=True))
    Table("fact", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", ForeignKey("shard.id", ondelete="CASCADE"), primary_key=True),
          Column("catalog_id", ForeignKey("catalog.id")),
          UniqueConstraint("catalog_id", "shard_id", name="uq_fact"))
    return metadata


def small_layout(**changes) -> CitusLayout:
    layout = {"distributed": (DistributedTable("shard", "id", "g"),
                              DistributedTable("fact", "shard_id", "g")),
              "reference": frozenset({"catalog"}), "local": frozenset({"log"})}
    layout.update(changes)
    return CitusLayout(**layout)


def test_small_schema_is_valid_as_designed():
    assert layout_problems(small_schema(), small_layout()) == []
    assert distribution_statements(small_schema(), small_layout()) == [
        "SELECT create_reference_table('catalog');",
        "SELECT create_distributed_table('shard', 'id', colocate_with => 'none');",
        "SELECT create_distributed_table('fact', 'shard_id', colocate_with => 'shard');"]


def test_keys_without_the_distribution_column():
    metadata = small_schema()
    Table("event", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", ForeignKey("shard.id"), nullable=False),
          Column("code", String), UniqueConstraint("code", name="uq_event_code"),
          Index("ix_event_code_id", "code", "id", unique=True))
    layout = small_layout(distributed=(*small_layout().distributed,
                                       DistributedTable("event", "shard_id", "g")))
    assert layout_problems(metadata, layout) == [
        "event: primary key pk_event (id) does not include the distribution column shard_id",
        "event: unique constraint uq_event_code (code) does not include the distribution "
        "column shard_id",
        "event: unique index ix_event_code_id (code, id) does not include the distribution "
        "column shard_id"]


def test_missing_or_nullable_distribution_column_and_type_mismatch():
    metadata = small_schema()
    Table("loose", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", Integer, nullable=True), UniqueConstraint("id", "shard_id"))
    Table("texty", metadata, Column("shard_id", String, primary_key=True))
    Table("orphan", metadata, Column("id", Integer, primary_key=True))
    layout = small_layout(distributed=(
        *small_layout().distributed, DistributedTable("loose", "shard_id", "g"),
        DistributedTable("texty", "shard_id", "g"), DistributedTable("orphan", "shard_id", "g")))
    problems = layout_problems(metadata, layout)
    assert "orphan: distribution column shard_id does not exist" in problems
    assert ("loose: distribution column shard_id is nullable (Citus cannot place a row whose "
            "distribution column is NULL)") in problems
    assert ("loose: primary key pk_loose (id) does not include the distribution column "
            "shard_id") in problems
    assert [p for p in problems if p.startswith("texty")] == [
        "texty: distribution column shard_id is VARCHAR but loose in group 'g' is INTEGER"]


def test_foreign_keys_between_distributed_tables():
    metadata = small_schema()
    Table("other", metadata, Column("id", Integer, primary_key=True))
    Table("wrong_column", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", Integer, primary_key=True),
          Column("other_shard", ForeignKey("shard.id", name="fk_wrong_shard")))
    Table("wrong_group", metadata,
          Column("other_id", ForeignKey("other.id", name="fk_wrong_group"), primary_key=True))
    Table("set_null", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", Integer, primary_key=True),
          ForeignKeyConstraint(["shard_id"], ["shard.id"], name="fk_set_null",
                               ondelete="SET NULL", onupdate="CASCADE"))
    layout = small_layout(distributed=(
        *small_layout().distributed, DistributedTable("other", "id", "h"),
        DistributedTable("wrong_column", "shard_id", "g"),
        DistributedTable("wrong_group", "other_id", "g"),
        DistributedTable("set_null", "shard_id", "g")))
    assert sorted(layout_problems(metadata, layout)) == sorted([
        "wrong_column: foreign key fk_wrong_shard (other_shard) -> shard: does not map the "
        "distribution column shard_id to shard.id",
        "wrong_group: foreign key fk_wrong_group (other_id) -> other: the tables are not "
        "co-located (groups 'g' and 'h')",
        "set_null: foreign key fk_set_null (shard_id) -> shard: ON DELETE SET NULL is not "
        "supported on a foreign key that includes the distribution column shard_id",
        "set_null: foreign key fk_set_null (shard_id) -> shard: ON UPDATE CASCADE is not "
        "supported on a foreign key that includes the distribution column shard_id"])


def test_foreign_keys_across_table_kinds():
    metadata = small_schema()
    Table("ref_to_shard", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", ForeignKey("shard.id", name="fk_r_d")))
    Table("ref_to_log", metadata, Column("id", Integer, primary_key=True),
          Column("log_id", ForeignKey("log.id", name="fk_r_l")))
    Table("local_to_shard", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", ForeignKey("shard.id", name="fk_l_d")))
    Table("local_to_catalog", metadata, Column("id", Integer, primary_key=True),
          Column("catalog_id", ForeignKey("catalog.id", name="fk_l_r")),
          Column("log_id", ForeignKey("log.id", name="fk_l_l")))
    Table("shard_to_log", metadata, Column("shard_id", Integer, primary_key=True),
          Column("log_id", ForeignKey("log.id", name="fk_d_l")))
    layout = small_layout(
        distributed=(*small_layout().distributed, DistributedTable("shard_to_log", "shard_id",
                                                                   "g")),
        reference=frozenset({"catalog", "ref_to_shard", "ref_to_log"}),
        local=frozenset({"log", "local_to_shard", "local_to_catalog"}))
    assert sorted(layout_problems(metadata, layout)) == sorted([
        "ref_to_shard: foreign key fk_r_d (shard_id) -> shard: a reference table cannot "
        "reference a distributed table",
        "ref_to_log: foreign key fk_r_l (log_id) -> log: a reference table cannot reference a "
        "local table",
        "local_to_shard: foreign key fk_l_d (shard_id) -> shard: a local table cannot "
        "reference a distributed table",
        "shard_to_log: foreign key fk_d_l (log_id) -> log: a distributed table cannot "
        "reference a local table"])


def test_dropped_and_replaced_constraints_are_applied_and_must_exist():
    metadata = small_schema()
    Table("edge", metadata, Column("id", Integer, primary_key=True),
          Column("shard_id", Integer, nullable=False),
          Column("source_shard", Integer, nullable=False),
          ForeignKeyConstraint(["shard_id"], ["shard.id"], name="fk_edge_child",
                               onupdate="CASCADE"),
          ForeignKeyConstraint(["source_shard"], ["shard.id"], name="fk_edge_source"))
    base = small_layout(distributed=(*small_layout().distributed,
                                     DistributedTable("edge", "shard_id", "g")))
    assert len(layout_problems(metadata, base)) == 3     # the PK, ON UPDATE, the source FK
    fixed = CitusLayout(
        base.distributed, base.reference, base.local,
        dropped=(DroppedConstraint("edge", "fk_edge_source", "cross-shard"),),
        replaced=(ReplacedConstraint("edge", "pk_edge", ("id", "shard_id"), "sharded"),
                  ReplacedConstraint("edge", "fk_edge_child", ("shard_id",), "no ON UPDATE",
                                     references=("shard.id",), ondelete="CASCADE")))
    assert layout_problems(metadata, fixed) == []
    assert distribution_statements(metadata, fixed)[:3] == [
        "ALTER TABLE edge DROP CONSTRAINT fk_edge_source;",
        "ALTER TABLE edge DROP CONSTRAINT pk_edge, ADD CONSTRAINT pk_edge PRIMARY KEY "
        "(id, shard_id);",
        "ALTER TABLE edge DROP CONSTRAINT fk_edge_child, ADD CONSTRAINT fk_edge_child "
        "FOREIGN KEY (shard_id) REFERENCES shard (id) ON DELETE CASCADE;"]
    stale = CitusLayout(fixed.distributed, fixed.reference | {"gone"}, fixed.local,
                        dropped=(*fixed.dropped, DroppedConstraint("edge", "fk_nope", "x")),
                        replaced=fixed.replaced)
    assert layout_problems(metadata, stale) == [
        "gone: in the Citus layout but not in the schema",
        "edge: constraint fk_nope named in the Citus layout does not exist"]
