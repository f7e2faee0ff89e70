-- Carry-forward (spec/marts.md): one row per month per center expected in it, i.e. with an accepted ledger row in the month or in any of the 3 months before. A center without a row in the month contributes the stock figures (racks, compute) of its latest accepted row of those 3 months, flagged is_carried_forward; a center silent for longer contributes nothing. Energy is never carried forward.
with months as (
    select month from {{ ref('dim_month') }}
),

center_rows as (
    select
        center_code,
        month as report_month,
        park,
        status,
        racks_built,
        racks_in_use,
        compute_general_pflops,
        compute_ai_pflops,
        compute_hpc_pflops
    from {{ ref('fct_center_month') }}
),

candidates as (
    select
        months.month,
        center_rows.*,
        row_number() over (partition by months.month, center_rows.center_code
                           order by center_rows.report_month desc) as recency_rank
    from months
    inner join center_rows
        on center_rows.report_month <= months.month
       and center_rows.report_month >= cast({{ dbt.dateadd('month', -3, 'months.month') }} as date)
)

select
    month,
    center_code,
    report_month as source_month,
    report_month < month as is_carried_forward,
    park,
    status,
    racks_built,
    racks_in_use,
    compute_general_pflops,
    compute_ai_pflops,
    compute_hpc_pflops
from candidates
where recency_rank = 1
