-- 算力规模、算力结构: one row per month per park with racks, utilisation, compute by type and the AI share of the centers expected that month; a center without an accepted row in the month counts with its latest row of the 3 months before (carry-forward, counted in centers_carried_forward). The whole cluster is mart_cluster_month.
with stock as (
    select
        int_center_month_stock.*,
        coalesce(park, '{{ var("dcw_unknown_label") }}') as park_label
    from {{ ref('int_center_month_stock') }} as int_center_month_stock
),

aggregated as (
    select
        month,
        park_label as park,
        {{ center_stock_sums() }}
    from stock
    group by month, park_label
),

totals as (
    select
        aggregated.*,
        {{ compute_total('compute_general_pflops', 'compute_ai_pflops', 'compute_hpc_pflops') }} as compute_total_pflops
    from aggregated
)

select
    cast(month as date) as month,
    cast(park as {{ dbt.type_string() }}) as park,
    cast(centers_reporting as bigint) as centers_reporting,
    cast(centers_carried_forward as bigint) as centers_carried_forward,
    cast(racks_built as bigint) as racks_built,
    cast(racks_in_use as bigint) as racks_in_use,
    cast({{ safe_divide('util_in_use', 'util_built') }} as double) as rack_utilization,
    cast(compute_general_pflops as double) as compute_general_pflops,
    cast(compute_ai_pflops as double) as compute_ai_pflops,
    cast(compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(compute_total_pflops as double) as compute_total_pflops,
    -- NULL when AI compute is unknown (never 0 for unknown) or the total is 0
    cast({{ safe_divide('compute_ai_pflops', 'compute_total_pflops') }} as double) as ai_share
from totals
