"""Running ``lcdb`` as a real subprocess in a clean environment (shared by the CLI tests)."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import lightcurvedb


def clean_env(tmp_path: pathlib.Path) -> dict[str, str]:
    """An environment with no lightcurvedb configuration: HOME and XDG dirs inside tmp_path."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("LIGHTCURVEDB_")}
    for name in ("home", "config", "data"):
        (tmp_path / name).mkdir(exist_ok=True)
    environ.update(HOME=str(tmp_path / "home"), XDG_CONFIG_HOME=str(tmp_path / "config"),
                   XDG_DATA_HOME=str(tmp_path / "data"))
    # The subprocess runs from HOME: a relative PYTHONPATH (``PYTHONPATH=src``) would
    # not find the tree under test there, and another installed copy would run instead.
    tree = str(pathlib.Path(lightcurvedb.__file__).resolve().parents[1])
    environ["PYTHONPATH"] = os.pathsep.join(
        [tree, *(p for p in environ.get("PYTHONPATH", "").split(os.pathsep)
                 if p and os.path.isabs(p))])
    return environ


def lcdb(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``python -m lightcurvedb ARGS`` in ``env`` (from its HOME)."""
    return subprocess.run([sys.executable, "-m", "lightcurvedb", *args], env=env,
                          cwd=env["HOME"], capture_output=True, text=True, timeout=600)
