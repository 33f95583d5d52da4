"""``lcdb lc show|plot|export`` and the demo's next steps, on SQLite and PostgreSQL.

Every expectation comes from outside the code under test: the generated SPOC
file read with astropy (its ``TIME``, ``SAP_FLUX``, ``PDCSAP_FLUX`` and
``QUALITY`` columns), numpy on those arrays, the light-curve API's arrays, the
PNG format's own header, and lightkurve's TESS quality bits.
"""

from __future__ import annotations

import json
import re
import shlex
import struct
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.table import Table
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

import lightcurvedb
from cli_support import lcdb
from conftest import BACKENDS, create_test_database
from lightcurvedb.cli import build_parser, main
from lightcurvedb.demo import DEMO_POSITIONS, install_demo
from lightcurvedb.lc.extras import require
from lightcurvedb.lc.files import EXPORT_FORMATS, figure
from lightcurvedb.lc.selection import parse_target
from lightcurvedb.lc_cli import FORMATS
from lightcurvedb.loaders.tess import load_paths
from lightcurvedb.testing.fits import write_spoc_lightcurve
from sky_support import haversine_deg

SPOC_TIC, SPOC_SECTOR, N_CADENCES = 38846515, 3, 400
#: The demo's transiting target, which its next steps name.
DEMO_TIC = 25155310
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@dataclass(frozen=True)
class Loaded:
    url: str
    spoc: Path


@pytest.fixture(scope="module", params=BACKENDS)
def database(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Loaded:
    """The demo plus one generated SPOC file loaded by the TESS loader, committed."""
    spoc = write_spoc_lightcurve(tmp_path_factory.mktemp("spoc"), tic_id=SPOC_TIC,
                                 sector=SPOC_SECTOR, camera=2, ccd=3, n_cadences=N_CADENCES)
    if request.param == "sqlite":
        url = URL.create("sqlite", database=str(tmp_path_factory.mktemp("db") / "lc.sqlite3"))
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_test_database(server, "cli_lc")
        request.addfinalizer(lambda: server.drop_database("cli_lc"))
    install_demo(url)
    assert load_paths(url, [spoc], progress=False).ok
    return Loaded(url.render_as_string(hide_password=False), spoc)


@dataclass(frozen=True)
class Source:
    """The SPOC file's columns, as astropy reads them."""

    time: np.ndarray
    sap: np.ndarray
    pdcsap: np.ndarray
    quality: np.ndarray
    cadenceno: np.ndarray

    def flux(self, processing: str) -> np.ndarray:
        return self.pdcsap if processing == "PDC" else self.sap


@pytest.fixture(scope="module")
def source(database: Loaded) -> Source:
    with fits.open(database.spoc) as hdul:
        data = hdul["LIGHTCURVE"].data
        return Source(*(np.array(data[name], dtype=float) for name in
                        ("TIME", "SAP_FLUX", "PDCSAP_FLUX")),
                      np.array(data["QUALITY"], dtype=np.int64),
                      np.array(data["CADENCENO"], dtype=np.int64))


@pytest.fixture
def api(database: Loaded) -> Iterator[Session]:
    engine = lightcurvedb.connect(database.url)
    try:
        with Session(engine) as session:
            yield session
    finally:
        engine.dispose()


def run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def rows(stdout: str) -> list[list[str]]:
    """The data rows of the ``show`` table: cells split at two or more spaces."""
    lines = stdout.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("-------")) + 1
    out = []
    for line in lines[start:]:
        if not line.strip():
            break
        out.append(re.split(r"\s{2,}", line.strip()))
    return out


def default_bits() -> int:
    """lightcurvedb's TESS "default": lightkurve's default plus scattered light (4096)."""
    flags = require("lightkurve.utils", "lightkurve", "test").TessQualityFlags
    return int(flags.DEFAULT_BITMASK | flags.Straylight2)   # bit 13 (4096)


# -- show ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("bitmask", "bad_bits"), [("none", 0), ("hardest", -1),
                                                   ("default", None)])
def test_show_counts_span_and_median_of_the_source_file(database, source, capsys, bitmask,
                                                        bad_bits):
    status, out, err = run(capsys, "--url", database.url, "lc", "show", "TIC", str(SPOC_TIC),
                           "--quality-bitmask", bitmask)
    assert status == 0, err
    assert out.splitlines()[0] == f"TIC {SPOC_TIC}: 2 light curves (quality bitmask: {bitmask})"
    header = re.split(r"\s{2,}", out.splitlines()[1].strip())
    assert header == ["dataset", "mission", "target", "observation", "photometry", "processing",
                      "cadences", "good", "time (BTJD)", "median flux", "unit"]
    table = rows(out)
    assert [row[5] for row in table] == ["raw", "PDC"]   # SAP first: the lower id
    bits = default_bits() if bad_bits is None else bad_bits
    for row in table:
        flux = source.flux(row[5])
        good = np.isfinite(flux) & ((source.quality & bits) == 0)
        assert row[1:5] == ["TESS", f"TIC {SPOC_TIC}", f"sector {SPOC_SECTOR}", "SPOC aperture"]
        assert (int(row[6]), int(row[7])) == (len(source.time), good.sum())
        first, last = (float(x) for x in row[8].split(" .. "))
        assert first == pytest.approx(np.nanmin(source.time), abs=6e-6)
        assert last == pytest.approx(np.nanmax(source.time), abs=6e-6)
        expected = np.nanmedian(np.where(good, flux, np.nan))
        if bitmask == "none":
            assert expected == np.nanmedian(flux)
        assert float(row[9]) == pytest.approx(expected, rel=1e-7)
        assert row[10] == "electron / s"


def test_show_filters_best_and_head(database, source, capsys):
    status, out, err = run(capsys, "--url", database.url, "lc", "show", f"tic{SPOC_TIC}",
                           "--processing", "pdcsap", "--head", "4")
    assert status == 0, err
    (row,) = rows(out)
    assert row[5] == "PDC"
    block = out.split("cadences 1-4 of 400, time in BTJD\n")[1].splitlines()
    assert block[0].split() == ["time", "cadenceno", "flux", "flux_err", "quality",
                                "quality_mask"]
    cells = [line.split() for line in block[3:]]
    assert len(cells) == 4
    for i, cell in enumerate(cells):
        assert float(cell[0]) == pytest.approx(source.time[i], abs=1e-6)
        assert int(cell[1]) == source.cadenceno[i]
        flux = float(cell[2])
        assert np.isnan(flux) if np.isnan(source.pdcsap[i]) else \
            flux == pytest.approx(source.pdcsap[i], rel=1e-6)
        assert int(cell[4]) == source.quality[i]
        assert cell[5] == str(bool(source.quality[i] & default_bits()))

    # A bare number is a TIC id; --catalog takes any case; --best keeps PDC per sector.
    status, out, err = run(capsys, "--url", database.url, "lc", "show", str(DEMO_TIC),
                           "--catalog", "tic", "--best")
    assert status == 0, err
    table = rows(out)
    assert [(row[3], row[5]) for row in table] == [("sector 1", "PDC"), ("sector 2", "PDC")]
    status, out, _ = run(capsys, "--url", database.url, "lc", "show", "TIC", str(DEMO_TIC),
                         "--sector", "2", "--processing", "SAP", "--cadences")
    assert status == 0
    (row,) = rows(out)
    assert (row[3], row[5]) == ("sector 2", "raw")
    assert "cadences 1-1000 of 1000" in out


@pytest.mark.parametrize(("argv", "message"), [
    (("TIC", "1"), "no target TIC 1 in the database"),
    (("Gaia", "DR3", "5"), "no catalog 'Gaia DR3' in the database (catalogs: TIC)"),
    (("TIC", str(DEMO_TIC), "--sector", "99"),
     f"no light curves of TIC {DEMO_TIC} match sector 99 (it has 4: lcdb lc show TIC "
     f"{DEMO_TIC})"),
    (("TIC", str(DEMO_TIC), "--processing", "bogus"),
     "unknown processing 'bogus': known are raw, PDC"),
    (("TIC", str(DEMO_TIC), "--photometry", "nope"),
     "unknown photometry 'nope': known are SPOC aperture"),
    (("TIC", str(DEMO_TIC), "--quality-bitmask", "nonsense"), "unknown quality bitmask"),
    (("KIC", "5", "--catalog", "TIC"), "names catalog 'KIC' but --catalog is 'TIC'"),
    (("star",), "TARGET must be a catalog name and number"),
])
def test_bad_targets_and_filters_are_one_error_line(database, capsys, tmp_path, argv, message):
    for command in (["show"], ["export", "-o", str(tmp_path / "x.ecsv")],
                    ["plot", "-o", str(tmp_path / "x.png")]):
        status, out, err = run(capsys, "--url", database.url, "lc", *command, *argv)
        assert status == 1 and out == ""
        assert err.count("\n") == 1 and err.startswith("lcdb: error: ") and message in err, err
    assert list(tmp_path.iterdir()) == []


def test_an_empty_database_and_an_unknown_image_format(database, capsys, tmp_path):
    empty = f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    status, out, err = run(capsys, "--url", empty, "lc", "show", "TIC", "1")
    assert (status, out) == (1, "")
    assert err == ("lcdb: error: the database has no lightcurvedb tables: run 'lcdb db "
                   "upgrade' and load data (or 'lcdb demo')\n")
    image = tmp_path / "x.xyz"
    status, out, err = run(capsys, "--url", database.url, "lc", "plot", "TIC", str(DEMO_TIC),
                           "-o", str(image))
    assert (status, out) == (1, "") and not image.exists()
    assert err.startswith(f"lcdb: error: {image}: matplotlib cannot write 'xyz' images")
    assert err.count("\n") == 1 and "png" in err


def test_parse_target():
    assert parse_target("TIC 261136679") == ("TIC", 261136679)
    assert parse_target(" tic-261136679 ") == ("tic", 261136679)
    assert parse_target("261136679") == ("TIC", 261136679)
    assert parse_target("12", catalog="KIC") == ("KIC", 12)
    assert parse_target("Gaia DR3 4660") == ("Gaia DR3", 4660)
    with pytest.raises(ValueError, match="catalog name and number"):
        parse_target("TIC")


def test_help_lists_the_lc_commands(capsys):
    assert re.search(r"(?m)^\s+lc\s+\S", build_parser().format_help())
    with pytest.raises(SystemExit) as exited:
        main(["lc", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    for command in ("show", "plot", "export"):
        assert re.search(rf"(?m)^\s+{command}\s+\S", text), command
    with pytest.raises(SystemExit) as exited:
        main(["lc", "plot", "TIC", "1"])                      # -o is required
    assert exited.value.code == 2
    assert FORMATS == tuple(EXPORT_FORMATS)                   # --format offers every format


# -- export ----------------------------------------------------------------------------------

def read_back(path: Path, fmt: str) -> dict[int, dict[str, np.ndarray]]:
    """Per dataset id: time, flux, flux_err, quality and quality_mask as the file holds them."""
    columns = ("time", "flux", "flux_err", "quality", "quality_mask")
    if fmt == "fits":
        out = {}
        with fits.open(path) as hdul:
            for hdu in hdul[1:]:
                out[hdu.header["DATASET"]] = {
                    name: np.array(hdu.data[name.upper()]) for name in columns}
        return out
    if fmt == "parquet":
        table = require("pyarrow.parquet", "parquet", "test").read_table(path)
        data = {name: table.column(name).to_numpy(zero_copy_only=False)
                for name in ("dataset", *columns)}
    else:
        read = Table.read(path, format=f"ascii.{fmt}")
        data = {name: np.asarray(read[name]) for name in ("dataset", *columns)}
        if data["quality_mask"].dtype.kind == "U":          # CSV has no booleans
            data["quality_mask"] = data["quality_mask"] == "True"
    return {int(i): {name: data[name][data["dataset"] == i] for name in columns}
            for i in np.unique(data["dataset"])}


@pytest.mark.parametrize("fmt", ["csv", "ecsv", "fits", "parquet"])
def test_export_reads_back_as_the_source_and_the_api(database, source, api, capsys, tmp_path,
                                                     fmt):
    path = tmp_path / f"tic{SPOC_TIC}.{fmt}"
    status, out, err = run(capsys, "--url", database.url, "lc", "export", "TIC", str(SPOC_TIC),
                           "-o", str(path))
    assert status == 0, err
    assert out == f"wrote {path} ({fmt}): 2 light curves of TIC {SPOC_TIC}, 800 cadences\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]   # no partial file left
    back = read_back(path, fmt)
    curves = lightcurvedb.lightcurves(api, tic=SPOC_TIC)
    assert sorted(back) == sorted(lc.id for lc in curves)
    for lc in curves:
        got = back[lc.id]
        np.testing.assert_array_equal(got["flux"], source.flux(lc.processing or "raw"))
        np.testing.assert_array_equal(got["flux"], lc.values)
        np.testing.assert_array_equal(got["flux_err"], lc.errors)
        np.testing.assert_allclose(got["time"], source.time, rtol=0, atol=1e-9)
        np.testing.assert_array_equal(got["quality"], source.quality)
        np.testing.assert_array_equal(got["quality_mask"],
                                      (source.quality & default_bits()) != 0)
    if fmt == "ecsv":
        table = Table.read(path, format="ascii.ecsv")
        assert str(table["flux"].unit) == "electron / s"
        metas = table.meta["light_curves"]
        assert [(m["TICID"], m["SECTOR"], m["MISSION"], m["PROCESS"]) for m in metas] == \
            [(SPOC_TIC, SPOC_SECTOR, "TESS", None), (SPOC_TIC, SPOC_SECTOR, "TESS", "PDC")]
        assert table.meta["quality_bitmask"] == "default"
    if fmt == "parquet":
        schema = require("pyarrow.parquet", "parquet", "test").read_schema(path)
        info = json.loads(schema.metadata[b"lightcurvedb"])
        assert [m["DATASET"] for m in info["light_curves"]] == [lc.id for lc in curves]


def test_fits_export_has_one_extension_per_light_curve(database, api, capsys, tmp_path):
    path = tmp_path / "demo.fits"
    status, _, err = run(capsys, "--url", database.url, "lc", "export", "TIC", str(DEMO_TIC),
                         "-o", str(path), "--quality-bitmask", "hard")
    assert status == 0, err
    curves = lightcurvedb.lightcurves(api, tic=DEMO_TIC)
    with fits.open(path) as hdul:
        assert hdul[0].header["NLCURVES"] == len(curves) == len(hdul) - 1 == 4
        assert (hdul[0].header["OBJECT"], hdul[0].header["TICID"]) == (f"TIC {DEMO_TIC}",
                                                                       DEMO_TIC)
        assert "SECTOR" not in hdul[0].header                  # two sectors: per extension
        for number, lc in enumerate(curves, start=1):
            hdu = hdul["LIGHTCURVE", number]
            header = hdu.header
            assert (header["TICID"], header["SECTOR"], header["MISSION"], header["DATASET"]) == \
                (DEMO_TIC, lc.observation.sector, "TESS", lc.id)
            assert header.get("PROCESS") == lc.processing
            assert header.get("SOURCES", "") == ",".join(map(str, lc.source_ids))
            np.testing.assert_array_equal(hdu.data["FLUX"], lc.values)
            np.testing.assert_array_equal(hdu.data["QUALITY_MASK"], lc.quality_mask("hard"))
            np.testing.assert_array_equal(hdu.data["CADENCENO"], lc.cadenceno)


def test_export_format_option_and_bad_suffix(database, capsys, tmp_path):
    path = tmp_path / "curves.dat"
    status, _, err = run(capsys, "--url", database.url, "lc", "export", str(DEMO_TIC), "-o",
                         str(path))
    assert status == 1 and "cannot tell the format of" in err and err.count("\n") == 1
    assert not path.exists()
    status, _, err = run(capsys, "--url", database.url, "lc", "export", str(DEMO_TIC), "-o",
                         str(path), "--format", "ecsv", "--sector", "1")
    assert status == 0, err
    assert len(Table.read(path, format="ascii.ecsv")) == 2000


@pytest.mark.parametrize("command", ["export", "plot"])
def test_an_existing_file_is_kept_unless_overwrite(database, capsys, tmp_path, command):
    path = tmp_path / ("out.fits" if command == "export" else "out.png")
    path.write_bytes(b"keep me")
    argv = ("--url", database.url, "lc", command, "TIC", str(SPOC_TIC), "-o", str(path))
    status, out, err = run(capsys, *argv)
    assert (status, out) == (1, "")
    assert err == f"lcdb: error: {path} exists: pass --overwrite to replace it\n"
    assert path.read_bytes() == b"keep me"
    status, _, err = run(capsys, *argv, "--overwrite")
    assert status == 0, err
    head = path.read_bytes()[:8]
    assert head == (PNG_MAGIC if command == "plot" else b"SIMPLE  ")
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


@pytest.mark.parametrize(("module", "command", "extra"), [
    ("matplotlib", ["plot", "-o", "x.png"], "plot"),
    ("pyarrow", ["export", "-o", "x.parquet"], "parquet"),
])
def test_a_missing_extra_is_one_line_naming_it(database, capsys, tmp_path, monkeypatch, module,
                                               command, extra):
    for name in [m for m in sys.modules if m == module or m.startswith(module + ".")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, module, None)          # `import module` now fails
    monkeypatch.chdir(tmp_path)
    status, out, err = run(capsys, "--url", database.url, "lc", *command, "TIC", str(SPOC_TIC))
    assert (status, out) == (1, "")
    assert err.count("\n") == 1 and f"pip install '.[{extra}]'" in err, err
    assert err.startswith(f"lcdb: error: lcdb lc {command[0]}")
    assert list(tmp_path.iterdir()) == []


# -- plot ------------------------------------------------------------------------------------

def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_plot_writes_a_png_and_draws_the_source_flux(database, source, api, capsys, tmp_path):
    path = tmp_path / "lc.png"
    status, out, err = run(capsys, "--url", database.url, "lc", "plot", "TIC", str(SPOC_TIC),
                           "-o", str(path), "--dpi", "80")
    assert status == 0, err
    assert out == f"wrote {path}: 2 light curves of TIC {SPOC_TIC}, 2 panels\n"
    assert png_size(path) == (10 * 80, int(round((0.6 + 2.8 * 2) * 80)))
    assert path.stat().st_size > 20_000

    curves = lightcurvedb.lightcurves(api, tic=SPOC_TIC)
    fig = figure(curves)
    assert len(fig.axes) == 2
    for ax, lc in zip(fig.axes, curves, strict=True):
        (line,) = ax.get_lines()
        flux = source.flux(lc.processing or "raw")
        bad = ((source.quality & default_bits()) != 0) | np.isnan(flux)
        y = line.get_ydata()
        np.testing.assert_array_equal(np.ma.getmaskarray(y), bad)
        np.testing.assert_array_equal(np.ma.getdata(y)[~bad], flux[~bad])
        np.testing.assert_allclose(line.get_xdata(), source.time, rtol=0, atol=1e-9)
        assert ax.get_xlabel() == "Time (BTJD, TDB) [d]"
        assert ax.get_ylabel() == "Flux [electron / s]"
        (legend,) = [text.get_text() for text in ax.get_legend().get_texts()]
        assert legend == (f"TIC {SPOC_TIC} sector {SPOC_SECTOR} SPOC aperture, "
                          f"{lc.processing or 'raw'}")

    overlay = figure(lightcurvedb.lightcurves(api, tic=DEMO_TIC), overlay=True, normalize=True)
    (ax,) = overlay.axes
    assert len(ax.get_lines()) == 4 and ax.get_ylabel() == "Normalized flux"
    for line in ax.get_lines():
        assert np.ma.median(line.get_ydata()) == pytest.approx(1.0)


# -- the demo's next steps -------------------------------------------------------------------

def next_steps(stdout: str) -> list[list[str]]:
    """The commands after ``Next steps``, as argv lists (comments dropped)."""
    tail = stdout[stdout.index("Next steps"):].splitlines()[1:]
    commands = [shlex.split(line, comments=True) for line in tail]
    return [argv for argv in commands if argv and argv[0] in ("lcdb", "python")]


def run_step(argv: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    program = {"lcdb": str(Path(sys.executable).parent / "lcdb"), "python": sys.executable}
    return subprocess.run([program[argv[0]], *argv[1:]], env=env, cwd=env["HOME"],
                          capture_output=True, text=True, timeout=600)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_demo_next_steps_work_on_the_demo_database(env, request, backend):
    if backend == "sqlite":
        argv: tuple[str, ...] = ("demo",)
    else:
        server = request.getfixturevalue("postgres_server")
        url = create_test_database(server, "cli_lc_demo")
        request.addfinalizer(lambda: server.drop_database("cli_lc_demo"))
        argv = ("--url", url.render_as_string(hide_password=False), "demo")
    demo = lcdb(env, *argv)
    assert demo.returncode == 0, demo.stderr
    assert f"Next steps: TIC {DEMO_TIC} in this database" in demo.stdout
    steps = next_steps(demo.stdout)
    assert [step[:3] for step in steps[:5]] == [["lcdb", "lc", "show"], ["lcdb", "lc", "show"],
                                                ["lcdb", "lc", "plot"], ["lcdb", "lc", "export"],
                                                ["lcdb", "targets", "cone"]]
    assert len(steps) == 6 and steps[5][:2] == ["python", "-c"]
    assert all(str(DEMO_TIC) in " ".join(step) for step in steps)
    home = Path(env["HOME"])
    outputs = [run_step(step, env) for step in steps]
    for step, result in zip(steps, outputs, strict=True):
        assert result.returncode == 0, (step, result.stderr)
        assert result.stderr == "", (step, result.stderr)
    show, head, plot, export, cone, python = (result.stdout for result in outputs)
    assert [row[6] for row in rows(show)] == ["1000"] * 4          # the demo's cadences
    assert "cadences 1-5 of 1000" in head
    assert plot.startswith("wrote ") and png_size(home / f"tic{DEMO_TIC}.png")[0] == 1000
    table = Table.read(home / f"tic{DEMO_TIC}.ecsv", format="ascii.ecsv")
    assert len(table) == 4000 and set(table["target"]) == {DEMO_TIC}
    assert python.startswith("LightCurveCollection(2 light curves of 1 targets")
    ra0, dec0, _ = DEMO_POSITIONS[DEMO_TIC]      # the demo's (illustrative) input positions
    near = sorted((float(haversine_deg(ra0, dec0, ra, dec)), tic)
                  for tic, (ra, dec, _) in DEMO_POSITIONS.items()
                  if haversine_deg(ra0, dec0, ra, dec) <= 10.0)
    cone_rows = [line.split() for line in cone.splitlines()[3:]]
    assert [int(row[2]) for row in cone_rows] == [tic for _, tic in near]
    assert [float(row[-1]) for row in cone_rows] == pytest.approx([d for d, _ in near],
                                                                  abs=1e-6)
    if backend == "postgresql":
        assert all("--url" in step for step in steps[:5])
        assert not (Path(env["XDG_DATA_HOME"]) / "lightcurvedb").exists()   # SQLite untouched
