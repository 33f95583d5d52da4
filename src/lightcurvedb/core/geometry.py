"""Sky polygons (footprints) that work on PostgreSQL/PostGIS and on SQLite.

A :class:`SkyPolygon` is a closed polygon of (RA, Dec) vertices in degrees. In
the database it is a PostGIS ``geometry(POLYGON, 4326)`` on a PostgreSQL that
uses PostGIS, and well-known text on SQLite and on a PostgreSQL without it
(:mod:`lightcurvedb.core.extensions`). Three SQL functions work everywhere:

* :class:`polygon_contains` ``(footprint, ra, dec)`` -- ``ST_Contains`` with
  PostGIS; a Python function registered on every SQLite connection; the
  PL/pgSQL ``rbh1.lcdb_polygon_contains`` of :mod:`lightcurvedb.core.pgpolygon`
  on PostgreSQL without PostGIS;
* :class:`polygons_intersect` ``(a, b)`` -- ``ST_Intersects`` / its twins;
* :class:`polygon_is_valid` ``(footprint)`` -- ``ST_IsValid`` / its twins.

Coordinates are planar (RA, Dec) degrees, as PostGIS ``geometry`` treats them:
fine for footprints of arcminutes to degrees away from the poles and from
RA = 0/360, which is where the missions here point.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.functions import GenericFunction
from sqlalchemy.types import Boolean

from lightcurvedb.core.extensions import postgis_footprints

__all__ = [
    "SQLITE_FUNCTIONS",
    "SkyPolygon",
    "convex_hull",
    "polygon_contains",
    "polygon_is_valid",
    "polygons_intersect",
]

_PAIR = re.compile(r"(-?[\d.eE+-]+)\s+(-?[\d.eE+-]+)")


@dataclass(frozen=True)
class SkyPolygon:
    """A simple polygon on the sky, vertices in degrees (RA, Dec), not repeated at the end.

    Parameters
    ----------
    vertices : sequence of (float, float)
        At least three distinct (RA, Dec) corners, in order around the polygon.
    """

    vertices: tuple[tuple[float, float], ...]

    def __post_init__(self) -> None:
        vertices = tuple((float(ra), float(dec)) for ra, dec in self.vertices)
        if len(vertices) > 1 and vertices[0] == vertices[-1]:
            vertices = vertices[:-1]
        if len(set(vertices)) < 3:
            raise ValueError(f"a sky polygon needs at least 3 distinct vertices, got {vertices}")
        if not np.isfinite(np.asarray(vertices)).all():
            raise ValueError(f"sky polygon vertices must be finite, got {vertices}")
        object.__setattr__(self, "vertices", vertices)

    @classmethod
    def from_wkt(cls, text: str) -> SkyPolygon:
        """Parse ``POLYGON((ra dec, ...))`` well-known text (the outer ring only)."""
        if not text.upper().lstrip().startswith("POLYGON"):
            raise ValueError(f"not a POLYGON: {text[:40]!r}")
        ring = text[text.index("(") + 1:].split(")")[0]
        return cls(tuple((float(a), float(b)) for a, b in _PAIR.findall(ring)))

    def to_wkt(self) -> str:
        """Return ``POLYGON((ra dec, ..., ra0 dec0))`` with the ring closed."""
        ring = [*self.vertices, self.vertices[0]]
        return "POLYGON((" + ", ".join(f"{ra!r} {dec!r}" for ra, dec in ring) + "))"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(ra_min, dec_min, ra_max, dec_max) in degrees."""
        ra, dec = np.asarray(self.vertices).T
        return float(ra.min()), float(dec.min()), float(ra.max()), float(dec.max())

    @property
    def area(self) -> float:
        """Planar area in square degrees (shoelace formula)."""
        ra, dec = np.asarray(self.vertices).T
        return float(abs(np.dot(ra, np.roll(dec, -1)) - np.dot(dec, np.roll(ra, -1))) / 2)

    def is_valid(self) -> bool:
        """Whether no two non-adjacent edges cross (a simple polygon with area)."""
        edges = self._edges()
        n = len(edges)
        for i in range(n):
            for j in range(i + 1, n):
                if j == i + 1 or (i == 0 and j == n - 1):
                    continue
                if _segments_cross(*edges[i], *edges[j]):
                    return False
        return self.area > 0

    def contains(self, ra: float, dec: float) -> bool:
        """Whether (ra, dec) lies strictly inside the polygon (even-odd rule)."""
        inside = False
        for (x1, y1), (x2, y2) in self._edges():
            if (y1 > dec) != (y2 > dec):
                x_cross = x1 + (dec - y1) * (x2 - x1) / (y2 - y1)
                if ra < x_cross:
                    inside = not inside
        return inside

    def intersects(self, other: SkyPolygon) -> bool:
        """Whether the two polygons share any point (edges crossing or one inside the other)."""
        a, b = self.bounds, other.bounds
        if a[2] < b[0] or b[2] < a[0] or a[3] < b[1] or b[3] < a[1]:
            return False
        if any(_segments_cross(*e, *f) for e in self._edges() for f in other._edges()):
            return True
        return self.contains(*other.vertices[0]) or other.contains(*self.vertices[0])

    def _edges(self) -> list[tuple[tuple[float, float], tuple[float, float]]]:
        v = self.vertices
        return [(v[i], v[(i + 1) % len(v)]) for i in range(len(v))]


def _orientation(p: Sequence[float], q: Sequence[float], r: Sequence[float]) -> float:
    return (q[0] - p[0]) * (r[1] - p[1]) - (q[1] - p[1]) * (r[0] - p[0])


def _segments_cross(p1: Sequence[float], p2: Sequence[float], q1: Sequence[float],
                    q2: Sequence[float]) -> bool:
    d1, d2 = _orientation(q1, q2, p1), _orientation(q1, q2, p2)
    d3, d4 = _orientation(p1, p2, q1), _orientation(p1, p2, q2)
    return (d1 * d2 < 0) and (d3 * d4 < 0)


def convex_hull(points: Iterable[tuple[float, float]]) -> SkyPolygon:
    """Return the convex hull of ``points`` (e.g. both chips of an HST exposure) as a polygon."""
    pts = sorted(set((float(x), float(y)) for x, y in points))
    if len(pts) < 3:
        raise ValueError("a convex hull needs at least 3 distinct points")

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        hull: list[tuple[float, float]] = []
        for p in seq:
            while len(hull) >= 2 and _orientation(hull[-2], hull[-1], p) <= 0:
                hull.pop()
            hull.append(p)
        return hull

    lower, upper = half(pts), half(pts[::-1])
    return SkyPolygon(tuple(lower[:-1] + upper[:-1]))


class polygon_contains(GenericFunction[bool]):  # noqa: N801  (SQL function names are lower case)
    """SQL test: footprint ``polygon`` contains the point (``ra``, ``dec``)."""

    type = Boolean()
    inherit_cache = True


class polygons_intersect(GenericFunction[bool]):  # noqa: N801
    """SQL test: the footprints ``a`` and ``b`` share a point."""

    type = Boolean()
    inherit_cache = True


class polygon_is_valid(GenericFunction[bool]):  # noqa: N801
    """SQL test: the footprint is a simple polygon with area (:meth:`SkyPolygon.is_valid`)."""

    type = Boolean()
    inherit_cache = True


#: SQL function name of each test: (with PostGIS, PL/pgSQL without it, SQLite).
_NAMES = {
    "polygon_contains": ("ST_Contains", "rbh1.lcdb_polygon_contains", "lcdb_polygon_contains"),
    "polygons_intersect": ("ST_Intersects", "rbh1.lcdb_polygons_intersect",
                           "lcdb_polygons_intersect"),
    "polygon_is_valid": ("ST_IsValid", "rbh1.lcdb_polygon_is_valid", "lcdb_polygon_is_valid"),
}


@compiles(polygon_contains)
@compiles(polygons_intersect)
@compiles(polygon_is_valid)
def _polygon_function(element: Any, compiler: SQLCompiler, **kw: Any) -> str:
    postgis, plpgsql, sqlite = _NAMES[element.name]
    if postgis_footprints(compiler.dialect):
        args = [compiler.process(arg, **kw) for arg in element.clauses]
        if element.name == "polygon_contains":
            args[1:] = [f"ST_SetSRID(ST_MakePoint({args[1]}, {args[2]}), 4326)"]
        return f"{postgis}({', '.join(args)})"
    name = plpgsql if compiler.dialect.name == "postgresql" else sqlite
    return f"{name}({compiler.process(element.clauses, **kw)})"


def _sqlite_contains(wkt: str | None, ra: float | None, dec: float | None) -> int | None:
    if wkt is None or ra is None or dec is None:
        return None
    return int(SkyPolygon.from_wkt(wkt).contains(ra, dec))


def _sqlite_intersects(a: str | None, b: str | None) -> int | None:
    if a is None or b is None:
        return None
    return int(SkyPolygon.from_wkt(a).intersects(SkyPolygon.from_wkt(b)))


#: Functions registered on every SQLite connection by :func:`lightcurvedb.connect`:
#: name -> (number of arguments, implementation).
SQLITE_FUNCTIONS = {
    "lcdb_polygon_contains": (3, _sqlite_contains),
    "lcdb_polygons_intersect": (2, _sqlite_intersects),
    "lcdb_polygon_is_valid": (1, lambda wkt: None if wkt is None
                              else int(SkyPolygon.from_wkt(wkt).is_valid())),
}
