"""A fresh interpreter reading a database, with plugins hidden or broken (registry tests).

The test suite's own process has imported every mission; what a user's
script sees is only visible from a new ``python``.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
from typing import Any

from lcdb_kepler import mission as kepler

#: Run in a fresh interpreter after a prelude (the imports under test). Prints
#: JSON: each read's values, or the error it raised as [class name, message].
READ = '''
import json, sys, warnings
warnings.simplefilter("always")
with warnings.catch_warnings(record=True) as caught:
    from sqlalchemy import select
    import lightcurvedb
    from lightcurvedb.models import DataSet, FITSFrame, Observation, QualityFlagArray
    mine = ("lightcurvedb.missions", "lcdb_kepler")
    out = {"before": sorted(m for m in sys.modules if m.startswith(mine))}
    ATTRS = {
        "TESSObservation": ("sector", "cadence_seconds", "camera", "ccd"),
        "HSTObservation": ("program_id", "filter_name", "detector"),
        "JWSTObservation": ("program_id", "visit_number", "grating", "exposure_type"),
        "KeplerObservation": ("quarter", "channel", "cadence_type"),
        "TESSFFIFrame": ("camera", "ccd", "start_btjd"),
        "HSTFLCFrame": ("rootname", "file_type"),
        "JWSTS3DFrame": ("rootname", "file_type"),
        "KeplerFFIFrame": ("quarter", "start_bkjd"),
        "FITSFrame": ("cadence",),
    }

    def describe(obj):
        values = [getattr(obj, name) for name in ATTRS.get(type(obj).__name__, ())]
        if isinstance(obj, QualityFlagArray):
            values = [[list(bits) for bits in obj.decode()], obj.hard_mask().tolist()]
        return [type(obj).__name__, *values]

    def read(name, query):
        try:
            out[name] = query()
        except Exception as exc:
            out[name] = [type(exc).__name__, str(exc)]

    def rows(cls, *where):
        return [describe(o) for o in s.scalars(select(cls).where(*where).order_by(cls.id))]

    def light_curve(lc):
        obs = lc.observation
        series = lc.to_timeseries()
        return [type(obs).__name__, [type(f).__name__ for f in obs.quality_flag_arrays],
                [type(f).__name__ for f in obs.fits_frames],
                [type(o).__name__ for o in lc.target.observations],
                series["quality"].tolist(), series["quality_mask"].tolist(),
                round(float(series.time.jd[0]), 6)]

    with lightcurvedb.session(sys.argv[1]) as s:
        read("observations", lambda: rows(Observation))
        read("frames", lambda: rows(FITSFrame))
        read("flags", lambda: rows(QualityFlagArray))
        read("not_kepler", lambda: rows(Observation, Observation.type != "kepler_observation"))
        for lc in s.scalars(select(DataSet).order_by(DataSet.id)):
            read(f"light_curve_{lc.target.name}", lambda: light_curve(lc))
    out["after"] = sorted(m for m in sys.modules if m.startswith(mine))
out["warnings"] = [[w.category.__name__, str(w.message)] for w in caught
                   if w.category.__name__ == "PluginWarning"]
print(json.dumps(out))
'''


def read_in_fresh_interpreter(url: str, cwd: pathlib.Path, prelude: str = "", *,
                              replace: tuple[pathlib.Path, pathlib.Path] | None = None,
                              path: tuple[pathlib.Path, ...] = (), script: str = READ) -> Any:
    """Run ``script`` (:data:`READ`) on ``url`` in a new interpreter; return the JSON it printed.

    ``replace`` is ``(directory, view)``: the view takes the directory's place
    on ``sys.path`` (see :func:`site_packages_without_kepler`); ``path``
    directories go first on ``sys.path``.
    """
    lines = [f"import sys; sys.path[:0] = {[str(p) for p in path]!r}"]
    if replace is not None:
        real, view = map(str, replace)
        lines.append(f"import os; sys.path[:] = [{view!r} if os.path.realpath(p) == {real!r} "
                     "else p for p in sys.path]")
    source = "\n".join([*lines, "import lightcurvedb", prelude, script])
    environ = {k: v for k, v in os.environ.items()
               if not k.startswith("LIGHTCURVEDB_") and k != "PYTHONPATH"}
    result = subprocess.run([sys.executable, "-c", source, url], capture_output=True, text=True,
                            timeout=300, env=environ, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def site_packages_without_kepler(tmp_path: pathlib.Path) -> tuple[pathlib.Path, pathlib.Path]:
    """The directory the Kepler plugin is installed in, and a view of it without the plugin.

    The view links to everything else there, so an interpreter that has it in
    place of the directory sees the same installation, less ``lcdb_kepler``
    and its ``.dist-info``: the plugin is "not installed" without touching the
    environment.
    """
    real = pathlib.Path(kepler.__file__).resolve().parents[1]
    view = tmp_path / "site-packages"
    view.mkdir()
    for entry in real.iterdir():
        if not entry.name.startswith("lcdb_kepler"):
            (view / entry.name).symlink_to(entry)
    return real, view


def fake_plugin(tmp_path: pathlib.Path, dist: str, entry_point: str, source: str
                ) -> pathlib.Path:
    """A directory holding distribution ``dist`` with mission entry point ``entry_point``.

    Its module, ``<dist's import name>.mission``, has the text ``source``. Put
    on ``sys.path``, ``importlib.metadata`` finds the distribution through its
    ``.dist-info`` directory, as it finds an installed one.
    """
    package = dist.replace("-", "_")
    root = tmp_path / package
    info = root / f"{package}-0.1.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[lightcurvedb.missions]\n{entry_point} = {package}.mission\n")
    (root / package).mkdir()
    (root / package / "__init__.py").write_text("")
    (root / package / "mission.py").write_text(source)
    return root
