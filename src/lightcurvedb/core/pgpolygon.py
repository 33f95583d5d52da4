"""PL/pgSQL polygon tests for footprints stored as text on a PostgreSQL without PostGIS.

The functions repeat, statement for statement, the Python tests of
:class:`~lightcurvedb.core.geometry.SkyPolygon` (the ones SQLite calls), on the
well-known text :class:`~lightcurvedb.core.types.SkyPolygonType` stores:

* ``rbh1.lcdb_polygon_contains(wkt, x, y)`` (RA, Dec) -- :meth:`SkyPolygon.contains`
  (even-odd rule, strictly inside);
* ``rbh1.lcdb_polygons_intersect(a, b)`` -- :meth:`SkyPolygon.intersects`;
* ``rbh1.lcdb_polygon_is_valid(wkt)`` -- :meth:`SkyPolygon.is_valid`;
* ``rbh1.lcdb_polygon_ring(wkt)`` -- the closed outer ring as ``float8[n][2]``.

The same double-precision arithmetic in the same order gives the same
answers as SQLite's Python twins. Migration ``0003`` creates them when it
stores footprints as text; :func:`lightcurvedb.extensions.enable` drops them
once the footprints are PostGIS geometry.
"""

from __future__ import annotations

__all__ = ["CREATE_FUNCTIONS", "DROP_FUNCTIONS", "SCHEMA"]

SCHEMA = "rbh1"

_RING = f"""
CREATE FUNCTION {SCHEMA}.lcdb_polygon_ring(wkt text) RETURNS float8[]
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT array_agg(ARRAY[xy[1]::float8, xy[2]::float8] ORDER BY n)
    FROM unnest(string_to_array(substring(wkt FROM '\\(\\s*\\(([^)]*)\\)'), ','))
         WITH ORDINALITY AS p(pair, n),
         LATERAL regexp_split_to_array(btrim(pair), '\\s+') AS xy
$$"""

_CONTAINS = f"""
CREATE FUNCTION {SCHEMA}.lcdb_polygon_contains(wkt text, x float8, y float8)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    v float8[] := {SCHEMA}.lcdb_polygon_ring(wkt);
    inside boolean := false;
BEGIN
    FOR i IN 1 .. array_length(v, 1) - 1 LOOP
        IF (v[i][2] > y) <> (v[i + 1][2] > y) THEN
            IF x < v[i][1] + (y - v[i][2]) * (v[i + 1][1] - v[i][1])
                                / (v[i + 1][2] - v[i][2]) THEN
                inside := NOT inside;
            END IF;
        END IF;
    END LOOP;
    RETURN inside;
END $$"""

# Whether segments p1-p2 and q1-q2 cross (strictly), as geometry._segments_cross.
_CROSS = f"""
CREATE FUNCTION {SCHEMA}.lcdb_segments_cross(
    p1x float8, p1y float8, p2x float8, p2y float8,
    q1x float8, q1y float8, q2x float8, q2y float8)
RETURNS boolean LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT ((q2x - q1x) * (p1y - q1y) - (q2y - q1y) * (p1x - q1x))
           * ((q2x - q1x) * (p2y - q1y) - (q2y - q1y) * (p2x - q1x)) < 0
       AND ((p2x - p1x) * (q1y - p1y) - (p2y - p1y) * (q1x - p1x))
           * ((p2x - p1x) * (q2y - p1y) - (p2y - p1y) * (q2x - p1x)) < 0
$$"""

_INTERSECT = f"""
CREATE FUNCTION {SCHEMA}.lcdb_polygons_intersect(a text, b text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    u float8[] := {SCHEMA}.lcdb_polygon_ring(a);
    w float8[] := {SCHEMA}.lcdb_polygon_ring(b);
    m int := array_length(u, 1);
    n int := array_length(w, 1);
BEGIN
    IF (SELECT max(u[i][1]) FROM generate_series(1, m) i)
           < (SELECT min(w[j][1]) FROM generate_series(1, n) j)
       OR (SELECT max(w[j][1]) FROM generate_series(1, n) j)
           < (SELECT min(u[i][1]) FROM generate_series(1, m) i)
       OR (SELECT max(u[i][2]) FROM generate_series(1, m) i)
           < (SELECT min(w[j][2]) FROM generate_series(1, n) j)
       OR (SELECT max(w[j][2]) FROM generate_series(1, n) j)
           < (SELECT min(u[i][2]) FROM generate_series(1, m) i) THEN
        RETURN false;
    END IF;
    FOR i IN 1 .. m - 1 LOOP
        FOR j IN 1 .. n - 1 LOOP
            IF {SCHEMA}.lcdb_segments_cross(u[i][1], u[i][2], u[i + 1][1], u[i + 1][2],
                                           w[j][1], w[j][2], w[j + 1][1], w[j + 1][2]) THEN
                RETURN true;
            END IF;
        END LOOP;
    END LOOP;
    RETURN {SCHEMA}.lcdb_polygon_contains(a, w[1][1], w[1][2])
        OR {SCHEMA}.lcdb_polygon_contains(b, u[1][1], u[1][2]);
END $$"""

_IS_VALID = f"""
CREATE FUNCTION {SCHEMA}.lcdb_polygon_is_valid(wkt text)
RETURNS boolean LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
    v float8[] := {SCHEMA}.lcdb_polygon_ring(wkt);
    e int := array_length(v, 1) - 1;
    twice_area float8 := 0;
BEGIN
    FOR i IN 1 .. e LOOP
        FOR j IN i + 2 .. e LOOP
            CONTINUE WHEN i = 1 AND j = e;
            IF {SCHEMA}.lcdb_segments_cross(v[i][1], v[i][2], v[i + 1][1], v[i + 1][2],
                                           v[j][1], v[j][2], v[j + 1][1], v[j + 1][2]) THEN
                RETURN false;
            END IF;
        END LOOP;
        twice_area := twice_area + v[i][1] * v[i + 1][2] - v[i][2] * v[i + 1][1];
    END LOOP;
    RETURN abs(twice_area) / 2 > 0;
END $$"""

#: ``CREATE FUNCTION`` statements, in dependency order.
CREATE_FUNCTIONS = (_RING, _CONTAINS, _CROSS, _INTERSECT, _IS_VALID)

#: ``DROP FUNCTION IF EXISTS`` statements, dependants first.
DROP_FUNCTIONS = tuple(
    f"DROP FUNCTION IF EXISTS {SCHEMA}.{signature}" for signature in (
        "lcdb_polygon_is_valid(text)", "lcdb_polygons_intersect(text, text)",
        "lcdb_segments_cross(float8, float8, float8, float8, float8, float8, float8, float8)",
        "lcdb_polygon_contains(text, float8, float8)", "lcdb_polygon_ring(text)"))
