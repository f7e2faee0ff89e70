-- The operators behind the centers: one row per operator firm (a uscc named as operator in at least one accepted ledger row) per year with data (reported quarters or centers operated): its revenue and tax, the part attribution could not split over its centers, and its tax per 10,000 kWh of its centers' energy in the quarters that report tax.
with operators as (
    select distinct operator_uscc from {{ ref('int_center_months') }} where operator_uscc is not null
),

firm_quarters as (
    select
        fq.uscc as operator_uscc,
        fq.quarter_start,
        {{ year_of('fq.quarter_start') }} as year,
        fq.revenue_cny,
        fq.tax_cny,
        fq.employees,
        row_number() over (partition by fq.uscc, {{ year_of('fq.quarter_start') }} order by fq.quarter_start desc)
            as recency_rank
    from {{ ref('fct_firm_quarter') }} as fq
    inner join operators on operators.operator_uscc = fq.uscc
),

-- the operator's centers per quarter (int_revenue_attribution: one row per center-quarter it operated)
operated_quarters as (
    select
        operator_uscc,
        quarter_start,
        max(operator_energy_kwh) as operator_energy_kwh,
        sum(facility_energy_kwh) as energy_kwh,
        min(case when operating_all_quarter then 1 else 0 end) = 1 as all_centers_operating
    from {{ ref('int_revenue_attribution') }}
    group by operator_uscc, quarter_start
),

quarters as (
    select
        coalesce(fq.operator_uscc, oq.operator_uscc) as operator_uscc,
        coalesce(fq.quarter_start, oq.quarter_start) as quarter_start,
        fq.revenue_cny,
        fq.tax_cny,
        fq.employees,
        fq.recency_rank,
        oq.energy_kwh,
        oq.operator_energy_kwh,
        oq.all_centers_operating,
        -- a quarter whose centers used no billed energy (or in which the firm operated none) cannot be split
        coalesce(oq.operator_energy_kwh, 0) <= 0 as unattributable
    from firm_quarters as fq
    full outer join operated_quarters as oq
        on oq.operator_uscc = fq.operator_uscc
       and oq.quarter_start = fq.quarter_start
),

centers_in_year as (
    select operator_uscc, year, count(distinct center_code) as centers
    from {{ ref('int_revenue_attribution') }}
    group by operator_uscc, year
),

years as (
    select
        operator_uscc,
        {{ year_of('quarter_start') }} as year,
        sum(energy_kwh) as energy_kwh,
        sum(revenue_cny) as revenue_cny,
        sum(tax_cny) as tax_cny,
        sum(case when revenue_cny is not null then 1 else 0 end) as revenue_quarters,
        sum(case when tax_cny is not null then 1 else 0 end) as tax_quarters,
        sum(case when not unattributable then revenue_cny end) as revenue_attributed_cny,
        sum(case when not unattributable then tax_cny end) as tax_attributed_cny,
        sum(case when unattributable then revenue_cny end) as revenue_unattributed_cny,
        sum(case when unattributable then tax_cny end) as tax_unattributed_cny,
        max(case when recency_rank = 1 then employees end) as employees,
        sum(case when tax_cny is not null then energy_kwh end) as energy_kwh_tax_quarters,
        min(case when tax_cny is not null and not coalesce(all_centers_operating, true)
                 then 0 else 1 end) = 1 as operating_in_tax_quarters
    from quarters
    group by operator_uscc, {{ year_of('quarter_start') }}
),

names as (
    select uscc, name from {{ ref('int_firm_versions') }} where is_latest_version
),

ledger_names as (
    select operator_uscc, operator_name
    from (
        select
            operator_uscc, operator_name,
            row_number() over (partition by operator_uscc order by report_month desc, center_code) as recency_rank
        from {{ ref('int_center_months') }}
        where operator_uscc is not null
    ) as ranked
    where recency_rank = 1
)

select
    cast(years.operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(coalesce(names.name, ledger_names.operator_name) as {{ dbt.type_string() }}) as operator_name,
    cast(years.year as integer) as year,
    cast(coalesce(centers_in_year.centers, 0) as bigint) as centers,
    cast(years.energy_kwh as double) as energy_kwh,
    cast(years.revenue_cny as {{ money_type() }}) as revenue_cny,
    cast(years.tax_cny as {{ money_type() }}) as tax_cny,
    cast(years.revenue_quarters as bigint) as revenue_quarters,
    cast(years.tax_quarters as bigint) as tax_quarters,
    cast(coalesce(years.revenue_attributed_cny, case when years.revenue_cny is not null then 0 end)
         as {{ money_type() }}) as revenue_attributed_cny,
    cast(coalesce(years.tax_attributed_cny, case when years.tax_cny is not null then 0 end)
         as {{ money_type() }}) as tax_attributed_cny,
    cast(coalesce(years.revenue_unattributed_cny, case when years.revenue_cny is not null then 0 end)
         as {{ money_type() }}) as revenue_unattributed_cny,
    cast(coalesce(years.tax_unattributed_cny, case when years.tax_cny is not null then 0 end)
         as {{ money_type() }}) as tax_unattributed_cny,
    cast(years.employees as bigint) as employees,
    cast(years.energy_kwh_tax_quarters as double) as energy_kwh_tax_quarters,
    cast(case when years.operating_in_tax_quarters
        then {{ safe_divide('years.tax_cny', 'years.energy_kwh_tax_quarters / 10000.0') }}
    end as double) as tax_per_10k_kwh
from years
left join centers_in_year
    on centers_in_year.operator_uscc = years.operator_uscc
   and centers_in_year.year = years.year
left join names on names.uscc = years.operator_uscc
left join ledger_names on ledger_names.operator_uscc = years.operator_uscc
