-- 一中心一台账: one row per data center with where it stands now (latest report month), its latest PUE, the last 12 billing months of energy and cost, its operator and linked projects.
with centers as (
    select * from {{ ref('dim_center') }}
),

center_months as (
    select * from {{ ref('fct_center_month') }}
),

latest as (
    select center_months.*
    from center_months
    inner join centers
        on centers.center_code = center_months.center_code
       and centers.latest_month = center_months.month
),

latest_pue as (
    select center_code, month as latest_pue_month, pue as latest_pue
    from (
        select
            center_code, month, pue,
            row_number() over (partition by center_code order by month desc) as recency_rank
        from center_months
        where pue is not null
    ) as ranked
    where recency_rank = 1
),

-- the 12 billing months up to latest_month (bills count even for months whose ledger row was refused)
energy_12m as (
    select
        centers.center_code,
        sum(bills.facility_energy_kwh) as energy_kwh_12m,
        sum(bills.electricity_cost_cny) as electricity_cost_cny_12m,
        count(*) as billing_months_12m
    from centers
    inner join {{ ref('int_center_bill_months') }} as bills
        on bills.center_code = centers.center_code
       and bills.billing_month <= centers.latest_month
       and bills.billing_month > cast({{ dbt.dateadd('month', -12, 'centers.latest_month') }} as date)
    group by centers.center_code
),

operators as (
    select uscc, name, status from {{ ref('dim_firm') }} where is_latest_version
),

projects as (
    select
        center_code,
        count(*) as linked_projects,
        {{ dbt.listagg('project_code', "', '", 'order by project_code') }} as linked_project_codes
    from {{ ref('dim_project') }}
    where center_key is not null
    group by center_code
)

select
    cast(centers.center_code as {{ dbt.type_string() }}) as center_code,
    cast(centers.center_key as {{ dbt.type_string() }}) as center_key,
    cast(centers.center_name as {{ dbt.type_string() }}) as center_name,
    cast(centers.park as {{ dbt.type_string() }}) as park,
    cast(centers.latest_month as date) as latest_month,
    cast(latest.status as {{ dbt.type_string() }}) as status,
    cast(centers.operating_model as {{ dbt.type_string() }}) as operating_model,
    cast(latest.racks_designed as bigint) as racks_designed,
    cast(latest.racks_built as bigint) as racks_built,
    cast(latest.racks_in_use as bigint) as racks_in_use,
    cast(latest.rack_utilization as double) as rack_utilization,
    cast(latest.servers as bigint) as servers,
    cast(latest.compute_general_pflops as double) as compute_general_pflops,
    cast(latest.compute_ai_pflops as double) as compute_ai_pflops,
    cast(latest.compute_hpc_pflops as double) as compute_hpc_pflops,
    cast(latest.compute_total_pflops as double) as compute_total_pflops,
    cast(latest_pue.latest_pue as double) as latest_pue,
    cast(latest_pue.latest_pue_month as date) as latest_pue_month,
    cast(energy_12m.energy_kwh_12m as double) as energy_kwh_12m,
    cast(energy_12m.electricity_cost_cny_12m as {{ money_type() }}) as electricity_cost_cny_12m,
    cast(energy_12m.billing_months_12m as bigint) as billing_months_12m,
    cast(latest.investment_planned_cny as {{ money_type() }}) as investment_planned_cny,
    cast(latest.investment_completed_cny as {{ money_type() }}) as investment_completed_cny,
    cast(coalesce(operators.name, centers.operator_name) as {{ dbt.type_string() }}) as operator_name,
    cast(centers.operator_uscc as {{ dbt.type_string() }}) as operator_uscc,
    cast(operators.status as {{ dbt.type_string() }}) as operator_status,
    cast(coalesce(projects.linked_projects, 0) as bigint) as linked_projects,
    cast(projects.linked_project_codes as {{ dbt.type_string() }}) as linked_project_codes
from centers
left join latest on latest.center_code = centers.center_code
left join latest_pue on latest_pue.center_code = centers.center_code
left join energy_12m on energy_12m.center_code = centers.center_code
left join operators on operators.uscc = centers.operator_uscc
left join projects on projects.center_code = centers.center_code
