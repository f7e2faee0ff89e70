-- One row per center per quarter with at least one accepted ledger row: the operator named in the center's latest accepted row of the quarter (who operated it that quarter), whether every accepted row of the quarter has status 运营, and the center's facility energy from bills in the quarter.
with center_months as (
    select
        center_code,
        report_month,
        operator_uscc,
        status,
        cast({{ dbt.date_trunc('quarter', 'report_month') }} as date) as quarter_start
    from {{ ref('int_center_months') }}
),

quarters as (
    select
        center_code,
        quarter_start,
        count(*) as ledger_months,
        min(case when status = '运营' then 1 else 0 end) = 1 as operating_all_quarter
    from center_months
    group by center_code, quarter_start
),

latest as (
    select center_code, quarter_start, operator_uscc
    from (
        select
            center_months.*,
            row_number() over (partition by center_code, quarter_start order by report_month desc) as recency_rank
        from center_months
    ) as ranked
    where recency_rank = 1
),

energy as (
    select
        center_code,
        cast({{ dbt.date_trunc('quarter', 'billing_month') }} as date) as quarter_start,
        sum(facility_energy_kwh) as facility_energy_kwh
    from {{ ref('int_center_bill_months') }}
    group by center_code, cast({{ dbt.date_trunc('quarter', 'billing_month') }} as date)
)

select
    quarters.center_code,
    quarters.quarter_start,
    {{ year_of('quarters.quarter_start') }} as year,
    latest.operator_uscc,
    quarters.ledger_months,
    quarters.operating_all_quarter,
    energy.facility_energy_kwh
from quarters
inner join latest
    on latest.center_code = quarters.center_code
   and latest.quarter_start = quarters.quarter_start
left join energy
    on energy.center_code = quarters.center_code
   and energy.quarter_start = quarters.quarter_start
