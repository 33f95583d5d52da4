"""nox sessions: tests, lint, typecheck, docs, migrations."""

import nox

nox.options.sessions = ["tests", "lint", "docs", "migrations"]
nox.options.default_venv_backend = "venv"


@nox.session
def tests(session: nox.Session) -> None:
    """Run the whole test suite on SQLite and PostgreSQL."""
    session.install(".[test]", "./tests/downstream")
    session.run("python", "-m", "pytest", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff, docstring rules included."""
    session.install("ruff")
    session.run("ruff", "check", "src", "tests")


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy over the package."""
    session.install(".", "mypy")
    session.run("mypy", "src/lightcurvedb")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the Sphinx documentation with warnings as errors."""
    session.install(".[docs]")
    session.run("sphinx-build", "-W", "--keep-going", "-b", "html", "docs", "docs/_build/html")


@nox.session
def migrations(session: nox.Session) -> None:
    """The migration checks: one head, empty autogenerate diff, down and up again."""
    session.install(".[test]", "./tests/downstream")
    session.run("python", "-m", "pytest", "tests/test_migrations.py", *session.posargs)
