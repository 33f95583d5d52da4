"""Alembic environment for lightcurvedb.

The database comes from, in order: a connection handed over by
:mod:`lightcurvedb.migrations` (``config.attributes["connection"]``), the
``sqlalchemy.url`` option, or lightcurvedb's own resolver (``LIGHTCURVEDB_URL``,
``db.conf``, SQLite default) -- the same one :func:`lightcurvedb.connect` uses.
"""

from __future__ import annotations

import logging.config

from alembic import context

from lightcurvedb.core.engine import connect
from lightcurvedb.migrations import context_options, target_metadata

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    context.configure(url=config.get_main_option("sqlalchemy.url"),
                      target_metadata=target_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run migrations on a live connection."""
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, **context_options(connection))
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = connect(config.get_main_option("sqlalchemy.url") or None)
    try:
        with engine.connect() as connection:
            context.configure(connection=connection, **context_options(connection))
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
