-- 一中心一核算: one row per data center per year: investment (cumulative and in the year), facility energy and cost from bills, IT energy, PUE over the matched months, and the center's attributed share of its operators' revenue and tax (the operators' own figures are in mart_operator_year).
with center_months as (
    select
        int_center_months.*,
        {{ year_of('report_month') }} as year,
        -- the cumulative investment at the center's previous accepted row (whatever year it is in)
        lag(investment_completed_cny) over (partition by center_code order by report_month) as previous_investment_cny,
        row_number() over (partition by center_code, {{ year_of('report_month') }} order by report_month) as month_rank,
        row_number() over (partition by center_code, {{ year_of('report_month') }} order by report_month desc) as recency_rank
    from {{ ref('int_center_months') }} as int_center_months
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
        count(*) as months_reported,
        sum(it_energy_kwh) as it_energy_kwh,
        -- matched months: facility energy from bills and IT energy from the ledger both known and above zero
        sum(case when facility_energy_kwh > 0 and it_energy_kwh > 0 then facility_energy_kwh end) as energy_kwh_matched,
        sum(case when facility_energy_kwh > 0 and it_energy_kwh > 0 then it_energy_kwh end) as it_energy_kwh_matched,
        max(case when recency_rank = 1 then report_month end) as latest_report_month,
        max(case when recency_rank = 1 then operator_uscc end) as operator_uscc,
        max(case when recency_rank = 1 then investment_completed_cny end) as investment_completed_cny,
        max(case when month_rank = 1 then previous_investment_cny end) as investment_before_year_cny
    from center_months
    group by center_code, year
),

quarter_years as (
    select
        center_code,
        year,
        sum(case when operator_revenue_cny is not null then 1 else 0 end) as revenue_quarters,
        sum(case when operator_tax_cny is not null then 1 else 0 end) as tax_quarters,
        sum(revenue_attributed_cny) as revenue_attributed_cny,
        sum(tax_attributed_cny) as tax_attributed_cny,
        sum(case when operator_tax_cny is not null then facility_energy_kwh end) as energy_kwh_tax_quarters,
        sum(case when operator_tax_cny is not null then operator_tax_cny end) as operator_tax_cny,
        sum(case when operator_tax_cny is not null then operator_energy_kwh end) as operator_energy_kwh_tax_quarters,
        min(case when operator_tax_cny is null or operating_all_quarter then 1 else 0 end) = 1 as operating_in_tax_quarters
    from {{ ref('int_revenue_attribution') }}
    group by center_code, year
),

center_years as (
    select center_code, year from ledger_years
    union
    select center_code, year from bill_years
)

select
    cast(cy.center_code as {{ dbt.type_string() }}) as center_code,
    cast({{ surrogate_key(['cy.center_code']) }} as {{ dbt.type_string() }}) as center_key,
    cast(cy.year as integer) as year,
    cast(ly.latest_report_month as date) as latest_report_month,
    cast(coalesce(ly.months_reported, 0) as bigint) as months_reported,
    cast(coalesce(by_.billing_months, 0) as bigint) as billing_months,
    cast(ly.operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(ly.investment_completed_cny as {{ money_type() }}) as investment_completed_cny,
    cast(ly.investment_completed_cny - ly.investment_before_year_cny as {{ money_type() }}) as investment_in_year_cny,
    cast(by_.energy_kwh as double) as energy_kwh,
    cast(ly.it_energy_kwh as double) as it_energy_kwh,
    cast(by_.electricity_cost_cny as {{ money_type() }}) as electricity_cost_cny,
    cast(ly.energy_kwh_matched as double) as energy_kwh_matched,
    cast(ly.it_energy_kwh_matched as double) as it_energy_kwh_matched,
    cast({{ safe_divide('ly.energy_kwh_matched', 'ly.it_energy_kwh_matched') }} as double) as pue,
    cast(qy.revenue_quarters as bigint) as revenue_quarters,
    cast(qy.tax_quarters as bigint) as tax_quarters,
    cast(qy.revenue_attributed_cny as {{ money_type() }}) as revenue_attributed_cny,
    cast(qy.tax_attributed_cny as {{ money_type() }}) as tax_attributed_cny,
    cast(qy.energy_kwh_tax_quarters as double) as energy_kwh_tax_quarters,
    cast(case when qy.operating_in_tax_quarters
        then {{ safe_divide('qy.operator_tax_cny', 'qy.operator_energy_kwh_tax_quarters / 10000.0') }}
    end as double) as tax_per_10k_kwh
from center_years as cy
left join ledger_years as ly on ly.center_code = cy.center_code and ly.year = cy.year
left join bill_years as by_ on by_.center_code = cy.center_code and by_.year = cy.year
left join quarter_years as qy on qy.center_code = cy.center_code and qy.year = cy.year
