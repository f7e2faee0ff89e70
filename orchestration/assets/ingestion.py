"""Ingestion assets: register the inbox, then load each source kind into ``raw.*``.

Thin glue over ``ingestion/``: the parsing and the row rules live there.

The raw tables are partitioned by the period their files cover (``orchestration/partitions.py``),
but loading stays by file: a run of any partition(s) of a kind loads every file of that kind the
manifest still has pending, each in one transaction, because a file's periods are only certain
once it is parsed (a bill export also re-issues earlier months). Loading a file early is harmless;
a materialised partition therefore means "every file delivered so far for this period is in raw".
The periods each file really held are recorded in ``ops.file_manifest.period`` and reported as
metadata.
"""

import dagster as dg

from ingestion.column_maps import SOURCE_KINDS, source_map
from ingestion.load import ensure_raw_tables, load_source
from ingestion.manifest import pending, register_inbox
from orchestration.checks.runner import start_gx_process
from orchestration.partitions import partitions_of_kind
from orchestration.resources import Warehouse

WORKING_DB_POOL = "working_duckdb"  # every writer of the working file shares this pool (limit 1)
# No retry policy: a bad file is refused and costs only itself (ingestion/load.py), and a lock held on the
# working file by another process is waited for, then reported with its PID (resources.open_working_file).
# What remains is a failure of the pipeline itself, which a retry would only repeat.


@dg.asset(
    key=["ops", "file_manifest"],
    group_name="ingestion",
    kinds={"python", "duckdb"},
    owners=["team:data-engineering"],
    pool=WORKING_DB_POOL,
    description="Registers every file of the inbox in ops.file_manifest in delivery order; refuses "
                "files outside the known folders, of another extension or empty; marks byte-identical "
                "copies as duplicates.",
)
def inbox_manifest(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
    if not warehouse.inbox_path.is_dir():
        raise dg.Failure(f"the inbox {warehouse.inbox_path} does not exist: set DCW_INBOX to the inbox folder")
    start_gx_process()  # the raw tables' quality checks follow the loads: GX's start-up overlaps them
    with warehouse.connect() as con:
        ensure_raw_tables(con)  # every raw table exists, even for a source with no file yet
        counts = register_inbox(con, warehouse.inbox_path)
        total = con.execute("select count(*) from ops.file_manifest").fetchone()[0]
    context.log.info(f"new files by status: {counts}")
    if counts.get("still_being_written"):
        context.log.warning(f"{counts['still_being_written']} file(s) still being written (modified in the last "
                            "DCW_SETTLE_SECONDS): left for the next run")
    new_files = sum(n for status, n in counts.items() if status != "still_being_written")
    return dg.MaterializeResult(metadata={"new_files": new_files, "files_ever_seen": total,
                                          **{f"new_{k}": v for k, v in counts.items()}})


def _raw_asset(kind: str) -> dg.AssetsDefinition:
    smap = source_map(kind)
    partitions_def = partitions_of_kind(kind)

    @dg.asset(
        name=smap.table,
        key_prefix=["raw"],
        deps=[inbox_manifest],
        group_name="ingestion",
        kinds={"python", "duckdb"},
        owners=["team:data-engineering"],
        pool=WORKING_DB_POOL,
            partitions_def=partitions_def,
        backfill_policy=dg.BackfillPolicy.single_run() if partitions_def else None,
        description=f"raw.{smap.table}: every loaded {kind} file's rows, parsed to canonical columns and units, "
                    "with file sha256, sheet and row number. Refused rows go to ops.rejected_rows."
                    + (" Partitioned by the period of its files; a run loads every pending file of the kind."
                       if partitions_def else ""),
    )
    def _load(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            ensure_raw_tables(con)
            todo = [sha for sha, _ in pending(con, kind)]
            summary = load_source(con, warehouse.inbox_path, kind)
            rows = con.execute(f"select count(*) from raw.{smap.table}").fetchone()[0]
            periods = sorted({p for (text,) in con.execute(
                "select period from ops.file_manifest where status = 'loaded' and period is not null "
                "and list_contains(?, file_sha256)", [todo]).fetchall() for p in text.split(",")})
        context.log.info(f"{kind}: {summary}; periods of the files loaded now: {periods}")
        return dg.MaterializeResult(metadata={**summary, "dagster/row_count": rows,
                                              "periods_loaded": dg.MetadataValue.json(periods)})

    return _load


def build_raw_assets() -> list[dg.AssetsDefinition]:
    """One raw asset per source kind, partitioned as ``orchestration.partitions`` says (read when called)."""
    return [_raw_asset(kind) for kind in SOURCE_KINDS]
