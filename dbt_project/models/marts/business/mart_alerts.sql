-- What needs attention now, in one list: one row per alert open at as_of_month (the latest month of any accepted ledger row), each kind a rule of spec/marts.md over published tables (audit.file_columns included), with since_month, the figure and its threshold, and one readable sentence.
{%- set months_between = "(" ~ dbt.datediff('since_month', 'as_of.as_of_month', 'month') ~ " + 1)" %}
with as_of as (
    select max(month) as as_of_month from {{ ref('fct_center_month') }}
),

centers as (
    select center_code, center_name from {{ ref('dim_center') }}
),

center_months as (
    select center_code, month, status, racks_built, racks_in_use, rack_utilization
    from {{ ref('fct_center_month') }}
),

-- operation_overdue: the plan year's verdict
operation_overdue as (
    select
        'operation_overdue' as alert_kind, 'high' as severity, 'center' as entity_kind,
        plan.center_code as entity_code,
        {{ month_start('plan.target_operation_date') }} as since_month,
        cast(null as double) as metric_value,
        cast(0 as double) as threshold,
        plan.status as status_text,
        cast(plan.target_operation_date as {{ dbt.type_string() }}) as detail_text
    from {{ ref('mart_center_plan') }} as plan
    cross join as_of
    where plan.operation_overdue
      and plan.year = {{ year_of('as_of.as_of_month') }}
),

-- center_not_reporting: the center's latest accepted row is before as_of_month
latest_rows as (
    select center_code, max(month) as latest_month from center_months group by center_code
),

not_reporting as (
    select
        'center_not_reporting' as alert_kind, 'high' as severity, 'center' as entity_kind,
        latest_rows.center_code as entity_code,
        cast({{ dbt.dateadd('month', 1, 'latest_rows.latest_month') }} as date) as since_month,
        cast(null as double) as metric_value,
        cast(0 as double) as threshold,
        cast(null as {{ dbt.type_string() }}) as status_text,
        cast(latest_rows.latest_month as {{ dbt.type_string() }}) as detail_text
    from latest_rows
    cross join as_of
    where latest_rows.latest_month < as_of.as_of_month
),

-- column_went_empty: an unmatched header resembling an optional column that is empty in the file while the
-- previous loaded file of the source had values in it; open until a later file of the source has values again
file_columns as (
    select * from {{ ref('audit_file_columns') }}
),

renamed as (
    select
        f.path, f.source_kind, f.delivery_seq, f.period_start, f.rows, f.header,
        f.resembles_column as column_name
    from file_columns as f
    where f.column_name is null and f.resembles_column is not null
),

emptied as (
    select renamed.*
    from renamed
    inner join file_columns as this_file
        on this_file.path = renamed.path
       and this_file.delivery_seq = renamed.delivery_seq
       and this_file.column_name = renamed.column_name
    where this_file.rows > 0
      and this_file.non_null_rows = 0
      -- the previous loaded file of the same source had a value in the column
      and exists (
          select 1 from file_columns as prev
          where prev.source_kind = renamed.source_kind
            and prev.column_name = renamed.column_name
            and prev.non_null_rows > 0
            and prev.delivery_seq = (
                select max(p.delivery_seq) from file_columns as p
                where p.source_kind = renamed.source_kind and p.delivery_seq < renamed.delivery_seq))
      -- no later loaded file of the source has a value in it again
      and not exists (
          select 1 from file_columns as later
          where later.source_kind = renamed.source_kind
            and later.column_name = renamed.column_name
            and later.delivery_seq > renamed.delivery_seq
            and later.non_null_rows > 0)
),

column_went_empty as (
    select
        'column_went_empty' as alert_kind, 'high' as severity, 'file' as entity_kind,
        path as entity_code,
        period_start as since_month,
        cast(rows as double) as metric_value,
        cast(null as double) as threshold,
        column_name as status_text,
        header as detail_text
    from emptied
),

-- project_stalled: the project's last 12 or more consecutive months (rows in each) all at 签约, or all at 在谈
project_runs as (
    select
        project_code, month, stage,
        {{ dbt.datediff("cast('2000-01-01' as date)", 'month', 'month') }}
            - row_number() over (partition by project_code, stage order by month) as run_key,
        max(month) over (partition by project_code) as last_month
    from {{ ref('fct_project_month') }}
),

-- the run of consecutive months at one stage that holds the project's last month
last_rows as (
    select project_code, stage, run_key from project_runs where month = last_month
),

last_runs as (
    select r.project_code, r.stage, min(r.month) as since_month, count(*) as run_months
    from project_runs as r
    inner join last_rows as l
        on l.project_code = r.project_code
       and l.stage = r.stage
       and l.run_key = r.run_key
    where r.stage in ('签约', '在谈')
    group by r.project_code, r.stage
),

project_stalled as (
    select
        'project_stalled' as alert_kind, 'medium' as severity, 'project' as entity_kind,
        project_code as entity_code,
        since_month,
        cast(run_months as double) as metric_value,
        cast(12 as double) as threshold,
        stage as status_text,
        cast(null as {{ dbt.type_string() }}) as detail_text
    from last_runs
    where run_months >= 12
),

-- center_idle: 运营 in each of the 13 months up to as_of_month, no growth of racks in use over 12 months, utilisation below 0.6
idle as (
    select
        now_.center_code,
        now_.rack_utilization,
        now_.racks_in_use,
        year_ago.racks_in_use as racks_in_use_12m_ago
    from center_months as now_
    cross join as_of
    inner join center_months as year_ago
        on year_ago.center_code = now_.center_code
       and year_ago.month = cast({{ dbt.dateadd('month', -12, 'as_of.as_of_month') }} as date)
    where now_.month = as_of.as_of_month
      and now_.racks_in_use <= year_ago.racks_in_use
      and now_.rack_utilization < 0.6
      and (select count(*) from center_months as m
           where m.center_code = now_.center_code and m.status = '运营'
             and m.month <= as_of.as_of_month
             and m.month >= cast({{ dbt.dateadd('month', -12, 'as_of.as_of_month') }} as date)) = 13
),

center_idle as (
    select
        'center_idle' as alert_kind, 'medium' as severity, 'center' as entity_kind,
        idle.center_code as entity_code,
        cast({{ dbt.dateadd('month', -12, 'as_of.as_of_month') }} as date) as since_month,
        cast(idle.rack_utilization as double) as metric_value,
        cast(0.6 as double) as threshold,
        cast(null as {{ dbt.type_string() }}) as status_text,
        cast(idle.racks_in_use as {{ dbt.type_string() }}) as detail_text
    from idle
    cross join as_of
),

-- project_center_conflict: project stage against its linked center's status in the months both report
both_report as (
    select
        p.project_code, p.month, p.stage, c.center_code, c.status,
        case
            when p.stage = '投产' and coalesce(c.status, '') <> '运营' then 'production'
            when p.stage in ('在谈', '签约') and c.status in ('在建', '运营') then 'early'
        end as conflict
    from {{ ref('fct_project_month') }} as p
    inner join {{ ref('dim_project') }} as dp
        on dp.project_code = p.project_code
    inner join {{ ref('dim_center') }} as dc
        on dc.center_key = dp.center_key
    inner join center_months as c
        on c.center_code = dc.center_code
       and c.month = p.month
),

conflict_runs as (
    select
        both_report.*,
        max(month) over (partition by project_code) as last_common_month,
        row_number() over (partition by project_code order by month)
            - row_number() over (partition by project_code, conflict order by month) as run_key
    from both_report
),

conflicts as (
    select
        latest.project_code, latest.center_code, latest.stage, latest.status, latest.conflict,
        min(run.month) as since_month,
        count(*) as run_months
    from conflict_runs as latest
    inner join conflict_runs as run
        on run.project_code = latest.project_code
       and run.conflict = latest.conflict
       and run.run_key = latest.run_key
    where latest.month = latest.last_common_month
      and latest.conflict is not null
    group by latest.project_code, latest.center_code, latest.stage, latest.status, latest.conflict
),

project_center_conflict as (
    select
        'project_center_conflict' as alert_kind, 'medium' as severity, 'project' as entity_kind,
        project_code as entity_code,
        since_month,
        cast(null as double) as metric_value,
        cast(null as double) as threshold,
        stage as status_text,
        {{ dbt.concat(['center_code', "' '", "coalesce(status, '?')"]) }} as detail_text
    from conflicts
    where conflict = 'production' or run_months >= 6
),

-- over_capacity: racks in use above racks built at the center's latest accepted row
over_capacity as (
    select
        'over_capacity' as alert_kind, 'medium' as severity, 'center' as entity_kind,
        c.center_code as entity_code,
        c.month as since_month,
        cast(c.rack_utilization as double) as metric_value,
        cast(1 as double) as threshold,
        cast(c.racks_in_use as {{ dbt.type_string() }}) as status_text,
        cast(c.racks_built as {{ dbt.type_string() }}) as detail_text
    from center_months as c
    inner join latest_rows
        on latest_rows.center_code = c.center_code
       and latest_rows.latest_month = c.month
    where c.racks_in_use > c.racks_built
),

-- unclaimed_account: current bills in the 12 months up to as_of_month of an account no center claims
unclaimed as (
    select b.account_no, min(b.month) as since_month, sum(b.kwh_total) as kwh, max(b.account_name) as account_name
    from {{ ref('fct_power_bill') }} as b
    cross join as_of
    where b.center_key is null
      and b.month <= as_of.as_of_month
      and b.month > cast({{ dbt.dateadd('month', -12, 'as_of.as_of_month') }} as date)
    group by b.account_no
),

unclaimed_account as (
    select
        'unclaimed_account' as alert_kind, 'medium' as severity, 'account' as entity_kind,
        account_no as entity_code,
        since_month,
        cast(kwh as double) as metric_value,
        cast(null as double) as threshold,
        account_name as status_text,
        cast(null as {{ dbt.type_string() }}) as detail_text
    from unclaimed
),

-- pue_above_target: the plan year's PUE to date above the target
pue_above_target as (
    select
        'pue_above_target' as alert_kind, 'low' as severity, 'center' as entity_kind,
        plan.center_code as entity_code,
        {{ year_start('plan.year') }} as since_month,
        cast(plan.actual_pue as double) as metric_value,
        cast(plan.target_pue as double) as threshold,
        cast(null as {{ dbt.type_string() }}) as status_text,
        cast(null as {{ dbt.type_string() }}) as detail_text
    from {{ ref('mart_center_plan') }} as plan
    cross join as_of
    where plan.year = {{ year_of('as_of.as_of_month') }}
      and plan.actual_pue > plan.target_pue
),

alerts as (
    select * from operation_overdue
    union all select * from not_reporting
    union all select * from column_went_empty
    union all select * from project_stalled
    union all select * from center_idle
    union all select * from project_center_conflict
    union all select * from over_capacity
    union all select * from unclaimed_account
    union all select * from pue_above_target
),

named as (
    select
        alerts.*,
        as_of.as_of_month,
        case alerts.entity_kind
            when 'center' then centers.center_name
            when 'project' then projects.project_name
            when 'account' then alerts.status_text
            else null
        end as entity_name,
        case when alerts.alert_kind in ('operation_overdue', 'center_not_reporting')
            then cast({{ months_between }} as double) end as months_since
    from alerts
    cross join as_of
    left join centers
        on alerts.entity_kind = 'center' and centers.center_code = alerts.entity_code
    left join {{ ref('dim_project') }} as projects
        on alerts.entity_kind = 'project' and projects.project_code = alerts.entity_code
)

select
    cast(alert_kind as {{ dbt.type_string() }}) as alert_kind,
    cast(severity as {{ dbt.type_string() }}) as severity,
    cast(entity_kind as {{ dbt.type_string() }}) as entity_kind,
    cast(entity_code as {{ dbt.type_string() }}) as entity_code,
    cast(entity_name as {{ dbt.type_string() }}) as entity_name,
    cast(since_month as date) as since_month,
    cast(as_of_month as date) as as_of_month,
    cast(coalesce(months_since, metric_value) as double) as metric_value,
    cast(threshold as double) as threshold,
    cast(case alert_kind
        when 'operation_overdue' then {{ dbt.concat(["'Planned to operate by '", 'detail_text', "', the center is still '", "coalesce(status_text, '?')", "' at '", "cast(as_of_month as " ~ dbt.type_string() ~ ")", "' ('", "cast(cast(months_since as integer) as " ~ dbt.type_string() ~ ")", "' months overdue).'"]) }}
        when 'center_not_reporting' then {{ dbt.concat(["'No accepted ledger row since '", 'detail_text', "' ('", "cast(cast(months_since as integer) as " ~ dbt.type_string() ~ ")", "' months silent up to '", "cast(as_of_month as " ~ dbt.type_string() ~ ")", "').'"]) }}
        when 'column_went_empty' then {{ dbt.concat(["'Header '", 'detail_text', "' matches no alias and column '", 'status_text', "' is empty in all '", "cast(cast(metric_value as bigint) as " ~ dbt.type_string() ~ ")", "' rows, while the previous file of the source had values: a renamed header?'"]) }}
        when 'project_stalled' then {{ dbt.concat(["'At stage '", 'status_text', "' for '", "cast(cast(metric_value as integer) as " ~ dbt.type_string() ~ ")", "' consecutive months since '", "cast(since_month as " ~ dbt.type_string() ~ ")", "'.'"]) }}
        when 'center_idle' then {{ dbt.concat(["'Operating for 13 months with no growth of racks in use ('", 'detail_text', "' now) and rack utilization '", "cast(round(metric_value, 2) as " ~ dbt.type_string() ~ ")", "' below 0.6.'"]) }}
        when 'project_center_conflict' then {{ dbt.concat(["'Project at '", 'status_text', "' while its center '", 'detail_text', "' since '", "cast(since_month as " ~ dbt.type_string() ~ ")", "'.'"]) }}
        when 'over_capacity' then {{ dbt.concat(["'Racks in use '", 'status_text', "' above racks built '", 'detail_text', "' at '", "cast(since_month as " ~ dbt.type_string() ~ ")", "'.'"]) }}
        when 'unclaimed_account' then {{ dbt.concat(["'No center claims the account; '", "cast(round(metric_value, 0) as " ~ dbt.type_string() ~ ")", "' kWh billed since '", "cast(since_month as " ~ dbt.type_string() ~ ")", "'.'"]) }}
        when 'pue_above_target' then {{ dbt.concat(["'PUE '", "cast(round(metric_value, 3) as " ~ dbt.type_string() ~ ")", "' this year exceeds the target '", "cast(round(threshold, 3) as " ~ dbt.type_string() ~ ")", "'.'"]) }}
    end as {{ dbt.type_string() }}) as detail
from named
