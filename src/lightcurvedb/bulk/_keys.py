"""Which unique key an upsert arbitrates on, and which columns it updates."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Column, Table, UniqueConstraint
from sqlalchemy.sql import visitors

__all__ = ["ConflictKey", "resolve_conflict", "resolve_update"]


@dataclass(frozen=True)
class ConflictKey:
    """A unique key of a table: its columns and, for a partial unique index, its predicate."""

    columns: tuple[str, ...]
    where: Any = None

    def describe(self) -> str:
        """Return ``(a, b)``, with ``WHERE ...`` for a partial index."""
        text = f"({', '.join(self.columns)})"
        return text if self.where is None else f"{text} WHERE {self.where}"

    def where_columns(self) -> set[str]:
        """Names of the columns the partial index's predicate reads."""
        if self.where is None:
            return set()
        return {c.name for c in visitors.iterate(self.where) if isinstance(c, Column)}


def unique_keys(table: Table, dialect_name: str) -> list[ConflictKey]:
    """Return the primary key, unique constraints and unique indexes of ``table``."""
    keys: list[ConflictKey] = []
    if table.primary_key.columns:
        keys.append(ConflictKey(tuple(c.name for c in table.primary_key.columns)))
    for constraint in table.constraints:
        if isinstance(constraint, UniqueConstraint) and constraint.columns:
            keys.append(ConflictKey(tuple(c.name for c in constraint.columns)))
    for index in sorted(table.indexes, key=lambda i: str(i.name)):
        if not index.unique or len(index.columns) != len(index.expressions):
            continue  # not unique, or on expressions ON CONFLICT cannot name by column
        where = None
        if dialect_name in ("postgresql", "sqlite"):
            where = index.dialect_options[dialect_name]["where"]
        keys.append(ConflictKey(tuple(c.name for c in index.columns), where))
    unique: list[ConflictKey] = []
    for key in keys:
        if not any(set(k.columns) == set(key.columns) and str(k.where) == str(key.where)
                   for k in unique):
            unique.append(key)
    return unique


def resolve_conflict(table: Table, supplied: Sequence[str], conflict: str | Sequence[str] | None,
                     dialect_name: str) -> ConflictKey:
    """Return the key named by ``conflict``, or the one unique key the input supplies.

    Raises
    ------
    ValueError
        If ``conflict`` names no unique key of the table, if a key column (or a
        column of a partial index's predicate) is not in the input, or, with
        ``conflict=None``, if the input supplies no unique key or several.
    """
    keys = unique_keys(table, dialect_name)
    listing = "; ".join(k.describe() for k in keys) or "none"
    given = set(supplied)
    if conflict is None:
        full = [k for k in keys if k.where is None and set(k.columns) <= given]
        if len(full) == 1:
            return full[0]
        if not full:
            raise ValueError(
                f"upsert into {table.fullname}: the input supplies no unique key of the table "
                f"(its unique keys: {listing}); supply the key columns or pass conflict=")
        raise ValueError(
            f"upsert into {table.fullname}: the input supplies several unique keys "
            f"({'; '.join(k.describe() for k in full)}); say which one decides that a row "
            "already exists with conflict=[...]")
    wanted = [conflict] if isinstance(conflict, str) else list(conflict)
    matches = [k for k in keys if set(k.columns) == set(wanted)]
    if not matches:
        raise ValueError(f"upsert into {table.fullname}: conflict={wanted} is not a unique key "
                         f"of the table (its unique keys: {listing})")
    key = min(matches, key=lambda k: k.where is not None)  # a full key beats a partial one
    key = ConflictKey(tuple(wanted), key.where)
    missing = [c for c in (*key.columns, *sorted(key.where_columns())) if c not in given]
    if missing:
        raise ValueError(f"upsert into {table.fullname}: the input lacks column(s) "
                         f"{', '.join(missing)} of the conflict key {key.describe()}")
    return key


def resolve_update(table: Table, supplied: Sequence[str], key: ConflictKey,
                   update: str | Sequence[str] | None) -> list[str]:
    """Return the columns ``DO UPDATE`` sets: none (``DO NOTHING``), ``"all"`` or a list.

    ``"all"`` means every column the input supplies, except the key's; columns
    filled from Python-side defaults are never updated.
    """
    if update is None:
        return []
    if isinstance(update, str):
        if update != "all":
            raise ValueError(f"update must be None, 'all' or a list of columns, not {update!r}")
        return [name for name in supplied if name not in key.columns]
    names = list(update)
    unknown = [name for name in names if name not in supplied]
    if unknown:
        raise ValueError(f"upsert into {table.fullname}: update names column(s) "
                         f"{', '.join(unknown)} the input does not supply")
    in_key = [name for name in names if name in key.columns]
    if in_key:
        raise ValueError(f"upsert into {table.fullname}: cannot update key column(s) "
                         f"{', '.join(in_key)} of {key.describe()}")
    return names
