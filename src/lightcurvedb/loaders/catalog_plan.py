"""Which FITS columns a catalog load reads, and where they go: the loader's plan.

:func:`plan_columns` pairs FITS columns with destination columns,
:func:`key_columns` resolves the key, :func:`exposure_column` finds the column
that makes a table one row per exposure, :func:`destination_label` names the
destination in reports. Each refuses what a load cannot do before anything
is read.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, Table

from lightcurvedb.loaders.report import LoaderError

__all__ = ["destination_label", "exposure_column", "key_columns", "plan_columns"]


def plan_columns(path: pathlib.Path, table_hdu: Any, table: Table,
                 columns: Mapping[str, str] | None, constants: Mapping[str, Any]
                 ) -> list[tuple[str, Column[Any]]]:
    """Pair FITS columns with destination columns; refuse missing or unreadable ones.

    Returns
    -------
    list of (str, sqlalchemy.Column)
        FITS column name (as the file spells it) and destination column.
    """
    in_file = {name.upper(): name for name in table_hdu.columns.names}
    by_lower = {c.name.lower(): c for c in table.columns if c.name not in constants}
    if columns is None:
        plan = [(name, by_lower[name.lower()]) for name in table_hdu.columns.names
                if name.lower() in by_lower]
        if not plan:
            raise LoaderError(path, f"no column of the table matches a column of "
                                    f"{table.fullname} (by name, any case)")
    else:
        unknown = [dest for dest in columns.values() if dest not in table.c]
        if unknown:
            raise ValueError(f"{table.fullname} has no column(s) {', '.join(unknown)}")
        missing = [name for name in columns if name.upper() not in in_file]
        if missing:
            raise LoaderError(path, f"no column {', '.join(missing)} in the table (it has "
                                    f"{', '.join(table_hdu.columns.names)})")
        plan = [(in_file[name.upper()], table.c[dest]) for name, dest in columns.items()]
    for name, _ in plan:
        tform = str(table_hdu.columns[name].format)
        if re.match(r"^\d*[PQ]", tform):
            raise LoaderError(path, f"column {name} is a variable-length array (TFORM "
                                    f"{tform}), which the catalog loader does not read")
    mapped = {dest.name for _, dest in plan} | set(constants)
    unfilled = [c.name for c in table.columns if c.name not in mapped and not c.nullable
                and c.default is None and c.server_default is None
                and not (c.primary_key and c.autoincrement in (True, "auto"))]
    if unfilled:
        raise LoaderError(path, f"nothing fills the NOT NULL column(s) {', '.join(unfilled)} "
                                f"of {table.fullname}")
    return plan


def key_columns(path: pathlib.Path, table_hdu: Any, table: Table,
                plan: list[tuple[str, Column[Any]]], key: str | Sequence[str] | None
                ) -> list[str]:
    """Resolve the key columns (FITS names); they must be loaded."""
    loaded = {name.upper(): name for name, _ in plan}
    if key is None:
        primary = {c.name for c in table.primary_key.columns}
        chosen = [name for name, dest in plan if dest.name in primary]
        return chosen if primary and {d.name for _, d in plan} >= primary else []
    names = [key] if isinstance(key, str) else list(key)
    in_file = {name.upper() for name in table_hdu.columns.names}
    missing = [name for name in names if name.upper() not in in_file]
    if missing:
        raise LoaderError(path, f"no key column {', '.join(missing)} in the table")
    unloaded = [name for name in names if name.upper() not in loaded]
    if unloaded:
        raise ValueError(f"key column(s) {', '.join(unloaded)} are not loaded into "
                         f"{table.fullname}")
    return [loaded[name.upper()] for name in names]


def destination_label(table: Table, constants: Mapping[str, Any]) -> str:
    """``table`` or ``table [column=value, ...]``: the destination named in reports."""
    if not constants:
        return table.fullname
    return f"{table.fullname} [{', '.join(f'{k}={v}' for k, v in constants.items())}]"


def exposure_column(table_hdu: Any, name: str | None, key: Sequence[str]) -> str | None:
    """Return the table's exposure column as the file spells it, or None.

    A table with this column (DESI's ``EXPID``) lists a key once per exposure:
    its key is unique per exposure, not per row. A table without it, or a
    ``name`` of None, is an ordinary catalog.
    """
    if name is None:
        return None
    in_file = {column.upper(): column for column in table_hdu.columns.names}
    found = in_file.get(name.upper())
    if found is None or found.upper() in {k.upper() for k in key}:
        return None
    return found
