-- Current data-center ledger rows: one row per center per report month, from the latest loaded file for that month.
with ledger as (
    select * from {{ source('raw', 'dc_ledger') }}
),

current_files as (
    -- file-level supersession: only the latest loaded file (delivery order) of each period is current
    select file_sha256, period_start, path, delivery_seq
    from ({{ period_files('dc_ledger', source('raw', 'dc_ledger'), month_start('report_month')) }}) as period_files
    where is_current
)

select
    cast(ledger.center_code as {{ dbt.type_string() }}) as center_code,
    {{ month_start('ledger.report_month') }} as report_month,
    cast(ledger.center_name as {{ dbt.type_string() }}) as center_name,
    cast(ledger.operator_name as {{ dbt.type_string() }}) as operator_name,
    cast(upper(ledger.operator_uscc) as {{ dbt.type_string() }}) as operator_uscc_given,
    cast(ledger.park as {{ dbt.type_string() }}) as park,
    cast(ledger.status as {{ dbt.type_string() }}) as status,
    cast(ledger.racks_designed as bigint) as racks_designed,
    cast(ledger.racks_built as bigint) as racks_built,
    cast(ledger.racks_in_use as bigint) as racks_in_use,
    cast(ledger.servers as bigint) as servers,
    cast(ledger.it_load_design_kw as double) as it_load_design_kw,
    cast(ledger.compute_general_pflops as double) as compute_general_pflops,
    cast(ledger.compute_ai_pflops as double) as compute_ai_pflops,
    cast(ledger.compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(ledger.it_energy_kwh as double) as it_energy_kwh,
    {{ money('ledger.investment_planned_cny') }} as investment_planned_cny,
    {{ money('ledger.investment_completed_cny') }} as investment_completed_cny,
    cast(ledger.construction_start as date) as construction_start,
    cast(ledger.operation_start as date) as operation_start,
    cast(ledger.power_accounts as {{ dbt.type_string() }}) as power_accounts,
    cast(ledger.operating_model as {{ dbt.type_string() }}) as operating_model,
    cast(ledger.extras as {{ dbt.type_string() }}) as extras,
    cast(ledger.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(current_files.path as {{ dbt.type_string() }}) as file_path,
    cast(current_files.delivery_seq as bigint) as delivery_seq,
    cast(ledger.sheet as {{ dbt.type_string() }}) as sheet,
    cast(ledger.row_number as integer) as row_number
from ledger
inner join current_files
    on current_files.file_sha256 = ledger.file_sha256
   and current_files.period_start = {{ month_start('ledger.report_month') }}
