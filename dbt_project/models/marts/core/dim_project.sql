-- One row per investment-promotion project (project_code), with its attributes from the latest report month in which it appears.
with ranked as (
    select
        int_project_months.*,
        row_number() over (partition by project_code order by report_month desc) as recency_rank,
        min(report_month) over (partition by project_code) as first_month
    from {{ ref('int_project_months') }}
),

latest as (
    select * from ranked where recency_rank = 1
),

centers as (
    select center_key, center_code from {{ ref('dim_center') }}
),

firm_latest_versions as (
    select uscc, firm_key from {{ ref('int_firm_versions') }} where is_latest_version
)

select
    cast({{ surrogate_key(['latest.project_code']) }} as {{ dbt.type_string() }}) as project_key,
    cast(latest.project_code as {{ dbt.type_string() }}) as project_code,
    cast(latest.project_name as {{ dbt.type_string() }}) as project_name,
    cast(latest.investor_name as {{ dbt.type_string() }}) as investor_name,
    cast(latest.investor_uscc as {{ dbt.type_string() }}) as investor_uscc,
    cast(latest.investor_resolution as {{ dbt.type_string() }}) as investor_resolution,
    cast(firm_latest_versions.firm_key as {{ dbt.type_string() }}) as investor_firm_key,
    cast(latest.industry as {{ dbt.type_string() }}) as industry,
    cast(latest.promotion_subject as {{ dbt.type_string() }}) as promotion_subject,
    cast(latest.promotion_method as {{ dbt.type_string() }}) as promotion_method,
    cast(latest.stage as {{ dbt.type_string() }}) as stage,
    cast(latest.park as {{ dbt.type_string() }}) as park,
    cast(latest.responsible_unit as {{ dbt.type_string() }}) as responsible_unit,
    cast(latest.center_code as {{ dbt.type_string() }}) as center_code,
    cast(centers.center_key as {{ dbt.type_string() }}) as center_key,
    cast(latest.signed_date as date) as signed_date,
    cast(latest.start_date as date) as start_date,
    cast(latest.production_date as date) as production_date,
    cast(latest.investment_planned_cny as {{ money_type() }}) as investment_planned_cny,
    cast(latest.first_month as date) as first_month,
    cast(latest.report_month as date) as latest_month,
    cast(latest.file_sha256 as {{ dbt.type_string() }}) as project_source_file_sha256,
    cast(latest.sheet as {{ dbt.type_string() }}) as project_source_sheet,
    cast(latest.row_number as integer) as project_source_row
from latest
left join centers
    on centers.center_code = latest.center_code
left join firm_latest_versions
    on firm_latest_versions.uscc = latest.investor_uscc
