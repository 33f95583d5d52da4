"""The ``lcdb radio`` command group: ingest queue, calibration registry, MS stages, images.

Examples
--------
.. code-block:: console

   $ lcdb radio queue register incoming/2025-10-24T12:00:00_sb*.hdf5
   $ lcdb radio queue claim                       # prints the group and its 16 files
   $ lcdb radio queue complete 2025-10-24T12:00:00
   $ lcdb radio queue fail 2025-10-24T12:00:00 "gaincal: no solutions"
   $ lcdb radio queue retry 2025-10-24T12:00:00
   $ lcdb radio queue status
   $ lcdb radio cal register bp_3c286_60238 K=/cal/k BP=/cal/bp G=/cal/g --start 60238 --end 60239
   $ lcdb radio cal active 60238.52
   $ lcdb radio ms stage /ms/2025-10-24T12:00:00.ms imaged --field J1234+42
   $ lcdb radio image register --ms /ms/2025-10-24T12:00:00.ms img/*-image.fits

:func:`add_radio_commands` adds the group to a parser built like
:func:`lightcurvedb.cli.build_parser`'s and returns the group's subparsers, so
other modules can add their commands next to these (for instance
:func:`lightcurvedb.radio.cli_analysis.add_radio_analysis_commands`). Handlers
take the parsed arguments, run on the databases :mod:`lightcurvedb.radio.layout`
chooses -- ``--state DIR`` (the pipeline's four files, used as they are),
``--url`` (one database, migrated first), then ``LIGHTCURVEDB_RADIO_STATE``,
``LIGHTCURVEDB_URL`` and ``db.conf`` (see
:func:`~lightcurvedb.radio.cli_layout.run_radio`) -- commit on success and
return the exit status::

   $ lcdb radio --state /data/dsa110-contimg/state queue status
   $ lcdb radio queue status --state /data/dsa110-contimg/state
"""

from __future__ import annotations

import argparse

from sqlalchemy.orm import Session

from lightcurvedb._clitools import add_command, add_group
from lightcurvedb.radio.cli_layout import add_state_option, radio_options, run_radio

__all__ = ["add_radio_commands", "cmd_cal_active", "cmd_cal_register", "cmd_image_register",
           "cmd_ms_stage", "cmd_queue_claim", "cmd_queue_complete", "cmd_queue_fail",
           "cmd_queue_register", "cmd_queue_retry", "cmd_queue_status", "radio_subcommands"]



def cmd_queue_register(args: argparse.Namespace) -> int:
    """Register subband files (group and index from their names); 1 if any was refused."""
    from lightcurvedb.radio.queue import QueueError, register_subband_file

    def work(db: Session) -> int:
        status = 0
        for path in args.files:
            try:
                done = register_subband_file(db, path, expected_subbands=args.expected)
            except (QueueError, OSError) as exc:
                print(f"{path}: refused: {exc}")
                status = 1
                continue
            print(f"{done.group_id} sb{done.subband_idx:02d}: {done.n_present}/{done.expected} "
                  f"subbands, {done.state}{'' if done.created else ' (already registered)'}")
        return status

    return run_radio(args, work)


def cmd_queue_claim(args: argparse.Namespace) -> int:
    """Claim the oldest pending group; print its id and files (0 also when none is pending)."""
    from lightcurvedb.radio.queue import claim_next

    def work(db: Session) -> int:
        claimed = claim_next(db)
        if claimed is None:
            print("no pending group")
            return 0
        print(claimed.group_id)
        for path in claimed.files:
            print(f"  {path}")
        return 0

    return run_radio(args, work)


def _transition(args: argparse.Namespace, name: str) -> int:
    from lightcurvedb.radio import queue

    def work(db: Session) -> int:
        if name == "complete":
            queue.complete_group(db, args.group)
        elif name == "fail":
            queue.fail_group(db, args.group, args.message)
        else:
            queue.retry_group(db, args.group, max_retries=args.max_retries)
        print(f"{args.group}: {dict(complete='completed', fail='failed', retry='pending')[name]}")
        return 0

    return run_radio(args, work)


def cmd_queue_complete(args: argparse.Namespace) -> int:
    """Mark an in-progress group completed."""
    return _transition(args, "complete")


def cmd_queue_fail(args: argparse.Namespace) -> int:
    """Mark an in-progress group failed, with its error message."""
    return _transition(args, "fail")


def cmd_queue_retry(args: argparse.Namespace) -> int:
    """Put a failed group back in the queue."""
    return _transition(args, "retry")


def cmd_queue_status(args: argparse.Namespace) -> int:
    """Print how many groups are in each state."""
    from lightcurvedb.radio.queue import queue_counts

    def work(db: Session) -> int:
        for state, n in queue_counts(db).items():
            print(f"{state:12s}{n:8d}")
        return 0

    return run_radio(args, work)


def cmd_cal_register(args: argparse.Namespace) -> int:
    """Register a calibration set (``TYPE=PATH`` arguments) valid from --start to --end."""
    from lightcurvedb.radio.calibration_registry import register_calibration_set

    tables: dict[str, str] = {}
    for item in args.tables:
        table_type, sep, path = item.partition("=")
        if not sep or not path or table_type in tables:
            raise ValueError(f"expected distinct TYPE=PATH arguments (K=..., BP=..., G=...), "
                             f"got {item!r}")
        tables[table_type] = path

    def work(db: Session) -> int:
        rows = register_calibration_set(db, args.set_name, tables,
                                        valid_start_mjd=args.start, valid_end_mjd=args.end)
        for row in rows:
            print(f"{row.order_index} {row.table_type:2s} {row.path}")
        return 0

    return run_radio(args, work)


def cmd_cal_active(args: argparse.Namespace) -> int:
    """Print the calibration tables to apply at an MJD, in apply order."""
    from lightcurvedb.radio.calibration_registry import active_caltables

    def work(db: Session) -> int:
        for row in active_caltables(db, args.mjd, require_all=args.require_all):
            print(f"{row.order_index} {row.table_type:2s} {row.path}  (set {row.set_name}, "
                  f"MJD {row.valid_start_mjd}-{row.valid_end_mjd})")
        return 0

    return run_radio(args, work)


def cmd_ms_stage(args: argparse.Namespace) -> int:
    """Record the processing stage a Measurement Set has reached."""
    from lightcurvedb.radio.products_service import record_ms_stage

    def work(db: Session) -> int:
        ms = record_ms_stage(db, args.path, args.stage, status=args.status,
                             start_mjd=args.start_mjd, end_mjd=args.end_mjd,
                             field_name=args.field)
        print(f"{ms.path}: {ms.stage} ({ms.status})")
        return 0

    return run_radio(args, work)


def cmd_image_register(args: argparse.Namespace) -> int:
    """Register FITS images made from one Measurement Set, measured from their headers."""
    from lightcurvedb.radio.products_service import register_image

    def work(db: Session) -> int:
        for path in args.files:
            image = register_image(db, path, ms_path=args.ms, image_type=args.type,
                                   field_name=args.field)
            print(f"{image.path}: {image.imsize_x}x{image.imsize_y}, beam "
                  f"{image.beam_major_arcsec or float('nan'):.1f}\" x "
                  f"{image.beam_minor_arcsec or float('nan'):.1f}\", noise "
                  f"{(image.noise_jy or float('nan')) * 1e3:.3f} mJy/beam")
        return 0

    return run_radio(args, work)




def radio_subcommands(commands: argparse._SubParsersAction) -> argparse._SubParsersAction:
    """Return the subparsers of the ``radio`` group under ``commands``, adding it if missing.

    Lets several modules add commands to ``lcdb radio`` in any order.
    """
    parser = commands.choices.get("radio")
    if parser is None:
        radio = add_group(commands, "radio", "DSA-110 continuum pipeline: ingest queue, "
                          "calibration, images, photometry")
        add_state_option(commands.choices["radio"])    # lcdb radio --state DIR COMMAND
        return radio
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    raise ValueError("the 'radio' command has no subcommands")


def add_radio_commands(commands: argparse._SubParsersAction,
                       common: argparse.ArgumentParser | None = None
                       ) -> argparse._SubParsersAction:
    """Add the ``radio`` command group (``queue``, ``cal``, ``ms``, ``image``) to a parser.

    Parameters
    ----------
    commands : argparse._SubParsersAction
        The top-level subparsers (``parser.add_subparsers(...)``).
    common : argparse.ArgumentParser, optional
        A parent parser of options every command accepts (``--url``,
        ``--debug`` in :func:`lightcurvedb.cli.build_parser`); ``--state``
        is added.

    Returns
    -------
    argparse._SubParsersAction
        The ``radio`` group's subparsers, for more commands.
    """
    radio = radio_subcommands(commands)
    common = radio_options(common)
    queue = add_group(radio, "queue", "the ingest queue of observation groups")
    register = add_command(queue, "register", "register subband files "
                    "(<YYYY-MM-DDTHH:MM:SS>_sb<NN>.hdf5); exit status 1 if any was refused",
                    cmd_queue_register, common)
    register.add_argument("files", nargs="+", metavar="FILE", help="a subband file")
    register.add_argument("--expected-subbands", dest="expected", type=int, default=16,
                          metavar="N", help="subbands that complete a new group (default: 16)")
    add_command(queue, "claim", "claim the oldest pending group for processing", cmd_queue_claim,
         common)
    for name, help_text, func in (("complete", "mark an in-progress group completed",
                                   cmd_queue_complete),
                                  ("fail", "mark an in-progress group failed", cmd_queue_fail),
                                  ("retry", "put a failed group back in the queue",
                                   cmd_queue_retry)):
        parser = add_command(queue, name, help_text, func, common)
        parser.add_argument("group", metavar="GROUP", help="group id, YYYY-MM-DDTHH:MM:SS")
        if name == "fail":
            parser.add_argument("message", metavar="MESSAGE", help="why it failed")
        if name == "retry":
            parser.add_argument("--max-retries", type=int, default=3, metavar="N",
                                help="refuse after this many retries (default: 3)")
    add_command(queue, "status", "count the groups in each state", cmd_queue_status, common)
    cal = add_group(radio, "cal", "the calibration table registry")
    cal_register = add_command(cal, "register", "register a calibration set's K/BP/G tables",
                        cmd_cal_register, common)
    cal_register.add_argument("set_name", metavar="SET", help="set name, e.g. bp_3c286_60238")
    cal_register.add_argument("tables", nargs="+", metavar="TYPE=PATH",
                              help="a table: K=..., BP=... or G=...")
    cal_register.add_argument("--start", type=float, required=True, metavar="MJD",
                              help="start of validity (MJD, inclusive)")
    cal_register.add_argument("--end", type=float, required=True, metavar="MJD",
                              help="end of validity (MJD, exclusive)")
    active = add_command(cal, "active", "print the tables to apply at an MJD, in apply order",
                  cmd_cal_active, common)
    active.add_argument("mjd", type=float, metavar="MJD", help="observation MJD")
    active.add_argument("--require-all", action="store_true",
                        help="fail unless a K, a BP and a G table are valid")
    ms = add_group(radio, "ms", "Measurement Sets and their processing stages")
    stage = add_command(ms, "stage", "record the stage a Measurement Set has reached", cmd_ms_stage,
                 common)
    stage.add_argument("path", metavar="MS", help="full path of the Measurement Set")
    stage.add_argument("stage", choices=("converted", "calibrated", "imaged",
                                         "photometry_complete"), help="the stage reached")
    stage.add_argument("--status", choices=("ok", "failed", "flagged"), default="ok",
                       help="status (default: ok)")
    stage.add_argument("--start-mjd", type=float, metavar="MJD", help="start of the data")
    stage.add_argument("--end-mjd", type=float, metavar="MJD", help="end of the data")
    stage.add_argument("--field", metavar="NAME", help="field name, e.g. J1234+42")
    image = add_group(radio, "image", "image products")
    image_register = add_command(image, "register", "register FITS images, measured from their "
                          "headers and pixels", cmd_image_register, common)
    image_register.add_argument("files", nargs="+", metavar="FITS", help="an image file")
    image_register.add_argument("--ms", required=True, metavar="MS",
                                help="the registered Measurement Set they were made from")
    image_register.add_argument("--type", choices=("image", "pbcor", "residual", "mosaic"),
                                default="image", help="image type (default: image)")
    image_register.add_argument("--field", metavar="NAME",
                                help="field name (default: the header's OBJECT)")
    return radio
