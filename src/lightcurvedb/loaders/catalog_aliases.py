"""Aliases from catalog files: a column naming each target in another catalog.

``lcdb load catalog ... --alias "Gaia DR3=GAIA_ID"`` (``load_catalog_targets(
aliases={"Gaia DR3": "GAIA_ID"})``) records, for every row, the value of
``GAIA_ID`` as the target's :class:`~lightcurvedb.models.TargetAlias` in the
catalog ``Gaia DR3``. Blank, masked and zero values (DESI writes ``REF_ID = 0``
for targets without a reference star) name no alias.

A column whose values name targets of several catalogs takes a condition on
another column: ``--alias "Gaia DR2=REF_ID[REF_CAT=G2];Tycho-2=REF_ID[REF_CAT=T2]"``
records a row's ``REF_ID`` as its Gaia DR2 name only where its ``REF_CAT`` is
``G2`` (DESI's FIBERMAPs say this way which catalog ``REF_ID`` numbers a
reference star in), and as its Tycho-2 name where it is ``T2``. Values are
compared as text, stripped of blanks.

The aliases are checked before the file is loaded -- one value naming two of
the file's targets, or an alias already given to another target, refuses the
file with nothing written -- and recorded after its targets are, in the same
SAVEPOINT; an alias already recorded for the same target is left alone, so
loading a file twice adds nothing.
"""

from __future__ import annotations

import pathlib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from lightcurvedb.loaders.fitsfile import read_fits
from lightcurvedb.loaders.report import LoaderError
from lightcurvedb.models import Target, TargetAlias

__all__ = ["AliasColumn", "alias_columns", "check_aliases", "file_aliases", "write_aliases"]

_CHUNK = 10_000
_CONDITIONAL = re.compile(r"^\s*([^\[\]=]+?)\s*\[\s*([^\[\]=]+?)\s*=\s*([^\[\]]*?)\s*\]\s*$")


@dataclass(frozen=True)
class AliasColumn:
    """Where a catalog file gives one alias catalog's names.

    Attributes
    ----------
    column : str
        The FITS column holding the names.
    when : tuple of (str, str), or None
        ``(column, value)``: only rows whose ``column`` reads ``value`` (as
        stripped text) name an alias; None for every row.
    """

    column: str
    when: tuple[str, str] | None = None

    @classmethod
    def parse(cls, spec: str) -> AliasColumn:
        """Read ``"COLUMN"`` or ``"COLUMN[OTHER=VALUE]"``.

        Raises
        ------
        ValueError
            For brackets that are not one ``[OTHER=VALUE]`` after the column.
        """
        if "[" not in spec and "]" not in spec:
            return cls(spec.strip())
        match = _CONDITIONAL.match(spec)
        if match is None:
            raise ValueError(f"alias column {spec!r}: expected COLUMN or COLUMN[OTHER=VALUE], "
                             "e.g. 'REF_ID[REF_CAT=G2]'")
        return cls(match.group(1), (match.group(2), match.group(3)))

    @property
    def columns(self) -> tuple[str, ...]:
        """The FITS columns read: the names' and the condition's."""
        return (self.column,) if self.when is None else (self.column, self.when[0])


def alias_columns(aliases: str | Mapping[str, str] | None) -> dict[str, AliasColumn]:
    """Return alias catalog -> :class:`AliasColumn` for an ``aliases`` option.

    Parameters
    ----------
    aliases : str, mapping or None
        A mapping of catalog to column, or a string of ``CATALOG=COLUMN``
        pairs separated by semicolons (``"Gaia DR3=GAIA_ID;2MASS=TMASS_ID"``);
        a column may carry a condition, ``REF_ID[REF_CAT=G2]``. None for none.

    Raises
    ------
    ValueError
        For a pair without ``=``, an empty name or a malformed condition (one line).
    """
    if aliases is None:
        return {}
    if isinstance(aliases, str):
        pairs = [item.partition("=") for item in aliases.split(";") if item.strip()]
        if any(not sep or not name.strip() or not column.strip() for name, sep, column in pairs):
            raise ValueError(f"aliases {aliases!r}: expected CATALOG=COLUMN pairs separated "
                             "by ';', e.g. 'Gaia DR3=GAIA_ID'")
        aliases = {name.strip(): column for name, _, column in pairs}
    return {name: AliasColumn.parse(column) for name, column in aliases.items()}


def file_aliases(path: pathlib.Path, hdu: int | str, key: str,
                 aliases: Mapping[str, AliasColumn]) -> dict[str, dict[str, int]]:
    """Read the alias columns of a catalog file: {alias catalog: {alias name: key}}.

    Raises
    ------
    LoaderError
        For a missing column, or a value naming two different keys.
    """
    def parse(hdul: Any, _: Any) -> dict[str, dict[str, int]]:
        data = hdul[hdu].data
        names = [] if data is None else list(data.columns.names)
        wanted = dict.fromkeys([key, *(c for rule in aliases.values() for c in rule.columns)])
        missing = [column for column in wanted if column not in names]
        if missing:
            raise LoaderError(path, f"HDU {hdu!r} lacks alias column(s) {', '.join(missing)}")
        keys = np.asarray(data[key])
        out: dict[str, dict[str, int]] = {}
        for catalog, rule in aliases.items():
            values = _texts(data[rule.column])
            if rule.when is not None:
                other, wanted_value = rule.when
                values = [text if flag == wanted_value else ""
                          for text, flag in zip(values, _texts(data[other]), strict=True)]
            found: dict[str, int] = {}
            for text, number in zip(values, keys.tolist(), strict=True):
                if text in ("", "0"):
                    continue
                if found.setdefault(text, int(number)) != int(number):
                    raise LoaderError(path, f"{rule.column} = {text} names two targets "
                                            f"({found[text]} and {number}) for alias "
                                            f"catalog {catalog!r}")
            out[catalog] = found
        return out

    return read_fits(path, parse)


def _texts(column: Any) -> list[str]:
    """Return a column's values as stripped text; masked and missing values are ``""``."""
    return ["" if value is None else str(value).strip()
            for value in np.ma.asarray(column).tolist()]


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
