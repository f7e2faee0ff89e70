-- 招什么、怎么招、招得怎么样: one row per report month x industry x promotion subject x promotion method with at least one project, counting each project once at its stage that month.
with project_months as (
    select
        month,
        coalesce(industry, '{{ var("dcw_unknown_label") }}') as industry,
        coalesce(promotion_subject, '{{ var("dcw_unknown_label") }}') as promotion_subject,
        coalesce(promotion_method, '{{ var("dcw_unknown_label") }}') as promotion_method,
        project_code,
        stage,
        investment_planned_cny,
        investment_completed_ytd_cny
    from {{ ref('fct_project_month') }}
)

select
    cast(month as date) as month,
    cast(industry as {{ dbt.type_string() }}) as industry,
    cast(promotion_subject as {{ dbt.type_string() }}) as promotion_subject,
    cast(promotion_method as {{ dbt.type_string() }}) as promotion_method,
    cast(count(distinct project_code) as bigint) as projects_total,
    cast(count(distinct case when stage = '在谈' then project_code end) as bigint) as projects_in_talks,
    cast(count(distinct case when stage = '签约' then project_code end) as bigint) as projects_signed,
    cast(count(distinct case when stage = '开工' then project_code end) as bigint) as projects_started,
    cast(count(distinct case when stage = '投产' then project_code end) as bigint) as projects_in_production,
    cast(sum(investment_planned_cny) as {{ money_type() }}) as investment_planned_cny,
    cast(sum(investment_completed_ytd_cny) as {{ money_type() }}) as investment_completed_ytd_cny
from project_months
group by month, industry, promotion_subject, promotion_method
