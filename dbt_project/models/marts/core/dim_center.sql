-- One row per data center (center_code), with its attributes from the latest report month in which it appears.
with center_months as (
    select
        int_center_months.*,
        row_number() over (partition by center_code order by report_month desc) as recency_rank,
        min(report_month) over (partition by center_code) as first_month,
        count(*) over (partition by center_code) as months_reported
    from {{ ref('int_center_months') }}
),

latest as (
    select * from center_months where recency_rank = 1
),

firm_latest_versions as (
    select uscc, firm_key from {{ ref('int_firm_versions') }} where is_latest_version
)

select
    cast({{ surrogate_key(['latest.center_code']) }} as {{ dbt.type_string() }}) as center_key,
    cast(latest.center_code as {{ dbt.type_string() }}) as center_code,
    cast(latest.center_name as {{ dbt.type_string() }}) as center_name,
    cast(latest.park as {{ dbt.type_string() }}) as park,
    cast(latest.status as {{ dbt.type_string() }}) as status,
    cast(latest.operating_model as {{ dbt.type_string() }}) as operating_model,
    cast(latest.operator_name as {{ dbt.type_string() }}) as operator_name,
    cast(latest.operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(latest.operator_resolution as {{ dbt.type_string() }}) as operator_resolution,
    cast(firm_latest_versions.firm_key as {{ dbt.type_string() }}) as operator_firm_key,
    cast(latest.racks_designed as bigint) as racks_designed,
    cast(latest.it_load_design_kw as double) as it_load_design_kw,
    cast(latest.construction_start as date) as construction_start,
    cast(latest.operation_start as date) as operation_start,
    cast(latest.power_accounts as {{ dbt.type_string() }}) as power_accounts,
    cast(latest.first_month as date) as first_month,
    cast(latest.report_month as date) as latest_month,
    cast(latest.months_reported as bigint) as months_reported,
    cast(latest.file_sha256 as {{ dbt.type_string() }}) as ledger_source_file_sha256,
    cast(latest.sheet as {{ dbt.type_string() }}) as ledger_source_sheet,
    cast(latest.row_number as integer) as ledger_source_row
from latest
left join firm_latest_versions
    on firm_latest_versions.uscc = latest.operator_uscc
