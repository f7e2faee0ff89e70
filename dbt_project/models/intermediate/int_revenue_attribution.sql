-- Attribution (spec/marts.md): one row per center per quarter with a named operator. The operator's revenue (and, separately, tax) of the quarter is split over the centers it operated that quarter in proportion to their facility energy from bills, in cents by the largest-remainder method: each center gets the floor of its exact share, and the cents left over go one each to the largest remainders (ties: center_code), so the centers' amounts add up to the operator's figure exactly. A quarter in which the operator's centers used no billed energy attributes nothing (mart_operator_year's unattributed part).
with center_quarters as (
    select
        center_code,
        quarter_start,
        year,
        operator_uscc,
        operating_all_quarter,
        facility_energy_kwh,
        case when facility_energy_kwh > 0 then facility_energy_kwh else 0 end as weight_kwh
    from {{ ref('int_center_quarters') }}
    where operator_uscc is not null
),

operator_quarters as (
    select
        cq.operator_uscc,
        cq.quarter_start,
        sum(cq.weight_kwh) as operator_energy_kwh,
        min(case when cq.operating_all_quarter then 1 else 0 end) = 1 as all_centers_operating
    from center_quarters as cq
    group by cq.operator_uscc, cq.quarter_start
),

shares as (
    select
        cq.*,
        oq.operator_energy_kwh,
        oq.all_centers_operating,
        fq.revenue_cny as operator_revenue_cny,
        fq.tax_cny as operator_tax_cny,
        cast(fq.revenue_cny * 100 as bigint) as revenue_cents,
        cast(fq.tax_cny * 100 as bigint) as tax_cents,
        case when oq.operator_energy_kwh > 0
            then cast(fq.revenue_cny * 100 as double) * cq.weight_kwh / oq.operator_energy_kwh end as revenue_exact_cents,
        case when oq.operator_energy_kwh > 0
            then cast(fq.tax_cny * 100 as double) * cq.weight_kwh / oq.operator_energy_kwh end as tax_exact_cents
    from center_quarters as cq
    inner join operator_quarters as oq
        on oq.operator_uscc = cq.operator_uscc
       and oq.quarter_start = cq.quarter_start
    left join {{ ref('fct_firm_quarter') }} as fq
        on fq.uscc = cq.operator_uscc
       and fq.quarter_start = cq.quarter_start
),

floored as (
    select
        shares.*,
        floor(revenue_exact_cents) as revenue_floor_cents,
        revenue_exact_cents - floor(revenue_exact_cents) as revenue_remainder,
        floor(tax_exact_cents) as tax_floor_cents,
        tax_exact_cents - floor(tax_exact_cents) as tax_remainder
    from shares
),

ranked as (
    select
        floored.*,
        revenue_cents - sum(revenue_floor_cents) over (partition by operator_uscc, quarter_start) as revenue_left_cents,
        row_number() over (partition by operator_uscc, quarter_start
                           order by revenue_remainder desc, center_code) as revenue_remainder_rank,
        tax_cents - sum(tax_floor_cents) over (partition by operator_uscc, quarter_start) as tax_left_cents,
        row_number() over (partition by operator_uscc, quarter_start
                           order by tax_remainder desc, center_code) as tax_remainder_rank
    from floored
)

select
    center_code,
    quarter_start,
    year,
    operator_uscc,
    operating_all_quarter,
    all_centers_operating,
    facility_energy_kwh,
    operator_energy_kwh,
    operator_revenue_cny,
    operator_tax_cny,
    -- whole cents times 0.01: decimal arithmetic, exact
    cast(cast(revenue_floor_cents + case when revenue_remainder_rank <= revenue_left_cents then 1 else 0 end
              as decimal(18, 0)) * 0.01 as {{ money_type() }}) as revenue_attributed_cny,
    cast(cast(tax_floor_cents + case when tax_remainder_rank <= tax_left_cents then 1 else 0 end
              as decimal(18, 0)) * 0.01 as {{ money_type() }}) as tax_attributed_cny
from ranked
