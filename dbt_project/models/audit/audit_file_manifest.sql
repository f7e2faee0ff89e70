{{ config(alias='file_manifest') }}
-- One row per file ever seen (path x sha256): ingestion's manifest, with status 'superseded' derived for loaded period files that a later loaded file of the same period replaced.
with files as (
    select * from {{ ref('stg_ops__files') }}
),

file_supersession as (
    select
        file_sha256,
        source_kind,
        count(*) as periods_covered,
        sum(case when is_current then 1 else 0 end) as periods_current,
        {{ dbt.listagg('case when not is_current then current_path end', "', '", 'order by current_path') }} as superseded_by_paths,
        min(case when not is_current then current_file_sha256 end) as superseded_by_sha256
    from {{ ref('stg_ops__file_periods') }}
    group by file_sha256, source_kind
),

-- rows loaded by ingestion but refused by a business rule in SQL count as rejected, not loaded
sql_refusals as (
    select file_sha256, path, count(*) as refused
    from {{ ref('int_sql_refusals') }}
    group by file_sha256, path
)

select
    cast(files.path as {{ dbt.type_string() }}) as path,
    cast(files.file_sha256 as {{ dbt.type_string() }}) as sha256,
    cast(files.bytes as bigint) as bytes,
    cast(files.source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(files.period as {{ dbt.type_string() }}) as period,
    cast(files.modified_at as timestamp) as modified_at,
    cast(files.received_at as timestamp) as received_at,
    cast(files.delivery_seq as bigint) as delivery_seq,
    cast(
        case
            when files.status = 'loaded' and fs.periods_covered > 0 and fs.periods_current = 0 then 'superseded'
            else files.status
        end as {{ dbt.type_string() }}
    ) as status,
    cast(files.status as {{ dbt.type_string() }}) as ingest_status,
    cast(
        case
            when files.status = 'loaded' and fs.periods_covered > 0 and fs.periods_current = 0
                then {{ dbt.concat(["'superseded by a later delivery for the same period: '", 'fs.superseded_by_paths']) }}
            else files.reason
        end as {{ dbt.type_string() }}
    ) as reason,
    cast(
        case when files.status = 'loaded' and fs.periods_current = 0 then fs.superseded_by_sha256 end
        as {{ dbt.type_string() }}
    ) as superseded_by_sha256,
    cast(files.rows_read as bigint) as rows_read,
    cast(files.rows_loaded - coalesce(sr.refused, 0) as bigint) as rows_loaded,
    cast(files.rows_rejected + coalesce(sr.refused, 0) as bigint) as rows_rejected,
    cast(files.rows_skipped as bigint) as rows_skipped,
    cast(files.sheets as {{ dbt.type_string() }}) as sheets
from files
left join file_supersession as fs
    on fs.file_sha256 = files.file_sha256
   and fs.source_kind = files.source_kind
   and files.status = 'loaded'
left join sql_refusals as sr
    on sr.file_sha256 = files.file_sha256
   and sr.path = files.path
