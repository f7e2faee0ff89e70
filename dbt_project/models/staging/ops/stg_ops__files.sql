-- One row per file (path x sha256) ever seen by ingestion, typed, with its period parsed to a DATE.
with manifest as (
    select * from {{ source('ops', 'file_manifest') }}
)

select
    cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(path as {{ dbt.type_string() }}) as path,
    cast(source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(bytes as bigint) as bytes,
    cast(modified_at as timestamp) as modified_at,
    cast(received_at as timestamp) as received_at,
    cast(delivery_seq as bigint) as delivery_seq,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(reason as {{ dbt.type_string() }}) as reason,
    cast(period as {{ dbt.type_string() }}) as period,
    -- period as the first day it covers: report month (dc_ledger, projects), plan year (plans), snapshot date (registry)
    case
        when source_kind in ('dc_ledger', 'projects')
            then {{ dbt.safe_cast(dbt.concat(["substr(period, 1, 7)", "'-01'"]), 'date') }}
        when source_kind = 'plans'
            then {{ dbt.safe_cast(dbt.concat(["substr(period, 1, 4)", "'-01-01'"]), 'date') }}
        when source_kind = 'registry'
            then {{ dbt.safe_cast('period', 'date') }}
    end as period_start,
    cast(rows_read as bigint) as rows_read,
    cast(rows_loaded as bigint) as rows_loaded,
    cast(rows_rejected as bigint) as rows_rejected,
    cast(rows_skipped as bigint) as rows_skipped,
    cast(sheets as {{ dbt.type_string() }}) as sheets
from manifest
