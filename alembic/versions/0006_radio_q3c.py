"""DSA-110 cone search: a q3c index on ``radio.sources`` (PostgreSQL with q3c only).

On PostgreSQL this creates the q3c extension when it is missing and the role
may create it (marked with a comment, and dropped again on downgrade only when
this migration created it) and, when q3c is installed, the expression index
``sources_q3c_idx`` on
``q3c_ang2ipix(ra_deg, dec_deg)`` that :func:`lightcurvedb.radio.catalog.cone_search`
uses through ``q3c_radial_query``. The models do not declare the index (it is
an expression index on an extension's function), so
:func:`lightcurvedb.migrations.context_options` leaves it out of schema
comparisons by name. Without q3c (and on SQLite) this revision creates
nothing: cone searches use a declination band and RA window on the
``(ra_deg, dec_deg)`` index there, and :func:`lightcurvedb.extensions.enable`
builds the index once q3c is installed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26

"""
import logging
from collections.abc import Sequence

from alembic import op

from lightcurvedb.core import extensions

revision: str = '0006'
down_revision: str | Sequence[str] | None = '0005'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCHEMA = "radio"
INDEX = "sources_q3c_idx"
Q3C_NOTE = "q3c, installed by lightcurvedb migration 0006 (DSA-110 cone search)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    q3c = extensions.create_if_allowed(bind, "q3c", Q3C_NOTE)
    if q3c.installed is None:
        logging.getLogger("alembic.runtime.migration").info(
            "cone searches without the q3c index: %s", q3c.reason)
    else:
        op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON {SCHEMA}.sources "
                   "(q3c_ang2ipix(ra_deg, dec_deg))")
    extensions.refresh(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    op.execute(f"DROP INDEX IF EXISTS {SCHEMA}.{INDEX}")
    ours = bind.exec_driver_sql(
        "SELECT obj_description(oid, 'pg_extension') FROM pg_extension "
        "WHERE extname = 'q3c'").scalar()
    if ours == Q3C_NOTE:
        op.execute("DROP EXTENSION q3c")
    extensions.refresh(bind)
