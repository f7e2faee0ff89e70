-- The whole cluster month by month: how many centers are expected, how many reported, which are carried forward from their latest row of the 3 months before (carry-forward), the cluster's racks and compute (stock figures, carried forward), and its billed energy and cost (never carried forward), with the energy of accounts no center claims.
with months as (
    select month from {{ ref('dim_month') }}
),

stock as (
    select
        month as stock_month,
        count(*) as centers_expected,
        {{ dbt.listagg('case when is_carried_forward then center_code end', "', '", 'order by center_code') }}
            as carried_forward_centers,
        {{ center_stock_sums() }}
    from {{ ref('int_center_month_stock') }}
    group by month
),

bills as (
    select
        month,
        sum(case when center_key is not null then kwh_total end) as facility_energy_kwh,
        sum(case when center_key is null then kwh_total else 0 end) as unclaimed_energy_kwh,
        sum(case when center_key is not null then total_cny end) as electricity_cost_cny
    from {{ ref('fct_power_bill') }}
    group by month
),

totals as (
    select
        months.month,
        stock.*,
        {{ compute_total('stock.compute_general_pflops', 'stock.compute_ai_pflops', 'stock.compute_hpc_pflops') }}
            as compute_total_pflops,
        bills.facility_energy_kwh,
        bills.unclaimed_energy_kwh,
        bills.electricity_cost_cny
    from months
    left join stock on stock.stock_month = months.month
    left join bills on bills.month = months.month
)

select
    cast(month as date) as month,
    cast(coalesce(centers_expected, 0) as bigint) as centers_expected,
    cast(coalesce(centers_reporting, 0) as bigint) as centers_reporting,
    cast(coalesce(centers_carried_forward, 0) as bigint) as centers_carried_forward,
    cast(carried_forward_centers as {{ dbt.type_string() }}) as carried_forward_centers,
    cast(racks_built as bigint) as racks_built,
    cast(racks_in_use as bigint) as racks_in_use,
    cast({{ safe_divide('util_in_use', 'util_built') }} as double) as rack_utilization,
    cast(compute_general_pflops as double) as compute_general_pflops,
    cast(compute_ai_pflops as double) as compute_ai_pflops,
    cast(compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(compute_total_pflops as double) as compute_total_pflops,
    cast({{ safe_divide('compute_ai_pflops', 'compute_total_pflops') }} as double) as ai_share,
    cast(facility_energy_kwh as double) as facility_energy_kwh,
    cast(coalesce(unclaimed_energy_kwh, 0) as double) as unclaimed_energy_kwh,
    cast(electricity_cost_cny as {{ money_type() }}) as electricity_cost_cny
from totals
