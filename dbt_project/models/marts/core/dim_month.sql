-- Calendar of months (first day of month) from the earliest to the latest month of any data (ledger, projects, bills, economics quarters, registry snapshots).
with data_months as (
    select report_month as month from {{ ref('stg_raw__center_months') }}
    union
    select report_month from {{ ref('stg_raw__project_months') }}
    union
    select billing_month from {{ ref('stg_raw__power_bills') }} where is_current
    union
    select quarter_start from {{ ref('int_firm_quarters') }} where is_current
    union
    select cast({{ dbt.dateadd('month', 2, 'quarter_start') }} as date) from {{ ref('int_firm_quarters') }} where is_current
    union
    select {{ month_start('snapshot_date') }} from {{ ref('stg_raw__firm_snapshots') }}
),

bounds as (
    select min(month) as first_month, max(month) as last_month from data_months
),

months as (
    select cast({{ dbt.dateadd('month', 'numbers.generated_number - 1', 'bounds.first_month') }} as date) as month
    from bounds
    cross join ({{ dbt.generate_series(1200) }}) as numbers
    where {{ dbt.datediff('bounds.first_month', 'bounds.last_month', 'month') }} >= numbers.generated_number - 1
)

select
    cast(month as date) as month,
    {{ year_of('month') }} as year,
    {{ date_part_int('quarter', 'month') }} as quarter,
    {{ month_of('month') }} as month_of_year,
    cast({{ dbt.date_trunc('quarter', 'month') }} as date) as quarter_start,
    cast({{ dbt.last_day('month', 'month') }} as date) as month_end,
    cast(substr(cast(month as {{ dbt.type_string() }}), 1, 7) as {{ dbt.type_string() }}) as year_month
from months
