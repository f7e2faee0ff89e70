-- Current project ledger rows: one row per project per report month, from the latest loaded file for that month.
with projects as (
    select * from {{ source('raw', 'projects') }}
),

current_files as (
    -- file-level supersession: only the latest loaded file (delivery order) of each period is current
    select file_sha256, period_start, path, delivery_seq
    from ({{ period_files('projects', source('raw', 'projects'), month_start('report_month')) }}) as period_files
    where is_current
)

select
    cast(projects.project_code as {{ dbt.type_string() }}) as project_code,
    {{ month_start('projects.report_month') }} as report_month,
    cast(projects.project_name as {{ dbt.type_string() }}) as project_name,
    cast(projects.investor_name as {{ dbt.type_string() }}) as investor_name,
    cast(upper(projects.investor_uscc) as {{ dbt.type_string() }}) as investor_uscc_given,
    cast(projects.industry as {{ dbt.type_string() }}) as industry,
    cast(projects.promotion_subject as {{ dbt.type_string() }}) as promotion_subject,
    cast(projects.promotion_method as {{ dbt.type_string() }}) as promotion_method,
    cast(projects.stage as {{ dbt.type_string() }}) as stage,
    cast(projects.signed_date as date) as signed_date,
    cast(projects.start_date as date) as start_date,
    cast(projects.production_date as date) as production_date,
    {{ money('projects.investment_planned_cny') }} as investment_planned_cny,
    {{ money('projects.investment_completed_ytd_cny') }} as investment_completed_ytd_cny,
    cast(projects.park as {{ dbt.type_string() }}) as park,
    cast(projects.responsible_unit as {{ dbt.type_string() }}) as responsible_unit,
    cast(projects.center_code as {{ dbt.type_string() }}) as center_code,
    cast(projects.extras as {{ dbt.type_string() }}) as extras,
    cast(projects.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(current_files.path as {{ dbt.type_string() }}) as file_path,
    cast(current_files.delivery_seq as bigint) as delivery_seq,
    cast(projects.sheet as {{ dbt.type_string() }}) as sheet,
    cast(projects.row_number as integer) as row_number
from projects
inner join current_files
    on current_files.file_sha256 = projects.file_sha256
   and current_files.period_start = {{ month_start('projects.report_month') }}
