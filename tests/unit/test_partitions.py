"""Dagster reads and writes a run's partition tags as ``orchestration.partitions`` names them.

The dagster package exports no constants for these run tags, so the project spells them out; these
tests run real in-process jobs and fail should Dagster stop honouring or setting them.
"""
import dagster as dg

from orchestration.partitions import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
    PARTITION_NAME_TAG,
    months_of_run,
    range_tags,
)

MONTHS = dg.MonthlyPartitionsDefinition(start_date="2024-01", fmt="%Y-%m")


@dg.asset(partitions_def=MONTHS, backfill_policy=dg.BackfillPolicy.single_run())
def monthly_asset(context: dg.AssetExecutionContext) -> None:
    context.add_output_metadata({"first": context.partition_key_range.start, "last": context.partition_key_range.end})


def _job():
    return dg.Definitions(assets=[monthly_asset]).resolve_implicit_global_asset_job_def()


def _seen(result):
    mat = result.asset_materializations_for_node("monthly_asset")
    return mat[0].metadata["first"].value, mat[0].metadata["last"].value


def test_dagster_runs_the_range_our_range_tags_name():
    result = _job().execute_in_process(tags=range_tags("2024-02", "2024-05"))
    assert result.success
    assert _seen(result) == ("2024-02", "2024-05")
    assert months_of_run(result.dagster_run.tags) == ("2024-02", "2024-05")
    assert {ASSET_PARTITION_RANGE_START_TAG, ASSET_PARTITION_RANGE_END_TAG} <= set(result.dagster_run.tags)


def test_dagster_tags_a_one_partition_run_with_our_partition_tag():
    result = _job().execute_in_process(partition_key="2024-03")
    assert result.success and _seen(result) == ("2024-03", "2024-03")
    assert result.dagster_run.tags.get(PARTITION_NAME_TAG) == "2024-03"
    assert months_of_run(result.dagster_run.tags) == ("2024-03", "2024-03")
