-- One row per grid account per billing month: the current bill only (superseded bills are in audit.superseded_bills), with the owning center and arithmetic checks.
-- Incremental by month: a run replaces the months of its window (macros/month_window.sql).
{{ config(materialized='incremental', incremental_strategy='replace_months', month_column='month',
          on_schema_change='fail') }}
with bills as (
    select * from {{ ref('stg_raw__power_bills') }}
    where is_current
    {% if is_incremental() -%}
      and ({{ month_window('billing_month') }}
           -- months outside the window whose bills changed owner (a later ledger month claims the account)
           or billing_month in (
               select t.month
               from {{ this }} as t
               left join {{ ref('int_power_accounts') }} as a
                   on a.account_no = t.account_no
               where t.center_code is distinct from a.center_code)
           -- months outside the window whose current bill changed (a re-issue or 更正 in a later file)
           or billing_month in (
               select s.billing_month
               from {{ ref('stg_raw__power_bills') }} as s
               left join {{ this }} as t
                   on t.account_no = s.account_no
                  and t.month = s.billing_month
               where s.is_current
                 and t.bill_source_file_sha256 is distinct from s.file_sha256))
    {%- endif %}
),

accounts as (
    select account_no, center_code from {{ ref('int_power_accounts') }}
),

checked as (
    select
        bills.*,
        accounts.center_code,
        -- peak + flat + valley (+ sharp) = total kWh, within 1 kWh; NULL when a needed part is missing
        case
            when bills.kwh_total is null or bills.kwh_peak is null or bills.kwh_flat is null
                 or bills.kwh_valley is null then null
            else abs(bills.kwh_peak + bills.kwh_flat + bills.kwh_valley + coalesce(bills.kwh_sharp, 0)
                     - bills.kwh_total) <= 1.0000001
        end as kwh_arithmetic_ok,
        -- demand + energy + power-factor adjustment + surcharges = total CNY, within 0.01 CNY
        case
            when bills.total_cny is null or bills.demand_charge_cny is null or bills.energy_charge_cny is null
                 or bills.surcharges_cny is null then null
            else abs(bills.demand_charge_cny + bills.energy_charge_cny + coalesce(bills.pf_adjustment_cny, 0)
                     + bills.surcharges_cny - bills.total_cny) <= 0.0100001
        end as cny_arithmetic_ok
    from bills
    left join accounts
        on accounts.account_no = bills.account_no
)

select
    cast(account_no as {{ dbt.type_string() }}) as account_no,
    cast(billing_month as date) as month,
    cast(case when center_code is not null then {{ surrogate_key(['center_code']) }} end as {{ dbt.type_string() }}) as center_key,
    cast(center_code as {{ dbt.type_string() }}) as center_code,
    cast(account_name as {{ dbt.type_string() }}) as account_name,
    cast(period_start as date) as period_start,
    cast(period_end as date) as period_end,
    cast(kwh_total as double) as kwh_total,
    cast(kwh_peak as double) as kwh_peak,
    cast(kwh_flat as double) as kwh_flat,
    cast(kwh_valley as double) as kwh_valley,
    cast(kwh_sharp as double) as kwh_sharp,
    cast(kvarh as double) as kvarh,
    cast(power_factor as double) as power_factor,
    cast(demand_charge_cny as {{ money_type() }}) as demand_charge_cny,
    cast(energy_charge_cny as {{ money_type() }}) as energy_charge_cny,
    cast(pf_adjustment_cny as {{ money_type() }}) as pf_adjustment_cny,
    cast(surcharges_cny as {{ money_type() }}) as surcharges_cny,
    cast(total_cny as {{ money_type() }}) as total_cny,
    cast(contract_kva as double) as contract_kva,
    cast(max_demand_kw as double) as max_demand_kw,
    cast(bill_type as {{ dbt.type_string() }}) as bill_type,
    cast(is_corrected as boolean) as is_corrected,
    cast(bill_versions - 1 as bigint) as superseded_bills,
    cast(kwh_arithmetic_ok as boolean) as kwh_arithmetic_ok,
    cast(cny_arithmetic_ok as boolean) as cny_arithmetic_ok,
    cast(kwh_arithmetic_ok and cny_arithmetic_ok as boolean) as arithmetic_ok,
    cast(file_sha256 as {{ dbt.type_string() }}) as bill_source_file_sha256,
    cast(sheet as {{ dbt.type_string() }}) as bill_source_sheet,
    cast(row_number as integer) as bill_source_row
from checked
