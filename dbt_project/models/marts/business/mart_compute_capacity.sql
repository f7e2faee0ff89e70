-- 算力规模、算力结构: one row per report month per park, plus a cluster-wide row (park = 全区), with racks, utilisation, compute by type and the AI share.
with center_months as (
    select
        month,
        coalesce(park, '{{ var("dcw_unknown_label") }}') as park,
        center_code,
        racks_built,
        racks_in_use,
        compute_general_pflops,
        compute_ai_pflops,
        compute_hpc_pflops
    from {{ ref('fct_center_month') }}
),

scoped as (
    select center_months.*, park as scope_park from center_months
    union all
    select center_months.*, '全区' as scope_park from center_months
),

aggregated as (
    select
        month,
        scope_park as park,
        count(*) as centers_reporting,
        sum(racks_built) as racks_built,
        sum(racks_in_use) as racks_in_use,
        -- utilisation over the centers that report both racks built and in use
        sum(case when racks_built is not null and racks_in_use is not null then racks_in_use end) as util_in_use,
        sum(case when racks_built is not null and racks_in_use is not null then racks_built end) as util_built,
        sum(compute_general_pflops) as compute_general_pflops,
        sum(compute_ai_pflops) as compute_ai_pflops,
        sum(compute_hpc_pflops) as compute_hpc_pflops
    from scoped
    group by month, scope_park
),

totals as (
    select
        aggregated.*,
        case
            when compute_general_pflops is null and compute_ai_pflops is null and compute_hpc_pflops is null then null
            else coalesce(compute_general_pflops, 0) + coalesce(compute_ai_pflops, 0) + coalesce(compute_hpc_pflops, 0)
        end as compute_total_pflops
    from aggregated
)

select
    cast(month as date) as month,
    cast(park as {{ dbt.type_string() }}) as park,
    cast(park = '全区' as boolean) as is_cluster_total,
    cast(centers_reporting as bigint) as centers_reporting,
    cast(racks_built as bigint) as racks_built,
    cast(racks_in_use as bigint) as racks_in_use,
    cast({{ safe_divide('util_in_use', 'util_built') }} as double) as rack_utilization,
    cast(compute_general_pflops as double) as compute_general_pflops,
    cast(compute_ai_pflops as double) as compute_ai_pflops,
    cast(compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(compute_total_pflops as double) as compute_total_pflops,
    cast({{ safe_divide('coalesce(compute_ai_pflops, 0)', 'compute_total_pflops') }} as double) as ai_share
from totals
