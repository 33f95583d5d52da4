"""Per-cadence quality-flag bit arrays (polymorphic: missions name their bits)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar

import numpy as np
import numpy.typing as npt
from sqlalchemy import ForeignKey, Index, String, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lightcurvedb.core.base import Base, BigIntPK

if TYPE_CHECKING:
    from lightcurvedb.models.mission import Target
    from lightcurvedb.models.observation import Observation

__all__ = ["QualityBits", "QualityFlagArray", "UnknownQualityBitError"]


class UnknownQualityBitError(KeyError):
    """A quality-bit name that the flag array's mission does not define."""

    def __str__(self) -> str:
        return str(self.args[0])


@dataclass(frozen=True)
class QualityBits:
    """The named bits of a mission's quality word.

    Parameters
    ----------
    bits : mapping of str to int
        Bit name -> bit value (a power of two), e.g. ``{"desaturation": 32}``.
    hard : iterable of str
        The names whose cadences a careful analysis drops by default (the
        ``"default"`` quality bitmask of :mod:`lightcurvedb.lc`).
    descriptions : mapping of str to str, optional
        What each bit means, from the mission's data documentation.
    harder : iterable of str, optional
        Bits a more conservative analysis drops as well: the ``"hard"``
        quality bitmask of :mod:`lightcurvedb.lc` is :attr:`hard` plus these
        (it removes some good data too).
    """

    bits: Mapping[str, int]
    hard: tuple[str, ...] = ()
    descriptions: Mapping[str, str] = field(default_factory=dict)
    harder: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name, value in self.bits.items():
            if value <= 0 or value & (value - 1):
                raise ValueError(f"quality bit {name!r} = {value} is not a power of two")
        self.value(*self.hard, *self.harder)  # every hard name must exist

    def value(self, *names: str) -> int:
        """Return the OR of the named bits.

        Raises
        ------
        UnknownQualityBitError
            If a name is not defined; the message lists the valid names.
        """
        unknown = [name for name in names if name not in self.bits]
        if unknown:
            valid = ", ".join(sorted(self.bits)) or "(none: this flag type names no bits)"
            raise UnknownQualityBitError(
                f"unknown quality bit(s) {', '.join(map(repr, unknown))}; valid names: {valid}")
        word = 0
        for name in names:
            word |= self.bits[name]
        return word

    @property
    def hard_value(self) -> int:
        """int: The OR of the :attr:`hard` bits."""
        return self.value(*self.hard)

    def names(self, word: int) -> tuple[str, ...]:
        """Return the names of the bits set in ``word``, lowest bit first.

        Bits without a name are reported as ``bit_<value>``.
        """
        word = int(word)
        names = [name for name, value in sorted(self.bits.items(), key=lambda kv: kv[1])
                 if word & value]
        named = self.value(*names)
        rest = word & ~named
        position = 0
        while rest:
            if rest & 1:
                names.append(f"bit_{1 << position}")
            rest >>= 1
            position += 1
        return tuple(names)


class QualityFlagArray(Base):
    """Quality bits per cadence for an observation, optionally for one target.

    Polymorphic on :attr:`type` with base identity ``base_quality_flag``;
    missions subclass it to name their bits. At most one array exists per
    ``(type, observation, target)`` -- an observation-wide array (target NULL)
    included: a unique constraint covers arrays with a target and a partial unique
    index (``WHERE target_id IS NULL``) the observation-wide ones, on PostgreSQL
    and SQLite alike.

    Examples
    --------
    Bits are tested with numpy::

        cosmic_ray = (flags.quality_flags & 1) != 0
    """

    __tablename__ = "quality_flag_array"
    __table_args__ = (UniqueConstraint("type", "observation_id", "target_id"),)

    id: Mapped[BigIntPK] = mapped_column(primary_key=True, doc="Row identifier.")
    type: Mapped[str] = mapped_column(String(64), doc="Polymorphic discriminator.")
    observation_id: Mapped[int] = mapped_column(
        ForeignKey("observation.id", ondelete="CASCADE"), index=True, doc="The observation.")
    target_id: Mapped[int | None] = mapped_column(
        ForeignKey("target.id", ondelete="CASCADE"), index=True,
        doc="The target, or NULL for flags that apply to the whole observation.")
    quality_flags: Mapped[npt.NDArray[np.int64]] = mapped_column(
        deferred=True,
        doc="Quality bit field per cadence (64-bit, so unsigned 32-bit words such as "
            "JWST DQ fit).")
    created_on: Mapped[dt.datetime] = mapped_column(
        server_default=func.current_timestamp(), doc="When the row was written (UTC).")

    observation: Mapped[Observation] = relationship(back_populates="quality_flag_arrays",
                                                    doc="The :class:`Observation`.")
    target: Mapped[Target | None] = relationship(back_populates="quality_flag_arrays",
                                                 doc="The :class:`Target`, if any.")

    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_identity": "base_quality_flag"}

    #: The bits this flag type names; missions override it. The base type names none.
    quality_bits: ClassVar[QualityBits] = QualityBits({})

    def mask(self, *names: str) -> npt.NDArray[np.bool_]:
        """Return a boolean array, True where any of the named bits is set.

        Parameters
        ----------
        *names : str
            Bit names of :attr:`quality_bits`, e.g. ``"desaturation"``.

        Raises
        ------
        UnknownQualityBitError
            For a name the mission does not define; the message lists the valid ones.
        """
        return (self.quality_flags & self.quality_bits.value(*names)) != 0

    def hard_mask(self) -> npt.NDArray[np.bool_]:
        """Return True for cadences with any of the mission's "hard" bits set."""
        return (self.quality_flags & self.quality_bits.hard_value) != 0

    def decode(self) -> list[tuple[str, ...]]:
        """Return the names of the bits set at each cadence.

        Each distinct word is decoded once, so a 20,000-cadence sector costs a
        handful of lookups, not 20,000.
        """
        words, inverse = np.unique(self.quality_flags, return_inverse=True)
        decoded = [self.quality_bits.names(word) for word in words]
        return [decoded[i] for i in inverse.ravel()]

    @classmethod
    def bit_names(cls) -> Iterable[str]:
        """Return the bit names this flag type defines, lowest bit first."""
        return [name for name, _ in sorted(cls.quality_bits.bits.items(), key=lambda kv: kv[1])]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(observation_id={self.observation_id!r}, " \
               f"target_id={self.target_id!r})"


# Observation-wide arrays (target NULL) would slip past the unique constraint,
# because SQL treats NULLs as distinct; a partial unique index covers them.
# (PostgreSQL 15's NULLS NOT DISTINCT would do too, but SQLite has no such
# clause, and one mechanism on both backends is simpler to reason about.)
Index(
    "uq_quality_flag_array_observation_wide",
    QualityFlagArray.__table__.c.type, QualityFlagArray.__table__.c.observation_id,
    unique=True,
    postgresql_where=QualityFlagArray.__table__.c.target_id.is_(None),
    sqlite_where=QualityFlagArray.__table__.c.target_id.is_(None),
)
