"""The ``lcdb`` command line, run as a real subprocess in a clean home directory."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from cli_support import lcdb
from lightcurvedb import migrations
from lightcurvedb.cli import build_parser, error_message, main

EXPECTED = {
    "mission": 1, "mission_catalog": 1, "target": 5, "instrument": 21, "observation": 2,
    "photometric_source": 1, "processing_method": 1, "target_specific_time": 10,
    "dataset": 20, "dataset_hierarchy": 10, "quality_flag_array": 10,
}
NOTHING_NEW = "Nothing new was created"



def ok(env: dict[str, str], *args: str) -> str:
    result = lcdb(env, *args)
    assert result.returncode == 0, result.stderr
    return result.stdout


def table_counts(stdout: str) -> dict[str, int]:
    return {m[1]: int(m[2]) for m in re.finditer(r"(?m)^([a-z_]+)\s+(\d+)$", stdout)}


def test_console_script_is_installed():
    script = Path(sys.executable).parent / "lcdb"
    assert script.is_file() and os.access(script, os.X_OK)


def test_help_lists_the_commands(env):
    top = ok(env, "--help")
    assert re.search(r"(?m)^\s+demo\s+\S", top) and re.search(r"(?m)^\s+db\s+\S", top)
    assert "--url" in top
    db = ok(env, "db", "--help")
    for command in ("upgrade", "downgrade", "current", "heads"):
        assert re.search(rf"(?m)^\s+{command}\b", db), command


def test_version(env):
    assert re.fullmatch(r"lcdb \d+\.\d+\.\d+\S*\n", ok(env, "--version"))


def test_demo_without_configuration_twice(env):
    first = ok(env, "demo")
    database = Path(env["XDG_DATA_HOME"]) / "lightcurvedb" / "lightcurvedb.sqlite3"
    assert database.is_file()
    assert str(database) in first
    assert table_counts(first) == EXPECTED
    assert NOTHING_NEW not in first and "Created 82 new rows" in first

    second = ok(env, "demo")
    assert table_counts(second) == EXPECTED
    assert NOTHING_NEW in second
    # Only the line saying what was created differs; both end with the same next steps.
    created = [line for line in first.splitlines() if line.startswith("Created ")]
    assert len(created) == 1
    assert [line for line in first.splitlines() if line not in created] == \
        [line for line in second.splitlines() if not line.startswith(NOTHING_NEW)]
    assert first.splitlines()[-8].startswith("Next steps: TIC ")


def revisions(current_output: str) -> tuple[str, ...]:
    """The revisions ``lcdb db current`` printed (its last line names the extensions)."""
    *lines, last = current_output.splitlines()
    assert last.startswith("extensions: ")
    return tuple(lines)


def test_db_current_downgrade_upgrade(env):
    assert ok(env, "db", "current") == "(empty)\nextensions: none needed (SQLite)\n"
    ok(env, "demo")
    assert revisions(ok(env, "db", "current")) == migrations.heads()
    assert tuple(ok(env, "db", "heads").split()) == migrations.heads()
    ok(env, "db", "downgrade", "base")
    assert revisions(ok(env, "db", "current")) == ("(empty)",)
    assert ok(env, "db", "upgrade").splitlines()[-1] == "extensions: none needed (SQLite)"
    assert revisions(ok(env, "db", "current")) == migrations.heads()
    ok(env, "db", "downgrade", "-1")
    assert revisions(ok(env, "db", "current")) != migrations.heads()


@pytest.mark.parametrize("argv", [("--url", "nosuchdriver://x", "demo"),
                                  ("db", "current", "--url", "nosuchdriver://x"),
                                  ("--url", "::not a url::", "db", "upgrade")])
def test_bad_url_is_one_line_error(env, argv):
    result = lcdb(env, *argv)
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("lcdb: error: "), result.stderr
    assert "Traceback" not in result.stderr


def test_debug_shows_the_traceback(env):
    result = lcdb(env, "--debug", "--url", "nosuchdriver://x", "db", "current")
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_unknown_revision_is_one_line_error(env):
    result = lcdb(env, "db", "upgrade", "nosuchrevision")
    assert result.returncode == 1
    assert result.stderr.startswith("lcdb: error: ") and result.stderr.count("\n") == 1


def test_demo_on_postgresql(env, postgres_server):
    name = "cli_demo"
    postgres_server.create_database(name)
    try:
        url = postgres_server.url(name).render_as_string(hide_password=False)
        first = ok(env, "--url", url, "demo")
        assert table_counts(first) == EXPECTED and "postgresql" in first
        second = ok(env, "demo", "--url", url)
        assert table_counts(second) == EXPECTED and NOTHING_NEW in second
        assert revisions(ok(env, "--url", url, "db", "current")) == migrations.heads()
    finally:
        postgres_server.drop_database(name)
    assert not (Path(env["XDG_DATA_HOME"]) / "lightcurvedb").exists()  # SQLite left alone


def test_parser_accepts_negative_revisions_and_options_after_commands():
    args = build_parser().parse_args(["db", "downgrade", "-1"])
    assert (args.revision, args.url, args.debug) == ("-1", None, False)
    args = build_parser().parse_args(["--url", "sqlite://", "db", "upgrade"])
    assert (args.revision, args.url) == ("heads", "sqlite://")
    args = build_parser().parse_args(["demo", "--url", "sqlite://", "--debug"])
    assert (args.url, args.debug) == ("sqlite://", True)


def test_main_in_process(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'inproc.sqlite3'}"
    assert main(["--url", url, "db", "current"]) == 0
    assert capsys.readouterr().out == "(empty)\nextensions: none needed (SQLite)\n"
    assert main(["--url", "nosuchdriver://x", "db", "current"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("lcdb: error: ") and err.count("\n") == 1


def test_error_message_uses_the_driver_message():
    exc = OperationalError("SELECT 1 FROM a_very_long_statement", {"p": 1},
                           Exception("could not connect\nDETAIL: more"))
    assert error_message(exc) == "could not connect"
    assert error_message(ValueError("")) == "ValueError"
