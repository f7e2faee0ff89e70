-- One row per investment-promotion project per report month (current ledger rows): stage and investment, with the source spreadsheet row.
-- Incremental by month: a run replaces the months of its window (macros/month_window.sql).
{{ config(materialized='incremental', incremental_strategy='replace_months', month_column='month',
          on_schema_change='fail') }}
with centers as (
    select center_key, center_code from {{ ref('dim_center') }}
)

select
    cast({{ surrogate_key(['p.project_code']) }} as {{ dbt.type_string() }}) as project_key,
    cast(p.project_code as {{ dbt.type_string() }}) as project_code,
    cast(p.report_month as date) as month,
    cast(p.stage as {{ dbt.type_string() }}) as stage,
    cast(p.industry as {{ dbt.type_string() }}) as industry,
    cast(p.promotion_subject as {{ dbt.type_string() }}) as promotion_subject,
    cast(p.promotion_method as {{ dbt.type_string() }}) as promotion_method,
    cast(p.park as {{ dbt.type_string() }}) as park,
    cast(p.investor_uscc as {{ dbt.type_string() }}) as investor_uscc,
    cast(centers.center_key as {{ dbt.type_string() }}) as center_key,
    cast(p.investment_planned_cny as {{ money_type() }}) as investment_planned_cny,
    cast(p.investment_completed_ytd_cny as {{ money_type() }}) as investment_completed_ytd_cny,
    cast(p.signed_date as date) as signed_date,
    cast(p.start_date as date) as start_date,
    cast(p.production_date as date) as production_date,
    cast(p.file_sha256 as {{ dbt.type_string() }}) as project_source_file_sha256,
    cast(p.sheet as {{ dbt.type_string() }}) as project_source_sheet,
    cast(p.row_number as integer) as project_source_row
from {{ ref('int_project_months') }} as p
left join centers
    on centers.center_code = p.center_code
{% if is_incremental() -%}
where {{ month_window('p.report_month') }}
   -- months outside the window whose investor resolution (registry) or center link changed
   or p.report_month in (
       select t.month
       from {{ this }} as t
       left join {{ ref('int_project_months') }} as n
           on n.project_code = t.project_code
          and n.report_month = t.month
       left join centers as nc
           on nc.center_code = n.center_code
       where n.project_code is null
          or t.investor_uscc is distinct from n.investor_uscc
          or t.center_key is distinct from nc.center_key)
{%- endif %}
