"""The README's Quickstart: two commands, and the test command keeps out of the demo's venv."""

from __future__ import annotations

import pathlib
import re
import shlex

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    (block,) = re.findall(r"```bash\n(.*?)```", section, flags=re.S)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def _venvs(command: str) -> set[str]:
    return {word.split("/bin/")[0] for word in shlex.split(command) if "/bin/" in word}


def test_quickstart_has_exactly_two_commands():
    demo, tests = _commands()
    assert demo.endswith("lcdb demo") and tests.endswith("-m pytest")


def test_the_test_command_uses_its_own_environment():
    demo, tests = _commands()
    assert "tests/downstream" in tests and "tests/downstream" not in demo
    assert len(_venvs(demo)) == len(_venvs(tests)) == 1
    assert _venvs(demo).isdisjoint(_venvs(tests))      # the plugin stays out of lcdb's venv
    ignored = (ROOT / ".gitignore").read_text().splitlines()
    assert {f"{venv}/" for venv in _venvs(demo) | _venvs(tests)} <= set(ignored)


def test_ci_runs_the_same_pytest_and_checks_the_tree_stays_clean():
    ci = (ROOT / ".ci" / "run").read_text()
    assert '-m pip install -q ".[test,docs]" ./tests/downstream' in ci
    assert '"$VENV/bin/python" -m pytest' in ci
    assert "git status --porcelain" in ci


def test_the_example_plugin_builds_outside_the_tree():
    # setuptools would leave build/ and *.egg-info/ in tests/downstream
    pyproject = (ROOT / "tests" / "downstream" / "pyproject.toml").read_text()
    assert 'build-backend = "hatchling.build"' in pyproject


def test_docs_do_not_send_users_to_pypi():
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.rst"))]:
        text = page.read_text()
        assert not re.search(r"pip install '?lightcurvedb\b", text), page
