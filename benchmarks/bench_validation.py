"""What validating values before writing costs the bulk path, measured in the same run.

Usage::

    python benchmarks/bench_validation.py [--rows 300000] [--repeat 3] [--json out.json]

The rows are ``bench_catalog.py``'s (13 scalar columns: a bigint key, an
integer, eleven NOT NULL doubles, a ``String(8)``), scalar rows being where
validation costs the most (array columns are judged by ``NumpyArray.coerce``,
which the bind processing called before). For each form the bulk writers get
them in -- numpy columns (a structured array on PostgreSQL), lists (a
structured array on SQLite) and tuples -- the script times
:func:`lightcurvedb.core.row_checks.first_problem` over the columns as
``copy_rows`` hands them to it, and ``copy_rows`` of the same rows into a
temporary SQLite file (validation included), and prints the share of the
write that validation takes. It also checks that validation finds a bad value
planted in the last row, so a check that stopped looking would show.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import bench_catalog
import numpy as np
import sqlalchemy as sa

from lightcurvedb.bulk import copy_rows
from lightcurvedb.bulk._sources import open_source
from lightcurvedb.core.column_rules import table_rules
from lightcurvedb.core.row_checks import first_problem


def _best(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return min(times)


def main(argv: list[str] | None = None) -> int:
    """Run the measurement; return the exit status (1 if validation missed the bad row)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=300_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args(argv)
    cat = bench_catalog.make_catalog(args.rows, seed=0)
    names = list(bench_catalog.COLUMNS)
    table = bench_catalog.TABLE
    rules = table_rules(table, names)
    forms = {
        "numpy columns": [cat[name] for name in names],
        "lists": open_source(cat, names, None, 0).raw_chunks(args.rows, 2**62, set()),
        "tuples": open_source(cat.tolist(), names, names, 0).raw_chunks(args.rows, 2**62,
                                                                          set()),
    }
    inputs = {"numpy columns": cat, "lists": cat, "tuples": cat.tolist()}
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        engine = sa.create_engine(f"sqlite:///{tmp}/bench.sqlite3")
        table.metadata.create_all(engine)
        print(f"validation: {args.rows:,} rows x {len(names)} columns, best of {args.repeat}")
        print(f"{'input':<14}  {'validate s':>10}  {'copy_rows s':>11}  {'share':>6}")
        for form, source in forms.items():
            columns = source if isinstance(source, list) else next(source).columns
            if first_problem(rules, columns) is not None:
                print(f"{form}: the generated rows were refused", file=sys.stderr)
                return 1
            bad = [list(c) if not isinstance(c, np.ndarray) else c.copy() for c in columns]
            k = names.index("survey")
            if isinstance(bad[k], np.ndarray):
                bad[k] = bad[k].astype("U9")  # wide enough to hold the bad value
            bad[k][-1] = "x" * 9  # longer than String(8)
            found = first_problem(rules, bad)
            if found is None or found[0] != args.rows - 1:
                print(f"{form}: validation missed the bad last row", file=sys.stderr)
                return 1
            validate = _best(lambda: first_problem(rules, columns), args.repeat)  # noqa: B023

            def write(rows: object = inputs[form]) -> None:
                with engine.begin() as connection:
                    connection.execute(table.delete())
                    copy_rows(connection, table, rows,
                              columns=None if isinstance(rows, np.ndarray) else names)

            written = _best(write, args.repeat)
            share = validate / written
            results.append({"input": form, "rows": args.rows, "validate_seconds": validate,
                            "copy_rows_seconds": written, "share": share})
            print(f"{form:<14}  {validate:>10.3f}  {written:>11.3f}  {share:>6.1%}")
        engine.dispose()
    print("(numpy columns: what PostgreSQL's COPY path validates; the SQLite write above "
          "validates lists)")
    if args.json:
        args.json.write_text(json.dumps({"results": results}, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
