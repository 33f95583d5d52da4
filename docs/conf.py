"""Sphinx configuration for the lightcurvedb documentation.

Build (offline; no inventory, CDN or other network access is needed)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

The schema diagram is generated at every build: ``docs/_generated/core_erd.mmd``
(ignored by git) is written by :func:`lightcurvedb.erd.mermaid_erd` from the
models' metadata and drawn by ``schema.rst`` with
``.. mermaid:: _generated/core_erd.mmd``, so it cannot drift from the code.

Mermaid diagrams are rendered in the reader's browser by mermaid.js. By default
sphinxcontrib-mermaid points pages at a CDN copy. To read the diagrams offline,
point it at a local copy of the ``mermaid`` npm package (not committed here)::

    npm install mermaid@11.12.1          # any directory, e.g. /tmp/mermaid-local
    LIGHTCURVEDB_MERMAID_DIST=/tmp/mermaid-local/node_modules/mermaid/dist \\
        sphinx-build -W --keep-going -b html docs docs/_build/html
    python -m http.server -d docs/_build/html   # ES modules are not loaded from file://

See ``docs/README.rst`` for the details.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent
GENERATED = DOCS / "_generated"

# Build from the source tree even without an (editable) install.
sys.path.insert(0, str(ROOT / "src"))

import lightcurvedb  # noqa: E402
from lightcurvedb.erd import mermaid_erd  # noqa: E402

# Declare every mapped class before autodoc runs: while documenting inherited
# members autodoc writes annotations it finds in SQLAlchemy's source (e.g.
# ``__table_args__`` on a typing-only base) into ``__annotations__``, and a
# model declared after that would break.
import lightcurvedb.missions  # noqa: E402, F401
import lightcurvedb.radio  # noqa: E402, F401
import lightcurvedb.rbh1  # noqa: E402, F401
from lightcurvedb.missions.registry import register_missions  # noqa: E402

# Installed mission plugins too (e.g. the downstream example's lcdb_kepler): the
# tutorial's figures run migrations and queries, which import them, after
# autodoc has run.
register_missions()

# -- Project -----------------------------------------------------------------

project = "lightcurvedb"
author = "lightcurvedb developers"
copyright = "lightcurvedb developers"  # noqa: A001  (Sphinx's name for it)
release = lightcurvedb.__version__
version = ".".join(release.split(".")[:2])

# -- General -----------------------------------------------------------------

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "sphinxcontrib.mermaid",
    "matplotlib.sphinxext.plot_directive",
]
# No sphinx.ext.intersphinx: builds run offline, and an unreachable inventory
# would be a warning (an error under -W). References to numpy, astropy and
# SQLAlchemy therefore render as plain text.

exclude_patterns = ["_build", "_generated", "README.rst", "Thumbs.db", ".DS_Store"]
nitpicky = False
# Models' docstrings use :class:`Target` and the like; with nitpicky off an
# unresolved name renders as code instead of failing the build.

# -- autodoc / napoleon ------------------------------------------------------

autodoc_default_options = {
    "member-order": "bysource",
    "show-inheritance": True,
}
autodoc_typehints = "description"
autodoc_typehints_description_target = "documented_params"
autodoc_typehints_format = "short"
autoclass_content = "class"
# SQLAlchemy base classes carry docstrings with references into SQLAlchemy's own
# docs (:ref:`sql_caching` ...), unresolvable without intersphinx: document only
# what lightcurvedb itself says.
autodoc_inherit_docstrings = False

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_include_init_with_doc = False
napoleon_use_param = True
napoleon_use_rtype = True
napoleon_use_ivar = False
napoleon_preprocess_types = False

# -- mermaid -----------------------------------------------------------------

mermaid_output_format = "raw"  # rendered client-side; no mmdc/Chromium at build time
mermaid_version = "11.12.1"  # the CDN version used when no local copy is configured
mermaid_height = "900px"  # the twelve-table ERD is unreadable at the default 500px

_MERMAID_DIST = os.environ.get("LIGHTCURVEDB_MERMAID_DIST", "").strip()
if _MERMAID_DIST:
    if not (pathlib.Path(_MERMAID_DIST) / "mermaid.esm.min.mjs").is_file():
        raise RuntimeError(f"LIGHTCURVEDB_MERMAID_DIST={_MERMAID_DIST!r} holds no "
                           "mermaid.esm.min.mjs (expected node_modules/mermaid/dist)")
    # Resolved relative to _static/ of the built site; see _copy_local_mermaid.
    mermaid_use_local = "mermaid/mermaid.esm.min.mjs"

# -- plot directive ----------------------------------------------------------
# lightcurves_tutorial.rst draws its figures at build time from a demo database
# in a temporary directory (removed by the page's last block). The directive
# writes the images and the code it ran under the build directory only.

plot_include_source = True
plot_html_show_source_link = False
plot_html_show_formats = False
plot_formats = [("png", 100)]
plot_pre_code = ""              # each page imports what it uses
plot_rcparams = {"figure.dpi": 100, "savefig.bbox": "tight"}

# -- HTML --------------------------------------------------------------------

html_theme = "alabaster"
html_static_path: list[str] = []
html_title = f"lightcurvedb {release}"
html_theme_options = {
    "description": "One SQLAlchemy ORM for astronomical light curves",
    "fixed_sidebar": True,
    "page_width": "1160px",
}


# -- Generated sources -------------------------------------------------------

def _write_if_changed(path: pathlib.Path, text: str) -> None:
    """Write ``text`` unless the file already holds it (keeps incremental builds quiet)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


def write_generated_sources() -> None:
    """Regenerate everything under ``docs/_generated`` from the code."""
    _write_if_changed(GENERATED / "core_erd.mmd", mermaid_erd())


def _copy_local_mermaid(app, exception) -> None:
    """Copy the local mermaid ES module and its chunks into ``_static/mermaid``."""
    if exception is not None or not _MERMAID_DIST or app.builder.format != "html":
        return
    source = pathlib.Path(_MERMAID_DIST)
    target = pathlib.Path(app.outdir) / "_static" / "mermaid"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy2(source / "mermaid.esm.min.mjs", target / "mermaid.esm.min.mjs")
    shutil.copytree(source / "chunks" / "mermaid.esm.min",
                    target / "chunks" / "mermaid.esm.min", dirs_exist_ok=True)


write_generated_sources()


def setup(app):
    """Register the build hooks of this configuration."""
    app.connect("build-finished", _copy_local_mermaid)
