"""Alembic revisions of the ``lcdb_kepler`` branch (``ALEMBIC_VERSIONS`` points here).

The revisions run in lightcurvedb's Alembic environment; the branch starts at
``down_revision = None`` and depends on the core revision whose tables it
references (``depends_on = ("0002",)``).
"""
