-- 一中心一核算: one row per data center per year with investment (cumulative at the year's latest report month), facility energy and cost from bills, IT energy, PUE, and the operator's revenue, tax and tax per 10,000 kWh.
with center_months as (
    select
        int_center_months.*,
        {{ year_of('report_month') }} as year
    from {{ ref('int_center_months') }}
),

bill_years as (
    select
        center_code,
        {{ year_of('billing_month') }} as year,
        sum(facility_energy_kwh) as energy_kwh,
        sum(electricity_cost_cny) as electricity_cost_cny,
        count(*) as billing_months
    from {{ ref('int_center_bill_months') }}
    group by center_code, {{ year_of('billing_month') }}
),

ledger_years as (
    select
        center_code,
        year,
        sum(it_energy_kwh) as it_energy_kwh,
        count(*) as report_months,
        -- PUE over the months that have both facility and IT energy
        sum(case when facility_energy_kwh > 0 and it_energy_kwh > 0 then facility_energy_kwh end) as pue_facility_kwh,
        sum(case when facility_energy_kwh > 0 and it_energy_kwh > 0 then it_energy_kwh end) as pue_it_kwh
    from center_months
    group by center_code, year
),

year_end_rows as (
    select center_code, year, report_month, investment_completed_cny, operator_uscc
    from (
        select
            center_code, year, report_month, investment_completed_cny, operator_uscc,
            row_number() over (partition by center_code, year order by report_month desc) as recency_rank
        from center_months
    ) as ranked
    where recency_rank = 1
),

center_years as (
    select center_code, year from ledger_years
    union
    select center_code, year from bill_years
),

base as (
    select
        cy.center_code,
        cy.year,
        ye.report_month as latest_report_month,
        ye.investment_completed_cny,
        by_.energy_kwh,
        ly.it_energy_kwh,
        by_.electricity_cost_cny,
        {{ safe_divide('ly.pue_facility_kwh', 'ly.pue_it_kwh') }} as pue,
        coalesce(ly.report_months, 0) as report_months,
        coalesce(by_.billing_months, 0) as billing_months,
        -- the operator at the year's latest report month, else the center's latest known operator
        coalesce(ye.operator_uscc, dc.operator_uscc) as operator_uscc
    from center_years as cy
    left join ledger_years as ly on ly.center_code = cy.center_code and ly.year = cy.year
    left join bill_years as by_ on by_.center_code = cy.center_code and by_.year = cy.year
    left join year_end_rows as ye on ye.center_code = cy.center_code and ye.year = cy.year
    left join {{ ref('dim_center') }} as dc on dc.center_code = cy.center_code
),

operator_years as (
    select
        uscc,
        {{ year_of('quarter_start') }} as year,
        sum(revenue_cny) as operator_revenue_cny,
        sum(tax_cny) as operator_tax_cny,
        count(*) as operator_quarters_reported
    from {{ ref('fct_firm_quarter') }}
    group by uscc, {{ year_of('quarter_start') }}
),

operator_energy as (
    select operator_uscc, year, sum(energy_kwh) as operator_energy_kwh
    from base
    where operator_uscc is not null
    group by operator_uscc, year
)

select
    cast(base.center_code as {{ dbt.type_string() }}) as center_code,
    cast({{ surrogate_key(['base.center_code']) }} as {{ dbt.type_string() }}) as center_key,
    cast(base.year as integer) as year,
    cast(base.latest_report_month as date) as latest_report_month,
    cast(base.investment_completed_cny as {{ money_type() }}) as investment_completed_cny,
    cast(base.energy_kwh as double) as energy_kwh,
    cast(base.it_energy_kwh as double) as it_energy_kwh,
    cast(base.electricity_cost_cny as {{ money_type() }}) as electricity_cost_cny,
    cast(base.pue as double) as pue,
    cast(base.report_months as bigint) as report_months,
    cast(base.billing_months as bigint) as billing_months,
    cast(base.operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(oy.operator_revenue_cny as {{ money_type() }}) as operator_revenue_cny,
    cast(oy.operator_tax_cny as {{ money_type() }}) as operator_tax_cny,
    cast(oy.operator_quarters_reported as bigint) as operator_quarters_reported,
    cast(oe.operator_energy_kwh as double) as operator_energy_kwh,
    cast({{ safe_divide('oy.operator_tax_cny', 'oe.operator_energy_kwh / 10000.0') }} as double) as tax_per_10k_kwh
from base
left join operator_years as oy
    on oy.uscc = base.operator_uscc and oy.year = base.year
left join operator_energy as oe
    on oe.operator_uscc = base.operator_uscc and oe.year = base.year
