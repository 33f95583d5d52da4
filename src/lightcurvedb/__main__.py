"""Run the ``lcdb`` command line as ``python -m lightcurvedb``."""

from lightcurvedb.cli import main

__all__: list[str] = []

if __name__ == "__main__":
    raise SystemExit(main())
