"""The Citus layout of the schema, as data (:data:`LAYOUT`), its SQL and its checker.

Every table is *distributed* (sharded by one column, co-located with the
tables it joins), a *reference* table (copied to every node) or *local* (on
the coordinator only). :func:`distribution_statements` gives the SQL that
turns a migrated database into that layout on a Citus coordinator;
:func:`layout_problems` checks the SQLAlchemy metadata against Citus's rules,
so a model change that Citus would reject fails a test instead of a
deployment. Nothing here needs a Citus server. See :doc:`/citus`::

    from lightcurvedb import citus, migrations

    metadata = migrations.target_metadata()
    assert citus.layout_problems(metadata) == []
    for statement in citus.distribution_statements(metadata):
        print(statement)
"""

from __future__ import annotations

from sqlalchemy import ForeignKeyConstraint, MetaData, PrimaryKeyConstraint

from lightcurvedb.citus.layout import (
    LAYOUT,
    CitusLayout,
    DistributedTable,
    DroppedConstraint,
    ReplacedConstraint,
    TableRole,
)
from lightcurvedb.citus.rules import layout_problems, postgresql_partition_keys

__all__ = ["LAYOUT", "CitusLayout", "DistributedTable", "DroppedConstraint",
           "ReplacedConstraint", "TableRole", "distribution_statements", "layout_problems",
           "postgresql_partition_keys"]


def _literal(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _replacement(metadata: MetaData, new: ReplacedConstraint) -> str:
    old = next(c for c in metadata.tables[new.table].constraints if c.name == new.constraint)
    columns = ", ".join(new.columns)
    if isinstance(old, ForeignKeyConstraint):
        parent = new.references[0].rpartition(".")[0]
        referenced = ", ".join(r.rpartition(".")[2] for r in new.references)
        definition = f"FOREIGN KEY ({columns}) REFERENCES {parent} ({referenced})"
        if new.ondelete:
            definition += f" ON DELETE {new.ondelete}"
    elif isinstance(old, PrimaryKeyConstraint):
        definition = f"PRIMARY KEY ({columns})"
    else:
        definition = f"UNIQUE ({columns})"
    return (f"ALTER TABLE {new.table} DROP CONSTRAINT {new.constraint}, "
            f"ADD CONSTRAINT {new.constraint} {definition};")


def distribution_statements(metadata: MetaData, layout: CitusLayout | None = None
                            ) -> list[str]:
    """Return the SQL that applies ``layout`` on a Citus coordinator, in order.

    Run it on a database at the newest migration, with the ``citus``
    extension created and the workers added. In order: the ``ALTER TABLE
    ... DROP CONSTRAINT`` of ``layout.dropped``; the re-keying ``ALTER
    TABLE`` of ``layout.replaced``; ``create_reference_table`` for the
    reference tables; ``create_distributed_table`` for the distributed ones
    (the last two in dependency order, referenced tables first). The first
    table of a co-location group starts it (``colocate_with => 'none'``),
    the others join it. Local tables need no statement.

    Parameters
    ----------
    metadata : sqlalchemy.MetaData
        The schema, e.g. :func:`lightcurvedb.migrations.target_metadata`;
        it must satisfy :func:`layout_problems`.
    layout : CitusLayout, optional
        Default (None): :data:`LAYOUT`.

    Returns
    -------
    list of str
        One statement each, ending with ``;``.
    """
    layout = LAYOUT if layout is None else layout
    roles = layout.roles(metadata)
    statements = [f"ALTER TABLE {d.table} DROP CONSTRAINT {d.constraint};"
                  for d in layout.dropped]
    statements += [_replacement(metadata, new) for new in layout.replaced]
    ordered = [t.fullname for t in metadata.sorted_tables if t.fullname in roles]
    statements += [f"SELECT create_reference_table({_literal(name)});"
                   for name in ordered if roles[name].kind == "reference"]
    anchors: dict[str | None, str] = {}
    for name in ordered:
        role = roles[name]
        if role.kind == "distributed":
            anchor = anchors.setdefault(role.group, name)
            colocate = "none" if anchor == name else anchor
            statements.append(f"SELECT create_distributed_table({_literal(name)}, "
                              f"{_literal(str(role.column))}, "
                              f"colocate_with => {_literal(colocate)});")
    return statements
