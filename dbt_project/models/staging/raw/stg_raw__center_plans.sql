-- Current center plans (一中心一方案): one row per center per plan year, from the latest loaded plan file for that year.
with plans as (
    select * from {{ source('raw', 'plans') }}
),

current_files as (
    -- file-level supersession: only the latest loaded file (delivery order) of each period is current
    select file_sha256, period_start, path, delivery_seq
    from ({{ period_files('plans', source('raw', 'plans'), year_start('year')) }}) as period_files
    where is_current
)

select
    cast(plans.center_code as {{ dbt.type_string() }}) as center_code,
    cast(plans.year as integer) as plan_year,
    cast(plans.target_racks_in_use as bigint) as target_racks_in_use,
    cast(plans.target_rack_utilization as double) as target_rack_utilization,
    cast(plans.target_pue as double) as target_pue,
    cast(plans.target_compute_pflops as double) as target_compute_pflops,
    {{ money('plans.target_investment_cny') }} as target_investment_cny,
    cast(plans.target_operation_date as date) as target_operation_date,
    cast(plans.responsible_unit as {{ dbt.type_string() }}) as responsible_unit,
    cast(plans.measures as {{ dbt.type_string() }}) as measures,
    cast(plans.extras as {{ dbt.type_string() }}) as extras,
    cast(plans.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(current_files.path as {{ dbt.type_string() }}) as file_path,
    cast(current_files.delivery_seq as bigint) as delivery_seq,
    cast(plans.sheet as {{ dbt.type_string() }}) as sheet,
    cast(plans.row_number as integer) as row_number
from plans
inner join current_files
    on current_files.file_sha256 = plans.file_sha256
   and current_files.period_start = {{ year_start('plans.year') }}
