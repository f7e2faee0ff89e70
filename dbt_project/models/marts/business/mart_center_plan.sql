-- 一中心一方案: one row per center per plan year, targets beside actuals at the center's latest report month of that year, attainment ratios, racks in use judged against the path from last year's level to the target (baseline_racks_in_use, expected_racks_in_use), on_track and operation_overdue.
with plans as (
    select * from {{ ref('stg_raw__center_plans') }}
),

center_months as (
    select
        int_center_months.*,
        {{ year_of('report_month') }} as year
    from {{ ref('int_center_months') }} as int_center_months
),

-- the center's latest report month in each year, and the row of that month
year_latest as (
    select *
    from (
        select
            center_months.*,
            row_number() over (partition by center_code, year order by report_month desc) as recency_rank
        from center_months
    ) as ranked
    where recency_rank = 1
),

-- the center's latest accepted row before each plan year, and whether the warehouse holds any ledger data before it
ledger_start as (
    select min(report_month) as first_ledger_month from center_months
),

baselines as (
    select center_code, plan_year, racks_in_use as baseline_racks_in_use
    from (
        select
            plans.center_code,
            plans.plan_year,
            cm.racks_in_use,
            row_number() over (partition by plans.center_code, plans.plan_year order by cm.report_month desc)
                as recency_rank
        from plans
        inner join center_months as cm
            on cm.center_code = plans.center_code
           and cm.year < plans.plan_year
    ) as ranked
    where recency_rank = 1
),

plan_actuals as (
    select
        plans.*,
        cur.report_month as as_of_month,
        cur.status,
        cur.racks_in_use as actual_racks_in_use,
        cur.rack_utilization as actual_rack_utilization,
        cur.compute_total_pflops as actual_compute_pflops,
        cur.investment_completed_cny as investment_completed_at_as_of_cny,
        cur.file_sha256 as as_of_file_sha256,
        cur.sheet as as_of_sheet,
        cur.row_number as as_of_row_number,
        prev.file_sha256 as previous_year_file_sha256,
        prev.sheet as previous_year_sheet,
        prev.row_number as previous_year_row_number,
        prev.report_month as previous_year_last_month,
        prev.investment_completed_cny as investment_completed_previous_year_cny,
        case
            when baselines.center_code is not null then baselines.baseline_racks_in_use
            -- no row of this center before the plan year, but the warehouse holds earlier ledger data: a new center
            when ledger_start.first_ledger_month < {{ year_start('plans.plan_year') }} then 0
        end as baseline_racks_in_use
    from plans
    cross join ledger_start
    left join baselines
        on baselines.center_code = plans.center_code and baselines.plan_year = plans.plan_year
    left join year_latest as cur
        on cur.center_code = plans.center_code and cur.year = plans.plan_year
    left join year_latest as prev
        on prev.center_code = plans.center_code and prev.year = plans.plan_year - 1
),

-- PUE year to date: facility kWh over IT kWh for the months up to as_of_month that have both
pue_ytd as (
    select
        pa.center_code,
        pa.plan_year,
        {{ safe_divide('sum(cm.facility_energy_kwh)', 'sum(cm.it_energy_kwh)') }} as actual_pue,
        count(*) as pue_months
    from plan_actuals as pa
    inner join center_months as cm
        on cm.center_code = pa.center_code
       and cm.year = pa.plan_year
       and cm.report_month <= pa.as_of_month
    where cm.facility_energy_kwh > 0 and cm.it_energy_kwh > 0
    group by pa.center_code, pa.plan_year
),

measured as (
    select
        pa.*,
        pue_ytd.actual_pue,
        coalesce(pue_ytd.pue_months, 0) as pue_months,
        pa.investment_completed_at_as_of_cny - pa.investment_completed_previous_year_cny as actual_investment_cny,
        case when pa.as_of_month is not null then {{ month_of('pa.as_of_month') }} / 12.0 end as expected_fraction
    from plan_actuals as pa
    left join pue_ytd
        on pue_ytd.center_code = pa.center_code and pue_ytd.plan_year = pa.plan_year
),

attained as (
    select
        measured.*,
        -- the path from last year's level to the target: where racks in use should be at as_of_month
        case
            when target_racks_in_use is null or baseline_racks_in_use is null or expected_fraction is null then null
            when target_racks_in_use > baseline_racks_in_use
                then baseline_racks_in_use + (target_racks_in_use - baseline_racks_in_use) * expected_fraction
            else target_racks_in_use
        end as expected_racks_in_use,
        {{ safe_divide('actual_racks_in_use', 'target_racks_in_use') }} as attainment_racks,
        {{ safe_divide('actual_rack_utilization', 'target_rack_utilization') }} as attainment_utilization,
        {{ safe_divide('actual_compute_pflops', 'target_compute_pflops') }} as attainment_compute,
        {{ safe_divide('actual_investment_cny', 'target_investment_cny') }} as attainment_investment,
        {{ safe_divide('target_pue', 'actual_pue') }} as attainment_pue
    from measured
),

judged as (
    select
        attained.*,
        case
            -- any comparable judged measure failing -> FALSE
            when actual_racks_in_use < expected_racks_in_use
              or attainment_investment < expected_fraction
              or actual_pue > target_pue then false
            -- at least one of the three comparable, none failing -> TRUE
            when (actual_racks_in_use is not null and expected_racks_in_use is not null)
              or (attainment_investment is not null and expected_fraction is not null)
              or (actual_pue is not null and target_pue is not null) then true
            -- nothing comparable -> NULL
        end as on_track,
        case
            when target_operation_date is null then false
            when as_of_month is null then null
            when target_operation_date > cast({{ dbt.last_day('as_of_month', 'month') }} as date) then false
            when status is null then null
            else status <> '运营'
        end as operation_overdue
    from attained
)

select
    cast(center_code as {{ dbt.type_string() }}) as center_code,
    cast(dc_center_key as {{ dbt.type_string() }}) as center_key,
    cast(plan_year as integer) as year,
    cast(as_of_month as date) as as_of_month,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(target_racks_in_use as bigint) as target_racks_in_use,
    cast(actual_racks_in_use as bigint) as actual_racks_in_use,
    cast(target_rack_utilization as double) as target_rack_utilization,
    cast(actual_rack_utilization as double) as actual_rack_utilization,
    cast(target_pue as double) as target_pue,
    cast(actual_pue as double) as actual_pue,
    cast(pue_months as bigint) as pue_months,
    cast(target_compute_pflops as double) as target_compute_pflops,
    cast(actual_compute_pflops as double) as actual_compute_pflops,
    cast(target_investment_cny as {{ money_type() }}) as target_investment_cny,
    cast(actual_investment_cny as {{ money_type() }}) as actual_investment_cny,
    cast(investment_completed_at_as_of_cny as {{ money_type() }}) as investment_completed_at_as_of_cny,
    cast(previous_year_last_month as date) as previous_year_last_month,
    cast(investment_completed_previous_year_cny as {{ money_type() }}) as investment_completed_previous_year_cny,
    cast(target_operation_date as date) as target_operation_date,
    cast(attainment_racks as double) as attainment_racks,
    cast(attainment_utilization as double) as attainment_utilization,
    cast(attainment_compute as double) as attainment_compute,
    cast(attainment_investment as double) as attainment_investment,
    cast(attainment_pue as double) as attainment_pue,
    cast(expected_fraction as double) as expected_fraction,
    cast(baseline_racks_in_use as bigint) as baseline_racks_in_use,
    cast(expected_racks_in_use as double) as expected_racks_in_use,
    cast(on_track as boolean) as on_track,
    cast(operation_overdue as boolean) as operation_overdue,
    cast(responsible_unit as {{ dbt.type_string() }}) as responsible_unit,
    cast(measures as {{ dbt.type_string() }}) as measures,
    cast(file_sha256 as {{ dbt.type_string() }}) as plan_source_file_sha256,
    cast(sheet as {{ dbt.type_string() }}) as plan_source_sheet,
    cast(row_number as integer) as plan_source_row,
    cast(as_of_file_sha256 as {{ dbt.type_string() }}) as ledger_source_file_sha256,
    cast(as_of_sheet as {{ dbt.type_string() }}) as ledger_source_sheet,
    cast(as_of_row_number as integer) as ledger_source_row,
    cast(previous_year_file_sha256 as {{ dbt.type_string() }}) as previous_year_ledger_source_file_sha256,
    cast(previous_year_sheet as {{ dbt.type_string() }}) as previous_year_ledger_source_sheet,
    cast(previous_year_row_number as integer) as previous_year_ledger_source_row
from judged
left join (
    select center_code as dc_center_code, center_key as dc_center_key from {{ ref('dim_center') }}
) as dc
    on dc.dc_center_code = judged.center_code
