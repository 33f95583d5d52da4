"""The Citus layout as data: table roles, dropped and re-keyed constraints, :data:`LAYOUT`."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import MetaData, Table

__all__ = ["LAYOUT", "CitusLayout", "DistributedTable", "DroppedConstraint",
           "ReplacedConstraint", "TableRole"]


@dataclass(frozen=True)
class DistributedTable:
    """A table sharded by ``column`` and co-located with the other tables of ``group``.

    Attributes
    ----------
    table : str
        Schema-qualified name (``radio.photometry``).
    column : str
        The distribution column.
    group : str
        The co-location group; its first table in dependency order starts it.
    """

    table: str
    column: str
    group: str


@dataclass(frozen=True)
class DroppedConstraint:
    """A constraint Citus cannot keep under the layout, dropped before distributing.

    Attributes
    ----------
    table, constraint : str
        The table and the constraint's name (from the naming convention).
    reason : str
        Why it cannot stay, and what is lost.
    """

    table: str
    constraint: str
    reason: str


@dataclass(frozen=True)
class ReplacedConstraint:
    """A key re-made before distributing so that it contains the distribution column.

    The constraint keeps its name and kind (primary key, unique constraint or
    foreign key); only its columns (and, for a foreign key, its referenced
    columns and ON DELETE action; never an ON UPDATE action) change.

    Attributes
    ----------
    table, constraint : str
        The table and the constraint's name.
    columns : tuple of str
        The new key columns.
    reason : str
        Why, and what is lost.
    references : tuple of str
        For a foreign key, the referenced ``table.column`` for each column.
    ondelete : str or None
        For a foreign key, its ON DELETE action.
    """

    table: str
    constraint: str
    columns: tuple[str, ...]
    reason: str
    references: tuple[str, ...] = ()
    ondelete: str | None = None


@dataclass(frozen=True)
class TableRole:
    """How one table is laid out: ``kind`` is ``distributed``, ``reference`` or ``local``.

    ``column`` and ``group`` are set for distributed tables only.
    """

    kind: str
    column: str | None = None
    group: str | None = None


@dataclass(frozen=True)
class CitusLayout:
    """Which tables are distributed (by what, with whom), reference or local.

    Joined-table inheritance children (a table whose primary key is one column
    referencing its parent's primary key, such as ``tess_observation``) take
    their parent's role when they are not listed, so a new mission's tables
    are placed like their parents without an edit here.

    Attributes
    ----------
    distributed : tuple of DistributedTable
    reference, local : frozenset of str
    dropped : tuple of DroppedConstraint
    replaced : tuple of ReplacedConstraint
    """

    distributed: tuple[DistributedTable, ...]
    reference: frozenset[str]
    local: frozenset[str] = field(default_factory=frozenset)
    dropped: tuple[DroppedConstraint, ...] = ()
    replaced: tuple[ReplacedConstraint, ...] = ()

    def listed(self) -> dict[str, TableRole]:
        """Return the roles of the tables named in the layout."""
        roles = {name: TableRole("reference") for name in self.reference}
        roles.update({name: TableRole("local") for name in self.local})
        roles.update({d.table: TableRole("distributed", d.column, d.group)
                      for d in self.distributed})
        return roles

    def roles(self, metadata: MetaData) -> dict[str, TableRole]:
        """Return the role of every table of ``metadata`` the layout places.

        Listed tables first, then inheritance children of placed tables (see
        the class description); tables placed neither way are left out.
        """
        roles = self.listed()
        changed = True
        while changed:
            changed = False
            for name, table in metadata.tables.items():
                parent = None if name in roles else _inheritance_parent(table)
                if parent is None or parent.fullname not in roles:
                    continue
                role = roles[parent.fullname]
                if role.kind != "distributed":
                    roles[name] = role
                elif [c.name for c in parent.primary_key.columns] == [role.column]:
                    (own,) = table.primary_key.columns
                    roles[name] = TableRole("distributed", own.name, role.group)
                else:
                    continue
                changed = True
        return {name: roles[name] for name in metadata.tables if name in roles}


def _inheritance_parent(table: Table) -> Table | None:
    columns = list(table.primary_key.columns)
    if len(columns) != 1:
        return None
    for fk in columns[0].foreign_keys:
        parent = fk.column.table
        if isinstance(parent, Table) and list(parent.primary_key.columns) == [fk.column]:
            return parent
    return None


_OBS = "observation"
_RADIO = "radio source"

#: The shipped layout: the light-curve tables sharded by observation, the radio
#: photometry by source, the catalog-like and study tables copied to every node,
#: the DSA-110 pipeline's bookkeeping on the coordinator. See :doc:`/citus`.
LAYOUT = CitusLayout(
    distributed=(
        DistributedTable("observation", "id", _OBS),
        DistributedTable("dataset", "observation_id", _OBS),
        DistributedTable("target_specific_time", "observation_id", _OBS),
        DistributedTable("quality_flag_array", "observation_id", _OBS),
        DistributedTable("dataset_hierarchy", "child_observation_id", _OBS),
        DistributedTable("radio.variability_stats", "source_id", _RADIO),
        DistributedTable("radio.photometry", "source_id", _RADIO),
    ),
    reference=frozenset({
        "mission", "mission_catalog", "target", "target_alias", "instrument",
        "photometric_source", "processing_method", "fits_frame", "catalog_validation",
        "loaded_file",
        "radio.images", "radio.ms_index", "radio.mosaics", "radio.caltables", "radio.sources",
        "radio.ese_candidates",
        "rbh1.pipeline_runs", "rbh1.regions_of_interest", "rbh1.observations",
        "rbh1.wcs_solutions", "rbh1.spectral_grids", "rbh1.ifu_spaxels",
        "rbh1.emission_lines", "rbh1.mcmc_metadata", "rbh1.mcmc_parameter_summary",
        "rbh1.noise_artifacts", "rbh1.physical_properties",
    }),
    local=frozenset({
        "radio.ingest_queue", "radio.subband_files", "radio.performance_metrics",
        "radio.pointing_history", "radio.alert_history", "radio.qa_artifacts",
    }),
    dropped=(
        DroppedConstraint(
            "dataset_hierarchy", "fk_dataset_hierarchy_source_dataset_id_dataset",
            "a lineage edge may join light curves of two observations, which live on "
            "different shards: only the child side, on the edge's own shard, keeps its "
            "foreign key, so deleting a source light curve no longer deletes its edges"),
        DroppedConstraint(
            "fits_frame", "fk_fits_frame_observation_id_observation",
            "FITS frames are a reference table (their mission subclass tables carry no "
            "observation_id to shard by), and a reference table cannot reference a "
            "distributed one: deleting an observation no longer deletes its frames"),
        DroppedConstraint(
            "loaded_file", "fk_loaded_file_observation_id_observation",
            "the records of loaded files are a reference table (looked up by file name "
            "before anything is read), which cannot reference the distributed observations: "
            "deleting an observation no longer deletes its files' records (delete them, or "
            "the target, to load those files again)"),
        DroppedConstraint(
            "radio.ese_candidates", "fk_ese_candidates_source_id_variability_stats",
            "the few ESE candidates are a reference table, which cannot reference the "
            "distributed variability statistics: a candidate's source is no longer checked"),
    ),
    replaced=(
        ReplacedConstraint(
            "dataset_hierarchy", "pk_dataset_hierarchy", ("id", "child_observation_id"),
            "a distributed table's keys must contain its distribution column; id stays "
            "unique through its sequence"),
        ReplacedConstraint(
            "dataset_hierarchy", "uq_dataset_hierarchy_source_dataset_id_child_dataset_id",
            ("source_dataset_id", "child_dataset_id", "child_observation_id"),
            "the same; a light-curve id determines its observation, so the edge stays unique"),
        ReplacedConstraint(
            "dataset_hierarchy", "fk_dataset_hierarchy_child_dataset_id_dataset",
            ("child_dataset_id", "child_observation_id"),
            "Citus refuses ON UPDATE CASCADE on a foreign key holding the distribution "
            "column (which cannot change anyway); ON DELETE CASCADE stays",
            references=("dataset.id", "dataset.observation_id"), ondelete="CASCADE"),
        ReplacedConstraint(
            "radio.photometry", "pk_photometry", ("id", "measured_at", "source_id"),
            "a distributed table's keys must contain its distribution column (and, the "
            "table being partitioned by month, its partition column); id stays unique "
            "through its sequence"),
    ),
)
