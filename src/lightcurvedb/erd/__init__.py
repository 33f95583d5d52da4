"""Entity-relationship diagrams of the schema, generated from the SQLAlchemy metadata.

Two renderings of the same tables and foreign keys:

* :func:`graphviz_erd` -- Graphviz DOT, drawn to a static SVG by ``dot``
  (the documentation's diagrams, one per area of :data:`AREAS`; readable
  offline);
* :func:`mermaid_erd` -- mermaid ``erDiagram`` text, drawn by mermaid.js in a
  browser.

::

    from lightcurvedb.erd import graphviz_erd, mermaid_erd
    print(graphviz_erd(area="core"))          # dot -Tsvg > core.svg
    print(mermaid_erd())                      # the fifteen core tables

Both are deterministic: the same tables always give the same text.
"""

from lightcurvedb.erd.graphviz import graphviz_erd
from lightcurvedb.erd.mermaid import mermaid_erd
from lightcurvedb.erd.tables import (
    AREAS,
    area_tables,
    column_type_token,
    entity_names,
    table_area,
)

__all__ = ["AREAS", "area_tables", "column_type_token", "entity_names", "graphviz_erd",
           "mermaid_erd", "table_area"]
