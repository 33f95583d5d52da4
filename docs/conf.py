"""Sphinx configuration for the lightcurvedb documentation.

Build (offline; no inventory, CDN or other network access is needed)::

    sphinx-build -W --keep-going -b html docs docs/_build/html

Python, SQLAlchemy and astropy names link to their online docs when Debian's
documentation packages are installed: intersphinx reads their ``objects.inv``
from ``/usr/share/doc`` (see ``_INVENTORIES`` below) and leaves out a project
whose file is missing. numpy names link to https://numpy.org/doc/stable/
through an inventory that ``docs/_numpy_inventory.py`` generates from the
installed numpy at every build, into a cache directory outside the source tree.

The schema diagrams are generated at every build: the ``lcdb-erd`` directive
defined here (``.. lcdb-erd:: core``) asks :func:`lightcurvedb.erd.graphviz_erd`
for the area's DOT text and hands it to ``sphinx.ext.graphviz``, which runs
Graphviz's ``dot`` (Debian package ``graphviz``) to draw a static SVG. Nothing
is written into the source tree and the pages need no JavaScript, so they read
offline and cannot drift from the models.

sphinxcontrib-mermaid stays enabled for pages that draw mermaid diagrams
(rendered in the reader's browser by mermaid.js; ``LIGHTCURVEDB_MERMAID_DIST``
points the pages at a local copy instead of the CDN).

See ``docs/README.rst`` for the details.
"""

from __future__ import annotations

import os
import pathlib
import shutil
import sys

DOCS = pathlib.Path(__file__).resolve().parent
ROOT = DOCS.parent

# Build from the source tree even without an (editable) install; docs/ holds
# _numpy_inventory.
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(DOCS))

import _numpy_inventory  # noqa: E402
from docutils.statemachine import StringList  # noqa: E402
from sphinx.ext.graphviz import Graphviz  # noqa: E402

import lightcurvedb  # noqa: E402

# Declare every mapped class before autodoc runs: while documenting inherited
# members autodoc writes annotations it finds in SQLAlchemy's source (e.g.
# ``__table_args__`` on a typing-only base) into ``__annotations__``, and a
# model declared after that would break.
import lightcurvedb.missions  # noqa: E402, F401
import lightcurvedb.radio  # noqa: E402, F401
import lightcurvedb.rbh1  # noqa: E402, F401
from lightcurvedb.erd import AREAS, graphviz_erd  # noqa: E402
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
    "sphinx.ext.graphviz",
    "sphinxcontrib.mermaid",
    "matplotlib.sphinxext.plot_directive",
]

# -- intersphinx from local inventories ---------------------------------------
# Builds run offline, so no inventory is fetched. Debian's documentation
# packages ship the objects.inv of their HTML docs; where one is installed, names
# of that project link to its online docs (the inventory file is local, the
# link target is the web). A missing file leaves that project out, so a plain
# build works without them. numpy has no such package in Debian 12 and no PyPI
# package ships its objects.inv: _numpy_inventory.write_inventory() writes one
# from the installed numpy (public functions, classes, scalar types, ndarray
# members, numpy.typing aliases, constants, numpy.random.Generator) into
# <tempdir>/lightcurvedb-docs/, outside the checkout, linking to numpy's stable
# docs. LIGHTCURVEDB_DOCS_NO_INTERSPHINX=1 leaves every project out, numpy too.
# See docs/README.rst.
_INVENTORIES = {
    # name: (online target, Debian package, inventory installed by the package)
    "python": (f"https://docs.python.org/{sys.version_info.major}.{sys.version_info.minor}/",
               f"python{sys.version_info.major}.{sys.version_info.minor}-doc",
               f"/usr/share/doc/python{sys.version_info.major}.{sys.version_info.minor}"
               "/html/objects.inv"),
    "sqlalchemy": ("https://docs.sqlalchemy.org/en/14/", "python-sqlalchemy-doc",
                   "/usr/share/doc/python-sqlalchemy-doc/html/objects.inv"),
    "astropy": ("https://docs.astropy.org/en/stable/", "python-astropy-doc",
                "/usr/share/doc/python-astropy-doc/html/objects.inv"),
}
if os.environ.get("LIGHTCURVEDB_DOCS_NO_INTERSPHINX"):   # to check the plain build
    _INVENTORIES = {}
intersphinx_mapping = {name: (target, inventory)
                       for name, (target, _, inventory) in _INVENTORIES.items()
                       if pathlib.Path(inventory).is_file()}
if not os.environ.get("LIGHTCURVEDB_DOCS_NO_INTERSPHINX"):
    intersphinx_mapping["numpy"] = (_numpy_inventory.BASE_URL,
                                    str(_numpy_inventory.write_inventory()))
if intersphinx_mapping:
    extensions.append("sphinx.ext.intersphinx")

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

# -- graphviz ----------------------------------------------------------------

graphviz_output_format = "svg"  # static, scalable, readable offline

# -- mermaid -----------------------------------------------------------------

mermaid_output_format = "raw"  # rendered client-side; no mmdc/Chromium at build time
mermaid_version = "11.12.1"  # the CDN version used when no local copy is configured

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
html_static_path = ["_static"]
html_css_files = ["erd.css"]  # ERDs at full size, scrolling sideways
html_title = f"lightcurvedb {release}"
html_theme_options = {
    "description": "One SQLAlchemy ORM for astronomical light curves",
    "fixed_sidebar": True,
    "page_width": "1160px",
}


# -- Generated diagrams ------------------------------------------------------

class ERDDirective(Graphviz):
    """``.. lcdb-erd:: AREA``: the area's entity-relationship diagram, drawn by ``dot``.

    Takes the options of the ``graphviz`` directive (``:caption:``, ``:alt:``,
    ``:align:``, ...); the DOT text comes from :func:`lightcurvedb.erd.graphviz_erd`.
    """

    required_arguments = 1
    has_content = False

    def run(self):
        area = self.arguments[0]
        if area not in AREAS:
            raise self.error(f"lcdb-erd: unknown area {area!r}; choose one of {', '.join(AREAS)}")
        self.arguments = []
        self.content = StringList(graphviz_erd(area).splitlines(), source=f"graphviz_erd({area!r})")
        return super().run()


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


def setup(app):
    """Register the ERD directive and the build hooks of this configuration."""
    app.add_directive("lcdb-erd", ERDDirective)
    app.connect("build-finished", _copy_local_mermaid)
