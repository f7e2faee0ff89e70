-- Registry rows: one row per snapshot date x uscc, from the latest loaded registry file for that snapshot date. legal_rep is PII (masked downstream).
-- A view, like the other staging models: a consumer pays a scan of raw.registry and a join with a few
-- current files (~0.4 s CPU at province scale, 4 x 1M rows), while writing the 3.9M rows as a table
-- cost ~18 s CPU on the critical path of every build.

with registry as (
    select * from {{ source('raw', 'registry') }}
),

current_files as (
    -- file-level supersession: only the latest loaded file (delivery order) of each period is current
    select file_sha256, period_start, path, delivery_seq
    from ({{ period_files('registry', source('raw', 'registry'), 'cast(snapshot_date as date)') }}) as period_files
    where is_current
)

select
    cast(registry.snapshot_date as date) as snapshot_date,
    cast(upper(registry.uscc) as {{ dbt.type_string() }}) as uscc,
    cast(registry.name as {{ dbt.type_string() }}) as name,
    cast(registry.former_names as {{ dbt.type_string() }}) as former_names,
    cast(registry.legal_rep as {{ dbt.type_string() }}) as legal_rep,
    cast(registry.registered_capital_amount as double) as registered_capital_amount,
    cast(upper(registry.registered_capital_currency) as {{ dbt.type_string() }}) as registered_capital_currency,
    {{ money('registry.registered_capital_cny') }} as registered_capital_cny,
    cast(registry.established as date) as established,
    cast(registry.status as {{ dbt.type_string() }}) as status,
    cast(registry.firm_type as {{ dbt.type_string() }}) as firm_type,
    cast(registry.industry_code as {{ dbt.type_string() }}) as industry_code,
    cast(registry.address as {{ dbt.type_string() }}) as address,
    cast(registry.authority as {{ dbt.type_string() }}) as authority,
    cast(registry.extras as {{ dbt.type_string() }}) as extras,
    cast(registry.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(current_files.path as {{ dbt.type_string() }}) as file_path,
    cast(current_files.delivery_seq as bigint) as delivery_seq,
    cast(registry.sheet as {{ dbt.type_string() }}) as sheet,
    cast(registry.row_number as integer) as row_number
from registry
inner join current_files
    on current_files.file_sha256 = registry.file_sha256
   and current_files.period_start = cast(registry.snapshot_date as date)
