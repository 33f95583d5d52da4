"""The master catalog's reference views, read on every layout.

The pipeline's ``master_sources.sqlite3`` (and a lightcurvedb database, in
schema ``radio`` on PostgreSQL) holds two views of ``sources``:
``good_references`` (NVSS flux measured, S/N at least 7, spectral index in
[-1.5, 0.5] or unknown, neither resolved nor confused) and
``final_references`` (those of them with S/N at least 10).
:func:`reference_sources` reads them as :class:`~lightcurvedb.radio.Source`
rows. The query is addressed to ``sources``, so a
:func:`~lightcurvedb.radio.binding.radio_session` over the pipeline's four
files sends it to the master-sources file; a plain ``text("SELECT ... FROM
good_references")`` would go to the session's default database, if it has
one, instead.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from lightcurvedb.radio._types import SCHEMA
from lightcurvedb.radio.sources import Source

__all__ = ["FINAL_REFERENCES", "GOOD_REFERENCES", "reference_sources"]

# Their own metadata: the views are made by migrations, never by create_all or autogenerate.
_VIEWS = sa.MetaData()
#: The two views, as tables of their ``source_id`` column (in schema ``radio``, which
#: SQLite connections translate away like the models' own).
GOOD_REFERENCES = sa.Table("good_references", _VIEWS, sa.Column("source_id", sa.Text),
                           schema=SCHEMA)
FINAL_REFERENCES = sa.Table("final_references", _VIEWS, sa.Column("source_id", sa.Text),
                            schema=SCHEMA)


def reference_sources(session: Session, *, final: bool = False) -> list[Source]:
    """Return the master sources of the reference view, by source id.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on one database or a
        :func:`~lightcurvedb.radio.binding.radio_session` over the pipeline's files.
    final : bool, optional
        Read ``final_references`` (S/N at least 10) instead of ``good_references``.

    Returns
    -------
    list of Source
        The sources the view selects, as defined in the database read.
    """
    view = FINAL_REFERENCES if final else GOOD_REFERENCES
    statement = (sa.select(Source).where(Source.source_id.in_(sa.select(view.c.source_id)))
                 .order_by(Source.source_id))
    return list(session.scalars(statement))
