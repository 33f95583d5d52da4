"""The README's "Using it" snippet runs after ``lcdb demo`` and prints what the data say."""

from __future__ import annotations

import pathlib
import re
import subprocess
import sys

import numpy as np
from sqlalchemy import select

import lightcurvedb
from cli_support import lcdb
from lightcurvedb.models import DataSet, QualityFlagArray, Target

ROOT = pathlib.Path(__file__).resolve().parents[1]
LINE = re.compile(r"^sector (\d+) (SAP|PDCSAP) +median (-?[\d.]+) electron / s$")


def _section() -> str:
    return (ROOT / "README.md").read_text().split("## Using it", 1)[1].split("\n## ", 1)[0]


def _snippet() -> str:
    (code,) = re.findall(r"```python\n(.*?)```", _section(), flags=re.S)
    return code


def test_the_snippet_prints_labelled_nan_free_medians(env, tmp_path):
    assert lcdb(env, "demo").returncode == 0
    script = tmp_path / "snippet.py"
    script.write_text(_snippet())
    run = subprocess.run([sys.executable, str(script)], env=env, cwd=env["HOME"],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    printed = [LINE.match(line) for line in run.stdout.splitlines()]
    assert printed and all(printed), run.stdout
    # what the demo database holds, read with the ORM and the flags' own hard mask
    database = pathlib.Path(env["XDG_DATA_HOME"]) / "lightcurvedb" / "lightcurvedb.sqlite3"
    expected = []
    with lightcurvedb.session(f"sqlite:///{database}") as s:
        target = s.scalars(select(Target).where(Target.name == 261136679)).one()
        for ds in s.scalars(select(DataSet).where(DataSet.target_id == target.id)
                            .order_by(DataSet.observation_id, DataSet.id)):
            flags = s.scalars(select(QualityFlagArray).filter_by(
                target_id=target.id, observation_id=ds.observation_id)).one()
            good = ds.values[~flags.hard_mask() & ~np.isnan(ds.values)]
            expected.append((str(ds.observation.sector),
                             "SAP" if ds.processing_method is None else "PDCSAP",
                             f"{np.median(good):.1f}"))
    assert [m.groups() for m in printed] == expected
    assert {kind for _, kind, _ in expected} == {"SAP", "PDCSAP"}
    # the prose quotes the first line as it is printed
    quoted = re.search(r"\(`(sector 1 SAP .*?)`", _section()).group(1)
    assert quoted == run.stdout.splitlines()[0]
