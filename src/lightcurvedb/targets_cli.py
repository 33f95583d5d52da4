"""The ``lcdb targets`` command group: list targets, look one up by name, cone searches.

Examples
--------
.. code-block:: console

   $ lcdb targets list --catalog TIC --limit 20
   $ lcdb targets search TIC 261136679        # or a designation, or an alias
   $ lcdb targets cone "05:37:09.9 -80:28:09" 2deg
   $ lcdb targets cone "TIC 261136679" 30arcmin --format csv

``CENTER`` is a position (sexagesimal with RA in hours, or two numbers in
degrees) or the name of a target with a position; ``RADIUS`` carries its unit
(``30arcsec``, ``2arcmin``, ``1.5deg``; a bare number is degrees). Tables are
printed as text, or as CSV/ECSV with ``--format`` (:func:`lightcurvedb.sky.cone_search`,
:func:`lightcurvedb.sky.list_targets`). Like :mod:`lightcurvedb.lc_cli`, building
the parser imports neither astropy nor the models.
"""

from __future__ import annotations

import argparse
import io
from typing import TYPE_CHECKING, Any

from lightcurvedb._clitools import add_command, add_group, require_schema, run_in_session

if TYPE_CHECKING:
    from astropy.table import Table
    from sqlalchemy.orm import Session

    from lightcurvedb.models import Target

__all__ = ["add_targets_commands", "cmd_cone", "cmd_list", "cmd_search", "describe_target"]

_FORMATS = {"text": None, "csv": "ascii.csv", "ecsv": "ascii.ecsv"}


def _print_table(table: Table, fmt: str, empty: str) -> None:
    if fmt != "text":
        out = io.StringIO()
        table.write(out, format=_FORMATS[fmt])
        print(out.getvalue(), end="" if out.getvalue().endswith("\n") else "\n")
    elif len(table) == 0:
        print(empty)
    else:
        for column in ("ra", "dec", "distance"):
            if column in table.colnames:
                table[column].info.format = ".6f"
        if "magnitude" in table.colnames:
            table["magnitude"].info.format = ".3f"
        print("\n".join(table.pformat(max_lines=-1, max_width=-1)))


def describe_target(target: Target, n_lightcurves: int) -> str:
    """Return the lines ``lcdb targets search`` prints for one target.

    Parameters
    ----------
    target : Target
        With its catalog and aliases.
    n_lightcurves : int
        How many light curves it has.

    Returns
    -------
    str
    """
    lines = [f"{target.catalog.name} {target.name}"
             + (f" ({target.designation})" if target.designation else "")]
    coord = target.coord
    if coord is None:
        lines.append("  position: none stored")
    else:
        epoch = f", epoch J{target.epoch:g}" if target.epoch is not None else ""
        lines.append(f"  position: RA {target.ra:.6f} Dec {target.dec:+.6f} deg ICRS "
                     f"({coord.to_string('hmsdms', sep=':', precision=2)}){epoch}")
        if target.pm_ra is not None and target.pm_dec is not None:
            lines.append(f"  proper motion: {target.pm_ra:g} {target.pm_dec:+g} mas/yr "
                         "(RA cos Dec, Dec)")
    if target.magnitude is not None:
        lines.append(f"  magnitude: {target.magnitude:.3f} ({target.magnitude_band or '?'})")
    for alias in target.aliases:
        lines.append(f"  alias: {alias.catalog} {alias.name}")
    lines.append(f"  light curves: {n_lightcurves}")
    return "\n".join(lines)


def cmd_list(args: argparse.Namespace) -> int:
    """List targets (``lcdb targets list``); 0.

    Returns
    -------
    int
    """
    def work(session: Session) -> int:
        from lightcurvedb.sky import list_targets

        require_schema(session)
        table = list_targets(session, catalog=args.catalog, limit=args.limit)
        _print_table(table, args.format, "no targets in the database")
        if args.format == "text" and len(table) < table.meta["total"]:
            print(f"({len(table)} of {table.meta['total']} targets: --limit N for more)")
        return 0

    return run_in_session(args, work, migrate=False)


def cmd_search(args: argparse.Namespace) -> int:
    """Print the target ``args.name`` names (``lcdb targets search``); 0.

    Returns
    -------
    int
    """
    def work(session: Session) -> int:
        from sqlalchemy import func, select

        from lightcurvedb.models import DataSet
        from lightcurvedb.sky import find_target

        require_schema(session)
        target = find_target(session, " ".join(args.name), catalog=args.catalog)
        count = session.scalar(select(func.count()).select_from(DataSet)
                               .where(DataSet.target_id == target.id)) or 0
        print(describe_target(target, count))
        return 0

    return run_in_session(args, work, migrate=False)


def _center(session: Session, text: str) -> Any:
    """Return ``text`` as a position, or the target it names."""
    from lightcurvedb.sky import find_target, parse_center

    try:
        return parse_center(text)
    except ValueError as not_position:
        try:
            return find_target(session, text)
        except LookupError:
            raise ValueError(f"CENTER {text!r} is neither a sky position nor a target's "
                             f"name ({not_position})") from None


def cmd_cone(args: argparse.Namespace) -> int:
    """Print the targets within ``args.radius`` of ``args.center`` (``lcdb targets cone``); 0.

    Returns
    -------
    int
    """
    from lightcurvedb.sky import parse_radius

    radius = parse_radius(args.radius)      # a bad radius fails before connecting

    def work(session: Session) -> int:
        from lightcurvedb.sky import cone_search

        require_schema(session)
        table = cone_search(session, _center(session, args.center), radius,
                            catalog=args.catalog, limit=args.limit)
        _print_table(table, args.format,
                     f"no targets within {args.radius} of {args.center}")
        return 0

    return run_in_session(args, work, migrate=False)


def _add_table_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--catalog", metavar="NAME", help="only targets of this catalog")
    parser.add_argument("--limit", type=int, metavar="N", help="at most N rows")
    parser.add_argument("--format", choices=tuple(_FORMATS), default="text",
                        help="text (default), csv or ecsv (with units)")


def add_targets_commands(commands: argparse._SubParsersAction,
                         common: argparse.ArgumentParser | None = None
                         ) -> argparse._SubParsersAction:
    """Add the ``targets`` command group (``list``, ``search``, ``cone``) to a parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The top-level subparsers.
    common : argparse.ArgumentParser, optional
        A parent parser of options every command accepts (``--url``, ``--debug``).

    Returns
    -------
    argparse._SubParsersAction
        The subparsers of the group.
    """
    group = add_group(commands, "targets", "list targets, find one by name, search a cone")
    listing = add_command(group, "list", "list targets with their positions and magnitudes",
                          cmd_list, common)
    _add_table_options(listing)
    listing.set_defaults(limit=50)
    search = add_command(group, "search", "show the target NAME names: catalog number, "
                         "designation or alias", cmd_search, common)
    search.add_argument("name", nargs="+", metavar="NAME",
                        help="e.g. TIC 261136679, 261136679, a designation or an alias "
                             "such as 'Gaia DR3 4623036143454223744'")
    search.add_argument("--catalog", metavar="NAME",
                        help="look only in this catalog (for bare numbers)")
    cone = add_command(group, "cone", "list the targets within RADIUS of CENTER, nearest "
                       "first", cmd_cone, common)
    cone.add_argument("center", metavar="CENTER",
                      help="'HH:MM:SS.s +DD:MM:SS', '84.29 -80.47' (deg) or a target's name "
                           "(quote it)")
    cone.add_argument("radius", metavar="RADIUS",
                      help="with its unit: 30arcsec, 2arcmin, 1.5deg (bare number: deg)")
    _add_table_options(cone)
    return group
