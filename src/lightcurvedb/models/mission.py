"""Missions, their catalogs and the targets those catalogs contain."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
from astropy import units as u
from astropy.time import Time
from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Double,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base, BigIntPK

if TYPE_CHECKING:
    from astropy.coordinates import SkyCoord

    from lightcurvedb.models.dataset import DataSet
    from lightcurvedb.models.observation import Observation, TargetSpecificTime
    from lightcurvedb.models.quality import QualityFlagArray

__all__ = ["Mission", "MissionCatalog", "Target", "TargetAlias"]


class Mission(Base):
    """A space or ground mission and the time system its data are recorded in.

    A mission's times are stored as plain numbers ``t`` counted in
    :attr:`time_unit` from :attr:`time_epoch`; :meth:`to_time` turns them into
    :class:`astropy.time.Time`. TESS, for example, records BTJD = BJD - 2457000
    in the TDB scale::

        Mission(name="TESS", time_unit="d", time_epoch=2457000,
                time_epoch_scale="tdb", time_epoch_format="jd",
                time_format_name="btjd")
    """

    __tablename__ = "mission"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4,
                                          doc="Mission identifier (UUID).")
    name: Mapped[str] = mapped_column(String(64), unique=True,
                                      doc="Unique mission name, e.g. ``TESS``.")
    description: Mapped[str | None] = mapped_column(doc="Free-text description.")
    time_unit: Mapped[str] = mapped_column(
        String(16), default="d",
        doc="Unit of stored times, any :mod:`astropy.units` string (``d``, ``s``).")
    time_epoch: Mapped[float] = mapped_column(
        Numeric(20, 9, asdecimal=False),
        doc="Epoch that stored times count from, in :attr:`time_epoch_format`.")
    time_epoch_scale: Mapped[str] = mapped_column(
        String(8), default="tdb", doc="astropy time scale of the epoch (``tdb``, ``utc``, ``tt``).")
    time_epoch_format: Mapped[str] = mapped_column(
        String(16), default="jd", doc="astropy time format of the epoch (``jd``, ``mjd``).")
    time_format_name: Mapped[str] = mapped_column(
        String(32), unique=True, doc="Unique name of the mission's time format, e.g. ``btjd``.")

    catalogs: Mapped[list[MissionCatalog]] = relationship(
        back_populates="host_mission", cascade="all, delete-orphan", passive_deletes=True,
        doc="Catalogs hosted by this mission.")

    def __repr__(self) -> str:
        return f"Mission(name={self.name!r}, time_format_name={self.time_format_name!r})"

    @property
    def epoch(self) -> Time:
        """The mission's time epoch as :class:`astropy.time.Time`."""
        return Time(float(self.time_epoch), format=self.time_epoch_format,
                    scale=self.time_epoch_scale)

    def to_time(self, values: npt.ArrayLike) -> Time:
        """Turn mission times into :class:`astropy.time.Time`.

        The result is in the mission's scale and keeps full precision: the
        epoch and the offsets are carried as the two parts of a Julian date.

        Parameters
        ----------
        values : array_like or float
            Times in :attr:`time_unit` since :attr:`time_epoch` (e.g. BTJD);
            NaN entries come back masked.

        Returns
        -------
        astropy.time.Time
        """
        offsets = (np.asarray(values, dtype=np.float64) * u.Unit(self.time_unit)).to_value(u.day)
        epoch = self.epoch
        jd2 = np.ma.masked_invalid(epoch.jd2 + offsets) if np.ndim(offsets) else epoch.jd2 + offsets
        return Time(epoch.jd1, jd2, format="jd", scale=self.time_epoch_scale)

    def from_time(self, time: Time) -> npt.NDArray[np.float64] | float:
        """Turn :class:`astropy.time.Time` into mission times (the inverse of :meth:`to_time`).

        Parameters
        ----------
        time : astropy.time.Time
            Times in any scale; they are converted to the mission's scale first.

        Returns
        -------
        numpy.ndarray or float
            Times in :attr:`time_unit` since :attr:`time_epoch`.
        """
        epoch = self.epoch
        in_scale = getattr(time, self.time_epoch_scale)
        days = (in_scale.jd1 - epoch.jd1) + (in_scale.jd2 - epoch.jd2)
        result = (np.asarray(days) * u.day).to_value(u.Unit(self.time_unit))
        return float(result) if np.ndim(result) == 0 else result

    def register_time_format(self) -> str:
        """Register the mission's times as an astropy time format; return its name.

        The format, named :attr:`time_format_name`, counts :attr:`time_unit`
        from :attr:`time_epoch` in :attr:`time_epoch_scale`, so afterwards
        ``Time(values, format=name)`` reads stored mission times (for TESS,
        ``Time(1325.29, format="btjd")``). Registering again, or a format astropy
        already knows with the same meaning (lightkurve's ``btjd``), is fine.
        See :func:`lightcurvedb.lc.timefmt.time_format`.

        Returns
        -------
        str
            The format name.

        Raises
        ------
        ValueError
            If astropy already has a format of that name meaning other times.
        """
        from lightcurvedb.lc.timefmt import time_format

        return time_format(self)



class MissionCatalog(Base):
    """A catalog of targets published by a mission (e.g. the TESS Input Catalog)."""

    __tablename__ = "mission_catalog"

    id: Mapped[int] = mapped_column(primary_key=True, doc="Catalog identifier.")
    host_mission_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("mission.id", ondelete="CASCADE"), index=True,
        doc="The mission that publishes this catalog.")
    name: Mapped[str] = mapped_column(String(64), unique=True,
                                      doc="Unique catalog name, e.g. ``TIC``.")
    description: Mapped[str | None] = mapped_column(doc="Free-text description.")

    host_mission: Mapped[Mission] = relationship(back_populates="catalogs",
                                                 doc="The hosting :class:`Mission`.")
    targets: Mapped[list[Target]] = relationship(
        back_populates="catalog", cascade="all, delete-orphan", passive_deletes=True,
        doc="Targets in this catalog.")

    def __repr__(self) -> str:
        return f"MissionCatalog(name={self.name!r})"


class Target(Base):
    """An astronomical object identified by its number in a mission catalog (e.g. a TIC id).

    Catalogs whose identifiers are strings (NVSS, FIRST) also fill
    :attr:`designation`; :attr:`name` then holds a number derived from it
    (see :func:`lightcurvedb.radio.targets.designation_number`).

    A target may carry its sky position: ``ra``/``dec`` (ICRS, deg) at
    ``epoch``, with proper motion where its catalog gives it, and a
    magnitude; :attr:`coord` returns it as a :class:`~astropy.coordinates.SkyCoord`
    and :func:`lightcurvedb.cone_search` finds targets around a position. The
    TESS loader fills them from a SPOC file's ``RA_OBJ``, ``DEC_OBJ``, ``PMRA``,
    ``PMDEC`` and ``TESSMAG`` cards; catalog loads fill them from the catalog's
    columns. The first position stored is kept: a later file is not allowed to
    move a star. The same object under other catalogs' names is in
    :attr:`aliases` (:class:`TargetAlias`).
    """

    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("catalog_id", "name"),
                      UniqueConstraint("catalog_id", "designation"),
                      CheckConstraint("ra >= 0 AND ra < 360", name="ra_range"),
                      CheckConstraint("dec >= -90 AND dec <= 90", name="dec_range"),
                      Index("ix_target_dec", "dec"))

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Target identifier.")
    catalog_id: Mapped[int] = mapped_column(
        ForeignKey("mission_catalog.id", ondelete="CASCADE"),
        doc="The :class:`MissionCatalog` the target belongs to.")
    name: Mapped[int] = mapped_column(
        BigInteger, index=True,
        doc="Catalog number, e.g. the TIC id (indexed alone too: a look-up by TIC id "
            "names no catalog).")
    designation: Mapped[str | None] = mapped_column(
        String(64), doc="Catalog designation for catalogs that name rather than number "
                        "their objects (e.g. ``NVSS J123456.7+420312``); unique per catalog.")

    ra: Mapped[float | None] = mapped_column(
        Double, doc="Right ascension (deg, ICRS) at ``epoch``, in [0, 360).")
    dec: Mapped[float | None] = mapped_column(
        Double, doc="Declination (deg, ICRS) at ``epoch``, in [-90, 90].")
    epoch: Mapped[float | None] = mapped_column(
        Double, doc="Epoch of ``ra``/``dec`` as a Julian year (e.g. 2000.0); NULL "
                    "when the source does not say.")
    pm_ra: Mapped[float | None] = mapped_column(
        Double, doc="Proper motion in RA, μ_α cos δ (mas/yr).")
    pm_dec: Mapped[float | None] = mapped_column(
        Double, doc="Proper motion in Dec, μ_δ (mas/yr).")
    magnitude: Mapped[float | None] = mapped_column(
        Double, doc="Brightness in :attr:`magnitude_band` (mag).")
    magnitude_band: Mapped[str | None] = mapped_column(
        String(16), doc="The band of :attr:`magnitude`, e.g. ``TESS`` for the TIC's Tmag.")

    catalog: Mapped[MissionCatalog] = relationship(back_populates="targets",
                                                   doc="The target's catalog.")
    aliases: Mapped[list[TargetAlias]] = relationship(
        back_populates="target", cascade="all, delete-orphan", passive_deletes=True,
        order_by="TargetAlias.id", doc="The target's names in other catalogs.")
    datasets: Mapped[list[DataSet]] = relationship(
        back_populates="target", cascade="all, delete", passive_deletes=True,
        doc="Light curves (:class:`DataSet`) of this target, all observations.")
    target_specific_times: Mapped[list[TargetSpecificTime]] = relationship(
        back_populates="target", cascade="all, delete", passive_deletes=True,
        doc="Per-observation barycentric time arrays of this target.")
    quality_flag_arrays: Mapped[list[QualityFlagArray]] = relationship(
        back_populates="target", cascade="all, delete", passive_deletes=True,
        doc="Target-specific quality flags.")
    observations: Mapped[list[Observation]] = relationship(
        secondary="target_specific_time", viewonly=True, order_by="Observation.id",
        doc="Observations that have times for this target (through "
            ":class:`TargetSpecificTime`), ordered by id.")

    def __repr__(self) -> str:
        return f"Target(catalog_id={self.catalog_id!r}, name={self.name!r})"

    @property
    def coord(self) -> SkyCoord | None:
        """The position as a :class:`~astropy.coordinates.SkyCoord` (ICRS), or None.

        Carries the proper motion (``pm_ra_cosdec``, ``pm_dec``) when both
        components are stored, and ``obstime`` from :attr:`epoch` (Julian year,
        TDB) when it is, so ``coord.apply_space_motion(new_obstime=...)`` moves
        the star to another date.
        """
        if self.ra is None or self.dec is None:
            return None
        from astropy.coordinates import SkyCoord

        extra: dict[str, object] = {}
        if self.pm_ra is not None and self.pm_dec is not None:
            extra["pm_ra_cosdec"] = self.pm_ra * u.mas / u.yr
            extra["pm_dec"] = self.pm_dec * u.mas / u.yr
        if self.epoch is not None:
            extra["obstime"] = Time(self.epoch, format="jyear", scale="tdb")
        return SkyCoord(ra=self.ra * u.deg, dec=self.dec * u.deg, frame="icrs", **extra)


class TargetAlias(Base):
    """The name of a :class:`Target` in another catalog (Gaia DR3, 2MASS, NVSS, ...).

    One star has a number in each catalog that lists it: TIC 261136679 is also
    Gaia DR3 4676034939843043840. :func:`lightcurvedb.find_target` finds a
    target by any of its aliases. A name belongs to one target per catalog.
    """

    __tablename__ = "target_alias"
    __table_args__ = (UniqueConstraint("name", "catalog"),)

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Alias identifier.")
    target_id: Mapped[int] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True,
        doc="The :class:`Target` this is another name of.")
    catalog: Mapped[str] = mapped_column(
        String(64), doc="The other catalog, e.g. ``Gaia DR3``, ``2MASS``, ``NVSS``.")
    name: Mapped[str] = mapped_column(
        String(64), doc="The target's identifier in that catalog, as the catalog writes it.")

    target: Mapped[Target] = relationship(back_populates="aliases", doc="The target.")

    def __repr__(self) -> str:
        return f"TargetAlias(catalog={self.catalog!r}, name={self.name!r})"
