-- 激发投运数据中心活力: one row per center per month in which it has an accepted ledger row with status 运营, ranked among the centers operating that month by rack utilisation, 12-month PUE (over the matched months) and growth of racks in use over 12 months. Ranks are dense over non-NULL values; NULL values get NULL ranks.
with center_months as (
    select * from {{ ref('int_center_months') }}
),

operating as (
    select center_code, report_month, racks_in_use, rack_utilization
    from center_months
    where status = '运营'
),

-- PUE over the matched months (facility energy from bills and IT energy both above zero) of the 12 months up to the month
pue_12m as (
    select
        operating.center_code,
        operating.report_month,
        count(matched.report_month) as matched_months,
        sum(matched.facility_energy_kwh) as facility_kwh,
        sum(matched.it_energy_kwh) as it_kwh
    from operating
    left join center_months as matched
        on matched.center_code = operating.center_code
       and matched.report_month <= operating.report_month
       and matched.report_month > cast({{ dbt.dateadd('month', -12, 'operating.report_month') }} as date)
       and matched.facility_energy_kwh > 0
       and matched.it_energy_kwh > 0
    group by operating.center_code, operating.report_month
),

measured as (
    select
        operating.center_code,
        operating.report_month as month,
        operating.rack_utilization,
        case when pue_12m.matched_months >= 6 then {{ safe_divide('pue_12m.facility_kwh', 'pue_12m.it_kwh') }} end
            as pue_12m,
        pue_12m.matched_months,
        year_ago.racks_in_use as racks_in_use_12m_ago,
        operating.racks_in_use - year_ago.racks_in_use as racks_in_use_growth
    from operating
    inner join pue_12m
        on pue_12m.center_code = operating.center_code
       and pue_12m.report_month = operating.report_month
    left join center_months as year_ago
        on year_ago.center_code = operating.center_code
       and year_ago.report_month = cast({{ dbt.dateadd('month', -12, 'operating.report_month') }} as date)
),

ranked as (
    select
        measured.*,
        case when rack_utilization is not null then dense_rank() over (
            partition by month, case when rack_utilization is null then 1 else 0 end
            order by rack_utilization desc) end as utilization_rank,
        case when pue_12m is not null then dense_rank() over (
            partition by month, case when pue_12m is null then 1 else 0 end
            order by pue_12m) end as pue_rank,
        case when racks_in_use_growth is not null then dense_rank() over (
            partition by month, case when racks_in_use_growth is null then 1 else 0 end
            order by racks_in_use_growth desc) end as growth_rank,
        count(*) over (partition by month) as centers_ranked
    from measured
)

select
    cast(center_code as {{ dbt.type_string() }}) as center_code,
    cast({{ surrogate_key(['center_code']) }} as {{ dbt.type_string() }}) as center_key,
    cast(month as date) as month,
    cast(rack_utilization as double) as rack_utilization,
    cast(utilization_rank as bigint) as utilization_rank,
    cast(pue_12m as double) as pue_12m,
    cast(matched_months as bigint) as pue_12m_months,
    cast(pue_rank as bigint) as pue_rank,
    cast(racks_in_use_12m_ago as bigint) as racks_in_use_12m_ago,
    cast(racks_in_use_growth as bigint) as racks_in_use_growth,
    cast(growth_rank as bigint) as growth_rank,
    cast(centers_ranked as bigint) as centers_ranked
from ranked
