-- One row per data center per report month (current ledger rows): racks, compute, IT energy, facility energy and cost from the center's bills, PUE; with the source spreadsheet row.
-- Incremental by month: a run replaces the months of its window (macros/month_window.sql).
{{ config(materialized='incremental', incremental_strategy='replace_months', month_column='month',
          on_schema_change='fail') }}
select
    cast({{ surrogate_key(['center_code']) }} as {{ dbt.type_string() }}) as center_key,
    cast(center_code as {{ dbt.type_string() }}) as center_code,
    cast(report_month as date) as month,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(park as {{ dbt.type_string() }}) as park,
    cast(operating_model as {{ dbt.type_string() }}) as operating_model,
    cast(operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(racks_designed as bigint) as racks_designed,
    cast(racks_built as bigint) as racks_built,
    cast(racks_in_use as bigint) as racks_in_use,
    cast(rack_utilization as double) as rack_utilization,
    cast(servers as bigint) as servers,
    cast(it_load_design_kw as double) as it_load_design_kw,
    cast(compute_general_pflops as double) as compute_general_pflops,
    cast(compute_ai_pflops as double) as compute_ai_pflops,
    cast(compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(compute_total_pflops as double) as compute_total_pflops,
    cast(it_energy_kwh as double) as it_energy_kwh,
    cast(facility_energy_kwh as double) as facility_energy_kwh,
    cast(pue as double) as pue,
    cast(electricity_cost_cny as {{ money_type() }}) as electricity_cost_cny,
    cast(avg_price_cny_per_kwh as double) as avg_price_cny_per_kwh,
    cast(bill_count as bigint) as bill_count,
    cast(investment_planned_cny as {{ money_type() }}) as investment_planned_cny,
    cast(investment_completed_cny as {{ money_type() }}) as investment_completed_cny,
    cast(file_sha256 as {{ dbt.type_string() }}) as ledger_source_file_sha256,
    cast(sheet as {{ dbt.type_string() }}) as ledger_source_sheet,
    cast(row_number as integer) as ledger_source_row
from {{ ref('int_center_months') }} as c
{% if is_incremental() -%}
where {{ month_window('c.report_month') }}
   -- months outside the window whose operator resolution (registry) or bill totals (account owners, re-issues) changed
   or c.report_month in (
       select t.month
       from {{ this }} as t
       left join {{ ref('int_center_months') }} as n
           on n.center_code = t.center_code
          and n.report_month = t.month
       where n.center_code is null
          or t.operator_uscc is distinct from n.operator_uscc
          or t.bill_count is distinct from n.bill_count
          -- sums: a difference beyond rounding (a sum in another order differs in the last bits)
          or (t.facility_energy_kwh is null) <> (n.facility_energy_kwh is null)
          or abs(t.facility_energy_kwh - n.facility_energy_kwh) > 0.001
          or (t.electricity_cost_cny is null) <> (n.electricity_cost_cny is null)
          or abs(t.electricity_cost_cny - n.electricity_cost_cny) > 0.001)
{%- endif %}
