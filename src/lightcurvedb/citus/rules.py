"""Citus's rules on keys and foreign keys, checked against SQLAlchemy metadata.

The keys checked are the ones the migrated PostgreSQL database has: on the
tables partitioned by migration 0008 the primary key also holds the partition
key (:func:`postgresql_partition_keys`), and the layout's replaced and dropped
constraints are applied first.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import ForeignKeyConstraint, MetaData, PrimaryKeyConstraint, Table, UniqueConstraint
from sqlalchemy.dialects import postgresql

from lightcurvedb.citus.layout import LAYOUT, CitusLayout, ReplacedConstraint, TableRole

__all__ = ["layout_problems", "postgresql_partition_keys"]

#: Foreign-key actions Citus refuses when the key holds the distribution column.
_REFUSED_ACTIONS = {"ondelete": ("SET NULL", "SET DEFAULT"),
                    "onupdate": ("SET NULL", "SET DEFAULT", "CASCADE")}
#: Foreign keys Citus refuses outright, by (referencing, referenced) table kind.
_REFUSED_KINDS = {
    ("distributed", "local"): "a distributed table cannot reference a local table",
    ("reference", "distributed"): "a reference table cannot reference a distributed table",
    ("reference", "local"): "a reference table cannot reference a local table",
    ("local", "distributed"): "a local table cannot reference a distributed table",
}


def postgresql_partition_keys() -> dict[str, str]:
    """Return ``{table: partition column}`` of the tables partitioned on PostgreSQL.

    Their primary keys there are the model's plus the partition column (see
    :mod:`lightcurvedb.partitions`).
    """
    from lightcurvedb import partitions

    keys = dict.fromkeys(partitions.OBSERVATION_PARTITIONED, "observation_id")
    keys[partitions.PHOTOMETRY] = "measured_at"
    return keys


@dataclass(frozen=True)
class _ForeignKey:
    name: str
    child: Table
    parent: str
    pairs: tuple[tuple[str, str], ...]
    ondelete: str | None
    onupdate: str | None


def _keys(table: Table, replaced: Mapping[str, ReplacedConstraint],
          partition_key: str | None) -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    uniques = sorted((c for c in table.constraints if isinstance(c, UniqueConstraint)),
                     key=lambda c: str(c.name))
    for constraint in (table.primary_key, *uniques):
        columns = [c.name for c in constraint.columns]
        if isinstance(constraint, PrimaryKeyConstraint):
            if not columns:
                continue
            if partition_key and partition_key not in columns:
                columns.append(partition_key)
            what = "primary key"
        else:
            what = "unique constraint"
        if constraint.name in replaced:
            columns = list(replaced[str(constraint.name)].columns)
        found.append((f"{what} {constraint.name}", columns))
    found += [(f"unique index {index.name}", [c.name for c in index.columns])
              for index in sorted(table.indexes, key=lambda i: str(i.name)) if index.unique]
    return found


def _foreign_keys(table: Table, replaced: Mapping[str, ReplacedConstraint],
                  dropped: set[str]) -> list[_ForeignKey]:
    found = []
    for fk in sorted(table.foreign_key_constraints, key=lambda c: str(c.name)):
        name = str(fk.name)
        if name in dropped:
            continue
        new = replaced.get(name)
        if new is None:
            pairs = tuple((e.parent.name, e.column.name) for e in fk.elements)
            found.append(_ForeignKey(name, table, fk.referred_table.fullname, pairs,
                                     fk.ondelete, fk.onupdate))
        else:
            parent = new.references[0].rpartition(".")[0]
            pairs = tuple(zip(new.columns, (r.rpartition(".")[2] for r in new.references),
                              strict=True))
            found.append(_ForeignKey(name, table, parent, pairs, new.ondelete, None))
    return found


def _check_distributed(table: Table, role: TableRole, keys: list[tuple[str, list[str]]]
                       ) -> list[str]:
    name, column = table.fullname, str(role.column)
    if column not in table.c:
        return [f"{name}: distribution column {column} does not exist"]
    problems = []
    if table.c[column].nullable:
        problems.append(f"{name}: distribution column {column} is nullable (Citus cannot "
                        "place a row whose distribution column is NULL)")
    problems += [f"{name}: {what} ({', '.join(columns)}) does not include the distribution "
                 f"column {column}" for what, columns in keys if column not in columns]
    return problems


def _check_foreign_key(fk: _ForeignKey, roles: Mapping[str, TableRole]) -> list[str]:
    child_role, parent_role = roles.get(fk.child.fullname), roles.get(fk.parent)
    if child_role is None or parent_role is None:
        return []       # reported as not placed
    where = (f"{fk.child.fullname}: foreign key {fk.name} "
             f"({', '.join(c for c, _ in fk.pairs)}) -> {fk.parent}")
    problems = []
    if child_role.kind == "distributed" and child_role.column in [c for c, _ in fk.pairs]:
        for action, refused in _REFUSED_ACTIONS.items():
            value = (getattr(fk, action) or "").upper()
            if value in refused:
                problems.append(f"{where}: ON {action[2:].upper()} {value} is not supported "
                                "on a foreign key that includes the distribution column "
                                f"{child_role.column}")
    kinds = (child_role.kind, parent_role.kind)
    if kinds == ("distributed", "distributed"):
        if child_role.group != parent_role.group:
            problems.append(f"{where}: the tables are not co-located (groups "
                            f"{child_role.group!r} and {parent_role.group!r})")
        if (child_role.column, parent_role.column) not in fk.pairs:
            problems.append(f"{where}: does not map the distribution column "
                            f"{child_role.column} to {fk.parent}.{parent_role.column}")
    elif kinds in _REFUSED_KINDS:
        problems.append(f"{where}: {_REFUSED_KINDS[kinds]}")
    return problems


def _layout_references(metadata: MetaData, layout: CitusLayout) -> list[str]:
    problems = [f"{name}: in the Citus layout but not in the schema"
                for name in layout.listed() if name not in metadata.tables]
    kinds = {(t.fullname, str(c.name)): c for t in metadata.tables.values()
             for c in t.constraints}
    named = [(d.table, d.constraint) for d in layout.dropped]
    named += [(r.table, r.constraint) for r in layout.replaced]
    problems += [f"{table}: constraint {constraint} named in the Citus layout does not exist"
                 for table, constraint in named if (table, constraint) not in kinds]
    for new in layout.replaced:
        old = kinds.get((new.table, new.constraint))
        if isinstance(old, ForeignKeyConstraint) != bool(new.references):
            problems.append(f"{new.table}: constraint {new.constraint} is replaced by one of "
                            "another kind")
    return problems


def _pg_type(table: Table, column: str) -> str:
    return str(table.c[column].type.compile(dialect=postgresql.dialect()))


def layout_problems(metadata: MetaData, layout: CitusLayout | None = None
                    ) -> list[str]:
    """Return what Citus would refuse when applying ``layout`` to ``metadata`` (empty if none).

    Checked, after the layout's dropped and replaced constraints are applied
    and with the primary keys the partitioned tables have on PostgreSQL:

    * every table is placed (distributed, reference or local), and every
      table and constraint the layout names exists;
    * a distributed table has its distribution column, NOT NULL, in its
      primary key and in every unique constraint and unique index;
    * the tables of a co-location group have distribution columns of one type;
    * a foreign key between distributed tables joins co-located tables and
      maps the distribution column to the distribution column;
    * a foreign key that includes a distribution column has no ON DELETE SET
      NULL/SET DEFAULT and no ON UPDATE SET NULL/SET DEFAULT/CASCADE;
    * no foreign key goes from a reference or local table to a distributed
      one, nor from a distributed or reference table to a local one.

    Parameters
    ----------
    metadata : sqlalchemy.MetaData
        The schema, e.g. :func:`lightcurvedb.migrations.target_metadata`.
    layout : CitusLayout, optional
        Default (None): :data:`~lightcurvedb.citus.LAYOUT`.

    Returns
    -------
    list of str
        One sentence per problem, naming the table and the constraint.
    """
    layout = LAYOUT if layout is None else layout
    roles = layout.roles(metadata)
    problems = [f"{name}: not placed in the Citus layout (distributed, reference or local)"
                for name in metadata.tables if name not in roles]
    problems += _layout_references(metadata, layout)
    partition_keys = postgresql_partition_keys()
    group_types: dict[str, tuple[str, str]] = {}
    for table in metadata.sorted_tables:
        role = roles.get(table.fullname)
        if role is None:
            continue
        replaced = {r.constraint: r for r in layout.replaced if r.table == table.fullname}
        dropped = {d.constraint for d in layout.dropped if d.table == table.fullname}
        if role.kind == "distributed" and role.column is not None:
            keys = _keys(table, replaced, partition_keys.get(table.fullname))
            problems += _check_distributed(table, role, keys)
            if role.column in table.c and role.group is not None:
                kind = _pg_type(table, role.column)
                first, first_kind = group_types.setdefault(role.group, (table.fullname, kind))
                if kind != first_kind:
                    problems.append(f"{table.fullname}: distribution column {role.column} is "
                                    f"{kind} but {first} in group {role.group!r} is {first_kind}")
        for fk in _foreign_keys(table, replaced, dropped):
            problems += _check_foreign_key(fk, roles)
    return problems
