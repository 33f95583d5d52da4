"""Aliases from catalog files: a column naming each target in another catalog.

``lcdb load catalog ... --alias "Gaia DR3=GAIA_ID"`` (``load_catalog_targets(
aliases={"Gaia DR3": "GAIA_ID"})``) records, for every row, the value of
``GAIA_ID`` as the target's :class:`~lightcurvedb.models.TargetAlias` in the
catalog ``Gaia DR3``. Blank, masked and zero values (DESI writes ``REF_ID = 0``
for targets without a reference star) name no alias.

The aliases are checked before the file is loaded -- one value naming two of
the file's targets, or an alias already given to another target, refuses the
file with nothing written -- and recorded after its targets are, in the same
SAVEPOINT; an alias already recorded for the same target is left alone, so
loading a file twice adds nothing.
"""

from __future__ import annotations

import pathlib
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcurvedb.loaders.fitsfile import read_fits
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.models import Target, TargetAlias

__all__ = ["alias_columns", "check_aliases", "file_aliases", "write_aliases"]

_CHUNK = 10_000


def alias_columns(aliases: str | Mapping[str, str] | None) -> dict[str, str]:
    """Return alias catalog -> FITS column for an ``aliases`` option.

    Parameters
    ----------
    aliases : str, mapping or None
        A mapping, or a string of ``CATALOG=COLUMN`` pairs separated by
        semicolons (``"Gaia DR3=GAIA_ID;2MASS=TMASS_ID"``); None for none.

    Raises
    ------
    ValueError
        For a pair without ``=`` or an empty name (one line).
    """
    if aliases is None:
        return {}
    if isinstance(aliases, str):
        pairs = [item.partition("=") for item in aliases.split(";") if item.strip()]
        if any(not sep or not name.strip() or not column.strip() for name, sep, column in pairs):
            raise ValueError(f"aliases {aliases!r}: expected CATALOG=COLUMN pairs separated "
                             "by ';', e.g. 'Gaia DR3=GAIA_ID'")
        return {name.strip(): column.strip() for name, _, column in pairs}
    return dict(aliases)


def file_aliases(path: pathlib.Path, hdu: int | str, key: str,
                 aliases: Mapping[str, str]) -> dict[str, dict[str, int]]:
    """Read the alias columns of a catalog file: {alias catalog: {alias name: key}}.

    Raises
    ------
    LoaderError
        For a missing column, or a value naming two different keys.
    """
    def parse(hdul: Any, _: Any) -> dict[str, dict[str, int]]:
        data = hdul[hdu].data
        names = [] if data is None else list(data.columns.names)
        missing = [column for column in (key, *aliases.values()) if column not in names]
        if missing:
            raise LoaderError(path, f"HDU {hdu!r} lacks alias column(s) {', '.join(missing)}")
        keys = np.asarray(data[key])
        out: dict[str, dict[str, int]] = {}
        for catalog, column in aliases.items():
            values = np.ma.asarray(data[column])
            found: dict[str, int] = {}
            for value, number in zip(values.tolist(), keys.tolist(), strict=True):
                text = "" if value is None else str(value).strip()
                if text in ("", "0"):
                    continue
                if found.setdefault(text, int(number)) != int(number):
                    raise LoaderError(path, f"{column} = {text} names two targets "
                                            f"({found[text]} and {number}) for alias "
                                            f"catalog {catalog!r}")
            out[catalog] = found
        return out

    return read_fits(path, parse)


def _chunks(found: Mapping[str, Mapping[str, int]]) -> Iterator[tuple[str, dict[str, int]]]:
    for alias_catalog, names in found.items():
        items = list(names.items())
        for start in range(0, len(items), _CHUNK):
            yield alias_catalog, dict(items[start:start + _CHUNK])


def _stored(session: Session, alias_catalog: str, names: Iterable[str]
            ) -> list[tuple[str, int, int]]:
    """(alias name, owner's catalog id, owner's number) of the aliases already stored."""
    rows = session.execute(
        select(TargetAlias.name, Target.catalog_id, Target.name)
        .join(Target, Target.id == TargetAlias.target_id)
        .where(TargetAlias.catalog == alias_catalog, TargetAlias.name.in_(list(names))))
    return [(name, catalog_id, number) for name, catalog_id, number in rows]


def check_aliases(session: Session, path: pathlib.Path, catalog_id: int,
                  found: Mapping[str, Mapping[str, int]]) -> dict[str, dict[str, int]]:
    """Refuse the file if one of its aliases already names another target; return the new ones.

    Returns
    -------
    dict
        ``found`` without the aliases already stored for the same targets:
        what :func:`write_aliases` is to write.

    Raises
    ------
    LoaderError
        Naming the alias, the file's target and the other one.
    """
    new: dict[str, dict[str, int]] = {}
    for alias_catalog, chunk in _chunks(found):
        for alias_name, owner_catalog, owner in _stored(session, alias_catalog, chunk):
            if (owner_catalog, owner) != (catalog_id, chunk[alias_name]):
                raise LoaderError(path, f"alias {alias_catalog} {alias_name} of "
                                        f"{chunk[alias_name]} is already another target's "
                                        f"({owner} in catalog id {owner_catalog})")
            del chunk[alias_name]
        new.setdefault(alias_catalog, {}).update(chunk)
    return new


def write_aliases(session: Session, catalog_id: int, new: Mapping[str, Mapping[str, int]]) -> int:
    """Record the aliases :func:`check_aliases` returned (the file's targets now exist)."""
    rows = []
    for alias_catalog, chunk in _chunks(new):
        ids = dict(session.execute(select(Target.name, Target.id).where(
            Target.catalog_id == catalog_id, Target.name.in_(set(chunk.values())))).all())
        rows += [TargetAlias(target_id=ids[number], catalog=alias_catalog, name=name)
                 for name, number in chunk.items()]
    session.add_all(rows)
    session.flush()
    return len(rows)
