"""The generated mermaid ERD matches the models it is drawn from."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import Column, ForeignKey, Integer, MetaData, String, Table

import lightcurvedb
from lightcurvedb import models
from lightcurvedb.core.types import NumpyArray, PathType, UTCDateTime
from lightcurvedb.erd import column_type_token, mermaid_erd

CORE_MODELS = (
    "Mission",
    "MissionCatalog",
    "Target",
    "TargetAlias",
    "Instrument",
    "Observation",
    "FITSFrame",
    "TargetSpecificTime",
    "PhotometricSource",
    "ProcessingMethod",
    "DataSet",
    "DataSetHierarchy",
    "QualityFlagArray",
    "CatalogValidation",
    "LoadedFile",
)

ENTITY_OPEN = re.compile(r"^    (\w+) \{$")
RELATIONSHIP = re.compile(r'^    (\w+) (\|\||\|o)--(o\{|o\|) (\w+) : "([\w, ]+)"$')


def parse(diagram: str) -> tuple[dict[str, list[list[str]]], list[tuple[str, str, str]]]:
    """Split a diagram into {entity: [attribute tokens]} and [(parent, child, label)].

    Fails on any line that is not part of the subset of mermaid syntax the
    generator is meant to produce.
    """
    lines = diagram.splitlines()
    assert lines[0] == "erDiagram"
    entities: dict[str, list[list[str]]] = {}
    relationships: list[tuple[str, str, str]] = []
    current: str | None = None
    for line in lines[1:]:
        if current is not None:
            if line == "    }":
                current = None
            else:
                assert line.startswith("        "), line
                entities[current].append(line.split())
            continue
        opened = ENTITY_OPEN.match(line)
        if opened:
            current = opened.group(1)
            assert current not in entities, f"entity {current} drawn twice"
            entities[current] = []
            continue
        related = RELATIONSHIP.match(line)
        assert related, f"not an entity or relationship line: {line!r}"
        relationships.append((related.group(1), related.group(4), related.group(5)))
    assert current is None, "unterminated entity block"
    return entities, relationships


@pytest.fixture(scope="module")
def diagram() -> str:
    return mermaid_erd()


@pytest.fixture(scope="module")
def parsed(diagram: str) -> tuple[dict[str, list[list[str]]], list[tuple[str, str, str]]]:
    return parse(diagram)


def test_one_entity_per_core_model(parsed) -> None:
    entities, _ = parsed
    assert sorted(entities) == sorted(CORE_MODELS)


def test_every_column_is_an_attribute_in_table_order(parsed) -> None:
    entities, _ = parsed
    for name in CORE_MODELS:
        table = getattr(models, name).__table__
        drawn = [tokens[1] for tokens in entities[name]]
        assert drawn == [column.name for column in table.columns], name


def test_attribute_lines_are_two_or_three_tokens(parsed) -> None:
    entities, _ = parsed
    for name, attributes in entities.items():
        for tokens in attributes:
            assert 2 <= len(tokens) <= 3, (name, tokens)
            type_token, column_name = tokens[:2]
            assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", type_token), (name, tokens)
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", column_name), (name, tokens)
            if len(tokens) == 3:
                assert set(tokens[2].split(",")) <= {"PK", "FK", "UK"}, (name, tokens)


def test_keys_are_marked(parsed) -> None:
    entities, _ = parsed
    keys = {(name, tokens[1]): tokens[2] if len(tokens) == 3 else ""
            for name, attributes in entities.items() for tokens in attributes}
    for name in CORE_MODELS:
        table = getattr(models, name).__table__
        for column in table.columns:
            marks = set(filter(None, keys[(name, column.name)].split(",")))
            assert ("PK" in marks) == column.primary_key, (name, column.name)
            assert ("FK" in marks) == bool(column.foreign_keys), (name, column.name)
    assert keys[("Mission", "name")] == "UK"
    assert keys[("Mission", "time_format_name")] == "UK"
    assert keys[("MissionCatalog", "name")] == "UK"
    assert keys[("PhotometricSource", "name")] == "UK"
    assert keys[("ProcessingMethod", "name")] == "UK"
    # Multi-column uniqueness, e.g. Target (catalog_id, name), is not drawn as UK.
    assert keys[("Target", "name")] == ""
    assert keys[("Target", "catalog_id")] == "FK"


def test_short_types(parsed) -> None:
    entities, _ = parsed
    types = {(name, tokens[1]): tokens[0]
             for name, attributes in entities.items() for tokens in attributes}
    assert types[("Mission", "id")] == "uuid"
    assert types[("Mission", "time_epoch")] == "decimal"
    assert types[("Mission", "name")] == "string"
    assert types[("Target", "id")] == "bigint"
    assert types[("Target", "name")] == "bigint"
    assert types[("MissionCatalog", "id")] == "int"
    assert types[("Instrument", "properties")] == "json"
    assert types[("FITSFrame", "simple")] == "bool"
    assert types[("FITSFrame", "bscale")] == "float"
    assert types[("FITSFrame", "file_path")] == "path"
    assert types[("QualityFlagArray", "created_on")] == "datetime"
    assert types[("DataSet", "values")] == "array_float64"
    assert types[("TargetSpecificTime", "barycentric_julian_dates")] == "array_float64"
    # Every numpy array column shows its own dtype.
    arrays = {(name, column.name): f"array_{column.type.dtype}"
              for name in CORE_MODELS for column in getattr(models, name).__table__.columns
              if isinstance(column.type, NumpyArray)}
    assert set(arrays) >= {("DataSet", "errors"), ("FITSFrame", "naxis_values"),
                           ("Observation", "cadence_reference"),
                           ("QualityFlagArray", "quality_flags")}
    assert {key: types[key] for key in arrays} == arrays


def test_every_foreign_key_is_a_relationship(parsed) -> None:
    entities, relationships = parsed
    by_table = {getattr(models, name).__table__.name: name for name in CORE_MODELS}
    expected = set()
    for name in CORE_MODELS:
        for constraint in getattr(models, name).__table__.foreign_key_constraints:
            parent = by_table[constraint.referred_table.name]
            label = ", ".join(column.name for column in constraint.columns)
            expected.add((parent, name, label))
    # with FITSFrame.instrument_id (the frame's detector), TargetAlias.target_id and
    # LoadedFile's target and observation
    assert len(expected) == 19
    assert set(relationships) == expected
    assert len(relationships) == len(expected)  # no line drawn twice


def test_relationship_cardinality(diagram: str) -> None:
    lines = set(diagram.splitlines())
    assert '    Mission ||--o{ MissionCatalog : "host_mission_id"' in lines
    assert '    MissionCatalog ||--o{ Target : "catalog_id"' in lines
    assert '    Observation ||--o{ DataSet : "observation_id"' in lines
    assert ('    DataSet ||--o{ DataSetHierarchy : "source_dataset_id, source_observation_id"'
            in lines)
    assert '    DataSet ||--o{ DataSetHierarchy : "child_dataset_id, child_observation_id"' in lines
    # Nullable foreign keys: zero or one parent.
    assert '    ProcessingMethod |o--o{ DataSet : "processing_method_id"' in lines
    assert '    Target |o--o{ QualityFlagArray : "target_id"' in lines


def test_instrument_self_reference(parsed, diagram: str) -> None:
    _, relationships = parsed
    assert ("Instrument", "Instrument", "parent_id") in relationships
    assert '    Instrument |o--o{ Instrument : "parent_id"' in diagram.splitlines()


def test_output_is_deterministic(diagram: str) -> None:
    assert mermaid_erd() == diagram
    assert mermaid_erd(tables=list(reversed(_core_tables()))) == diagram
    entities = [m.group(1) for m in map(ENTITY_OPEN.match, diagram.splitlines()) if m]
    assert entities == sorted(entities)
    relationship_lines = [line for line in diagram.splitlines() if RELATIONSHIP.match(line)]
    assert relationship_lines == sorted(relationship_lines)
    assert diagram.endswith(relationship_lines[-1] + "\n")


def _core_tables() -> list[Table]:
    return [getattr(models, name).__table__ for name in CORE_MODELS]


def test_default_is_the_core_tables_only() -> None:
    extra = Table("erd_test_unrelated", lightcurvedb.metadata,
                  Column("id", Integer, primary_key=True))
    try:
        entities, _ = parse(mermaid_erd())
        assert "erd_test_unrelated" not in entities
        assert sorted(entities) == sorted(CORE_MODELS)
    finally:
        lightcurvedb.metadata.remove(extra)


def test_table_selection_by_name_drops_dangling_relationships() -> None:
    entities, relationships = parse(mermaid_erd(lightcurvedb.metadata,
                                                tables=["dataset", "target"]))
    assert sorted(entities) == ["DataSet", "Target"]
    assert relationships == [("Target", "DataSet", "target_id")]
    # The foreign key to a table that is not drawn keeps its mark.
    assert ["int", "observation_id", "FK"] in entities["DataSet"]


def test_plain_metadata_uses_table_names_and_composite_keys() -> None:
    metadata = MetaData()
    Table("survey field", metadata, Column("id", Integer, primary_key=True),
          Column("code", String(8), unique=True))
    Table("exposure", metadata,
          Column("id", Integer, ForeignKey("survey field.id"), primary_key=True),
          Column("next_id", Integer, ForeignKey("exposure.id"), nullable=True))
    Table("dangling", metadata, Column("ref_id", Integer, ForeignKey("missing.id")))
    diagram = mermaid_erd(metadata)
    entities, relationships = parse(diagram)
    assert sorted(entities) == ["dangling", "exposure", "survey_field"]
    assert ["int", "id", "PK,FK"] in entities["exposure"]
    assert ["string", "code", "UK"] in entities["survey_field"]
    assert sorted(relationships) == [("exposure", "exposure", "next_id"),
                                     ("survey_field", "exposure", "id")]
    # A primary key that is also the foreign key is one-to-one.
    assert '    survey_field ||--o| exposure : "id"' in diagram.splitlines()


@pytest.mark.parametrize(("type_", "token"), [
    (NumpyArray("float32"), "array_float32"),
    (NumpyArray("bool"), "array_bool"),
    (NumpyArray("int16"), "array_int16"),
    (PathType(), "path"),
    (UTCDateTime(), "datetime"),
    (String(5), "string"),
])
def test_column_type_token(type_, token: str) -> None:
    assert column_type_token(type_) == token
