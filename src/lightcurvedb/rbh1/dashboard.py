"""The RBH-1 validation dashboard: six panels that check zones 0-1 from the database.

:func:`dashboard_data` reads what the panels plot (WCS footprints, spans,
CRVAL offsets, pixel scales, wavelength grids) into a :class:`DashboardData`;
:func:`render_dashboard` draws it with matplotlib (the Agg canvas, no display
needed) into a PNG. See :doc:`/rbh1_dashboard` for what each panel checks.
"""

from __future__ import annotations

import math
import pathlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import select
from sqlalchemy.orm import Session, undefer

from lightcurvedb.rbh1.zones01 import RBH1Observation, SpectralGrid, WCSSolution

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = ["CATEGORY_STYLES", "DashboardData", "Footprint", "HALPHA_OBSERVED_UM",
           "SKYCELL_SPAN_ARCSEC", "dashboard_data", "render_dashboard"]

#: A drizzled footprint wider than this (arcsec) is a HAP skycell mosaic, as is any
#: file whose name contains ``skycell``.
SKYCELL_SPAN_ARCSEC = 600.0
#: Hα at the feature's redshift (z = 0.964), micron: where panel 5 quotes Δv per channel.
HALPHA_OBSERVED_UM = 0.656281 * 1.964
#: Footprint category -> (legend label, colour, marker). Skycells are drawn as outlines.
CATEGORY_STYLES: dict[str, tuple[str, str, str]] = {
    "flc": ("HST WFC3 flc", "tab:blue", "o"),
    "drc": ("HST WFC3 drc", "tab:orange", "s"),
    "skycell": ("HST skycell mosaic", "0.45", "D"),
    "s3d": ("JWST NIRSpec s3d", "tab:green", "^"),
}
_C_KMS = 299_792.458


@dataclass(frozen=True)
class Footprint:
    """One WCS solution as plotted.

    ``category`` is a key of :data:`CATEGORY_STYLES` (the file type, or
    ``skycell``); ``vertices`` and ``crval`` are (RA, Dec) in degrees; spans and
    pixel scale are the :class:`~lightcurvedb.rbh1.WCSSolution`'s, in arcsec.
    """

    file_name: str
    file_type: str
    category: str
    vertices: tuple[tuple[float, float], ...]
    ra_span_arcsec: float
    dec_span_arcsec: float
    pixel_scale_arcsec: float
    crval: tuple[float, float]


@dataclass
class DashboardData:
    """The numbers behind the six panels.

    Attributes
    ----------
    footprints : list of Footprint
        Every WCS solution, by file name (panels 1, 2, 4).
    reference_pointing : (float, float) or None
        Median CRVAL of the science (non-skycell) pointings, degrees.
    crval_offsets_arcsec : numpy.ndarray
        ``(n, 2)`` (ΔRA·cos δ, ΔDec) of each CRVAL from the reference (panel 3).
    outliers : list of str
        Files whose offset exceeds ``outlier_arcsec`` (labelled in panel 3).
    delta_lambda_nm : numpy.ndarray
        Channel spacings of every s3d grid, concatenated, nm (panel 5).
    sampling : list of (numpy.ndarray, numpy.ndarray)
        Per grid: mid-channel wavelength (micron) and R = λ/Δλ (panel 6).
    mean_resolution, stored_mean_resolution : float or None
        Mean R over all channels; mean of the grids' stored ``mean_resolution``.
    """

    footprints: list[Footprint] = field(default_factory=list)
    reference_pointing: tuple[float, float] | None = None
    crval_offsets_arcsec: npt.NDArray[np.float64] = field(
        default_factory=lambda: np.empty((0, 2)))
    outliers: list[str] = field(default_factory=list)
    delta_lambda_nm: npt.NDArray[np.float64] = field(default_factory=lambda: np.empty(0))
    sampling: list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]] = field(
        default_factory=list)
    mean_resolution: float | None = None
    stored_mean_resolution: float | None = None

    @property
    def counts(self) -> dict[str, int]:
        """Number of footprints per category."""
        found = [fp.category for fp in self.footprints]
        return {category: found.count(category) for category in CATEGORY_STYLES
                if category in found}

    @property
    def pixel_scales(self) -> dict[str, npt.NDArray[np.float64]]:
        """Pixel scales (arcsec/pixel) per category, skycell mosaics apart (panel 4)."""
        return {category: np.array([fp.pixel_scale_arcsec for fp in self.footprints
                                    if fp.category == category]) for category in self.counts}


def _category(file_name: str, file_type: str, span: float) -> str:
    if file_type == "drc" and ("skycell" in file_name.lower() or span > SKYCELL_SPAN_ARCSEC):
        return "skycell"
    return file_type if file_type in CATEGORY_STYLES else "drc"


def dashboard_data(session: Session, *, outlier_arcsec: float = 120.0) -> DashboardData:
    """Read the dashboard's numbers from zones 0-1.

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    outlier_arcsec : float, optional
        CRVAL offsets larger than this are listed in :attr:`DashboardData.outliers`.

    Returns
    -------
    DashboardData
    """
    rows = session.execute(select(WCSSolution, RBH1Observation.file_name,
                                  RBH1Observation.file_type)
                           .join(WCSSolution.observation).order_by(RBH1Observation.file_name))
    data = DashboardData()
    for wcs, name, file_type in rows:
        span = max(wcs.ra_span_arcsec, wcs.dec_span_arcsec)
        data.footprints.append(Footprint(
            name, file_type, _category(name, file_type, span), wcs.footprint.vertices,
            wcs.ra_span_arcsec, wcs.dec_span_arcsec, wcs.pixel_scale_arcsec,
            (wcs.crval1, wcs.crval2)))
    if data.footprints:
        crval = np.array([fp.crval for fp in data.footprints])
        science = np.array([fp.category != "skycell" for fp in data.footprints])
        ref = np.median(crval[science] if science.any() else crval, axis=0)
        data.reference_pointing = (float(ref[0]), float(ref[1]))
        d_ra = (crval[:, 0] - ref[0] + 180.0) % 360.0 - 180.0
        data.crval_offsets_arcsec = np.column_stack(
            [d_ra * math.cos(math.radians(ref[1])), crval[:, 1] - ref[1]]) * 3600.0
        radius = np.hypot(*data.crval_offsets_arcsec.T)
        data.outliers = [fp.file_name for fp, r in zip(data.footprints, radius, strict=True)
                         if r > outlier_arcsec]
    grids = session.scalars(select(SpectralGrid).options(undefer(SpectralGrid.wavelengths))
                            .order_by(SpectralGrid.wcs_id)).all()
    for wavelengths in (np.asarray(g.wavelengths, dtype=np.float64) for g in grids):
        middle = (wavelengths[1:] + wavelengths[:-1]) / 2
        if middle.size:
            data.sampling.append((middle, middle / np.diff(wavelengths)))
    if data.sampling:
        data.delta_lambda_nm = np.concatenate([(w / r) * 1000.0 for w, r in data.sampling])
        data.mean_resolution = float(np.mean(np.concatenate([r for _, r in data.sampling])))
    if grids:
        data.stored_mean_resolution = float(np.mean([g.mean_resolution for g in grids]))
    return data


def _empty(ax: Axes, title: str, message: str) -> None:
    ax.text(0.5, 0.5, message, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set(title=title, xticks=[], yticks=[])


def _note(ax: Axes, text: str) -> None:
    ax.text(0.03, 0.95, text, transform=ax.transAxes, va="top", fontsize=8,
            bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "0.8"})


def _draw_footprints(ax: Axes, footprints: list[Footprint], filled: bool = True) -> None:
    from matplotlib.patches import Polygon

    for fp in sorted(footprints, key=lambda f: list(CATEGORY_STYLES).index(f.category)):
        colour = CATEGORY_STYLES[fp.category][1]
        fill = fp.category == "s3d" or (filled and fp.category != "skycell")
        ax.add_patch(Polygon(fp.vertices, closed=True, fill=fill, edgecolor=colour,
                             facecolor=colour, alpha=0.3 if fill else 0.9, lw=1.0,
                             ls="--" if fp.category == "skycell" else "-"))


def _extent(footprints: list[Footprint]) -> tuple[npt.NDArray[np.float64], ...]:
    vertices = np.concatenate([fp.vertices for fp in footprints])
    return vertices.min(axis=0), vertices.max(axis=0)


def _sky_view(ax: Axes, footprints: list[Footprint], pad: float) -> float:
    """Frame ``footprints`` (RA to the left, cos δ aspect); return the view's height, arcsec."""
    lo, hi = _extent(footprints)
    margin = np.maximum((hi - lo) * pad, 0.3 / 3600.0)
    ax.set_xlim(hi[0] + margin[0], lo[0] - margin[0])
    ax.set_ylim(lo[1] - margin[1], hi[1] + margin[1])
    ax.set_aspect(1.0 / math.cos(math.radians(float(lo[1] + hi[1]) / 2)))
    return float(hi[1] - lo[1] + 2 * margin[1]) * 3600.0


def _zoom(ax: Axes, source: Axes, bounds: tuple[float, float, float, float],
          footprints: list[Footprint], framed: list[Footprint], title: str) -> Axes:
    """Add an inset of ``ax`` framing ``framed``; mark the zoomed area on ``source``."""
    inset = ax.inset_axes(bounds)
    _draw_footprints(inset, footprints, filled=False)
    height = _sky_view(inset, framed, 0.3)
    inset.set(xticks=[], yticks=[])   # tick labels would collide with the panel's own
    inset.set_title(f'{title}, {height:.2g}" high', fontsize=7, pad=2)
    source.indicate_inset_zoom(inset, edgecolor="0.3")
    return inset


def _panel_footprints(ax: Axes, data: DashboardData) -> None:
    from matplotlib.patches import Patch

    title = f"WCS Footprint Overlay ({len(data.footprints)} solutions)"
    if not data.footprints:
        return _empty(ax, title, "No WCS solutions in the database\n(load zones 0-1 first)")
    _draw_footprints(ax, data.footprints)
    _sky_view(ax, data.footprints, 0.05)
    ax.legend(handles=[Patch(facecolor=CATEGORY_STYLES[c][1], edgecolor=CATEGORY_STYLES[c][1],
                             alpha=0.6, label=f"{CATEGORY_STYLES[c][0]} ({n})")
                       for c, n in data.counts.items()], loc="upper right", fontsize=7)
    science = [fp for fp in data.footprints if fp.category != "skycell"]
    ifu = [fp for fp in science if fp.category == "s3d"]
    source, bounds = ax, (0.03, 0.03, 0.4, 0.4)
    if science:
        (lo, hi), (all_lo, all_hi) = _extent(science), _extent(data.footprints)
        if max(hi - lo) < max(all_hi - all_lo) / 5:   # mosaics dwarf the science frames
            source = _zoom(ax, ax, (0.03, 0.03, 0.5, 0.5), science, science,
                           f"science field: {len(science)} frames")
            bounds = (0.03, 0.6, 0.36, 0.3)
    if ifu:
        _zoom(ax, source, bounds, science, ifu, f"IFU zoom: {len(ifu)} cubes")
    ax.set(title=title, xlabel="RA (deg)", ylabel="Dec (deg)")
    ax.ticklabel_format(useOffset=False)


def _scatter_categories(ax: Axes, data: DashboardData, points: npt.NDArray[np.float64],
                        counted: bool = True) -> None:
    for category, n in data.counts.items():
        label, colour, marker = CATEGORY_STYLES[category]
        chosen = np.array([fp.category == category for fp in data.footprints])
        ax.scatter(points[chosen, 0], points[chosen, 1], c=colour, marker=marker, s=22,
                   alpha=0.8, edgecolors="k", linewidths=0.3,
                   label=f"{label} ({n})" if counted else label)


def _panel_spans(ax: Axes, data: DashboardData) -> None:
    title = "Footprint Span Regimes"
    spans = np.array([(fp.ra_span_arcsec, fp.dec_span_arcsec) for fp in data.footprints]
                     or np.empty((0, 2)))
    if not (spans > 0).all(axis=1).any():
        return _empty(ax, title, "No footprints with positive spans")
    _scatter_categories(ax, data, np.where(spans > 0, spans, np.nan))
    lo, hi = spans[spans > 0].min() / 2, spans.max() * 2
    ax.plot([lo, hi], [lo, hi], "k--", lw=0.8, label="1:1")
    ax.set(xscale="log", yscale="log", xlim=(lo, hi), ylim=(lo, hi), title=title,
           xlabel="ΔRA × cos δ (arcsec)", ylabel="ΔDec (arcsec)")
    ax.legend(fontsize=7, loc="upper left")
    ax.grid(True, alpha=0.3)


def _panel_offsets(ax: Axes, data: DashboardData) -> None:
    title = "Pointing Coherence: CRVAL Offsets"
    if not data.footprints:
        return _empty(ax, title, "No WCS solutions in the database")
    offsets = data.crval_offsets_arcsec
    _scatter_categories(ax, data, offsets, counted=False)
    inner = offsets[[fp.file_name not in data.outliers for fp in data.footprints]]
    reach = float(np.abs(inner).max()) * 1.5 if inner.size else 1.0
    linthresh = next((v for v in (10.0, 30.0, 100.0, 300.0, 1000.0) if v >= reach), reach)
    for axis, set_scale in enumerate((ax.set_xscale, ax.set_yscale)):
        if np.abs(offsets[:, axis]).max() > 10 * linthresh:   # keep the cluster readable
            set_scale("symlog", linthresh=linthresh, linscale=2.0)
    for fp, (dx, dy) in zip(data.footprints, offsets, strict=True):
        if fp.file_name in data.outliers:
            right = dx < 0   # west of the reference: drawn on the right, labelled leftwards
            stem, cut = fp.file_name.removesuffix(".fits"), fp.file_name.find("_", 12)
            label = stem if len(stem) <= 24 or cut < 0 else f"{stem[:cut]}\n{stem[cut:]}"
            ax.annotate(label, (dx, dy), fontsize=6, color="firebrick",
                        xytext=(-5 if right else 5, 8), textcoords="offset points",
                        ha="right" if right else "left")
    xlim = ax.get_xlim()
    ax.set_xlim(max(xlim), min(xlim))   # east to the left, like the sky
    ax.axhline(0, color="0.6", lw=0.6)
    ax.axvline(0, color="0.6", lw=0.6)
    ref = data.reference_pointing or (0.0, 0.0)
    scale = f'; symlog, linear within ±{linthresh:g}"' if ax.get_xscale() == "symlog" else ""
    ax.set(title=title, ylabel="ΔDec (arcsec)",
           xlabel=f"ΔRA × cos δ (arcsec){scale}\nfrom the median science CRVAL "
                  f"({ref[0]:.5f}°, {ref[1]:.5f}°)")
    ax.legend(fontsize=7, loc="upper right")


def _panel_pixel_scales(ax: Axes, data: DashboardData) -> None:
    title = "Pixel Scale by File Type"
    scales = data.pixel_scales
    if not scales:
        return _empty(ax, title, "No WCS solutions in the database")
    jitter = np.random.default_rng(0)
    for i, (category, values) in enumerate(scales.items()):
        ax.scatter(i + jitter.uniform(-0.18, 0.18, len(values)), values, s=16, alpha=0.7,
                   c=CATEGORY_STYLES[category][1], edgecolors="k", linewidths=0.3)
        ax.annotate(f'median {np.median(values):.3f}"', (i, float(np.max(values))),
                    xytext=(0, 8), textcoords="offset points", ha="center", fontsize=8)
    ax.set_xticks(range(len(scales)), [f"{c}\n(n={len(v)})" for c, v in scales.items()])
    every = np.concatenate(list(scales.values()))
    log = every.max() > 20 * every.min()   # coarse mosaic pixels: keep 0.04 and 0.10 apart
    ax.set(yscale="log" if log else "linear",
           ylim=(every.min() / 2, every.max() * 3) if log else (0, every.max() * 1.25))
    ax.set(title=title, ylabel="Pixel scale (arcsec/pixel)", xlim=(-0.6, len(scales) - 0.4))
    ax.grid(True, axis="y", alpha=0.3)


def _panel_spacing(ax: Axes, data: DashboardData) -> None:
    title = "JWST s3d Grid Spacing Δλ"
    values = data.delta_lambda_nm
    if not values.size:
        return _empty(ax, title, "No s3d spectral grids in the database")
    centre, spread = float(np.median(values)), float(np.ptp(values))
    half = max(spread * 0.6, centre * 1e-3)   # an exactly linear grid is one spike
    counts = ax.hist(values, bins=40, range=(centre - half, centre + half), color="tab:purple")[0]
    ax.set_ylim(0, float(np.max(counts)) * 1.35)   # room for the note above the bars
    ax.axvline(centre, color="k", ls="--", lw=0.8)
    dv = _C_KMS * centre / (HALPHA_OBSERVED_UM * 1000.0)
    _note(ax, f"median Δλ = {centre:.4f} nm, spread {spread:.2g} nm\n{len(data.sampling)} "
              f"grids, {values.size} spacings\nΔv ≈ {dv:.0f} km/s per channel at Hα "
              f"(z = 0.964, {HALPHA_OBSERVED_UM:.3f} µm)")
    ax.set(title=title, xlabel="Δλ (nm)", ylabel="Channels")


def _panel_sampling(ax: Axes, data: DashboardData) -> None:
    title = "Sampling R = λ/Δλ"
    if not data.sampling or data.mean_resolution is None:
        return _empty(ax, title, "No s3d spectral grids in the database")
    for wavelength, resolution in data.sampling:
        ax.plot(wavelength, resolution, color="tab:red", lw=0.8, alpha=0.5)
    ax.axhline(data.mean_resolution, color="k", ls="--", lw=0.8)
    ax.annotate(f"mean R = {data.mean_resolution:.0f}", (1.0, data.mean_resolution),
                xycoords=("axes fraction", "data"), xytext=(-4, 4), textcoords="offset points",
                ha="right", fontsize=8)
    stored = ("" if data.stored_mean_resolution is None
              else f"\ndatabase mean_resolution: {data.stored_mean_resolution:.0f}")
    _note(ax, f"mean R = {data.mean_resolution:.0f} over {len(data.sampling)} grids{stored}\n"
              "sampling proxy, not instrumental R")
    ax.set(title=title, xlabel="λ (µm)", ylabel="R = λ/Δλ")
    ax.grid(True, alpha=0.3)


def render_dashboard(session: Session, out_path: str | pathlib.Path, *, dpi: int = 120,
                     data: DashboardData | None = None) -> pathlib.Path:
    """Draw the six-panel validation dashboard into a PNG (or any format matplotlib saves).

    Parameters
    ----------
    session : sqlalchemy.orm.Session
        A session on a database at the newest migration.
    out_path : str or pathlib.Path
        Where to write the figure; the suffix picks the format. Parent
        directories are created.
    dpi : int, optional
        Resolution; the figure is 18 x 10.5 inches.
    data : DashboardData, optional
        Numbers to plot instead of reading them with :func:`dashboard_data`.

    Returns
    -------
    pathlib.Path
        ``out_path``.
    """
    try:  # optional dependency: import only when drawing
        from matplotlib.figure import Figure
    except ImportError:
        raise ImportError("the RBH-1 dashboard needs matplotlib: "
                          "pip install 'lightcurvedb[plot]'") from None

    data = dashboard_data(session) if data is None else data
    out = pathlib.Path(out_path)
    out.parent.mkdir(parents=True, exist_ok=True)
    figure = Figure(figsize=(18, 10.5), layout="constrained")
    axes: Any = figure.subplots(2, 3)
    panels = (_panel_footprints, _panel_spans, _panel_offsets, _panel_pixel_scales,
              _panel_spacing, _panel_sampling)
    for ax, panel in zip(axes.flat, panels, strict=True):
        panel(ax, data)
    figure.suptitle("RBH-1 Phase 02 Validation Dashboard: WCS geometry and spectral grids "
                    f"({len(data.footprints)} WCS solutions, {len(data.sampling)} s3d grids)",
                    fontsize=14, fontweight="bold")
    figure.savefig(out, dpi=dpi)
    return out
