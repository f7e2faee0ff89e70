-- Enterprise economic indicator rows of every loaded file: one row per firm (as named in the file) per quarter per file; deduplicated after name resolution downstream.
with economics as (
    select * from {{ source('raw', 'economics') }}
),

loaded_files as (
    select file_sha256, path, delivery_seq
    from {{ ref('stg_ops__files') }}
    where status = 'loaded' and source_kind = 'economics'
)

select
    cast(economics.quarter_start as date) as quarter_start,
    cast(economics.period_raw as {{ dbt.type_string() }}) as period_raw,
    cast(upper(economics.uscc) as {{ dbt.type_string() }}) as uscc_given,
    cast(economics.firm_name as {{ dbt.type_string() }}) as firm_name,
    {{ money('economics.revenue_cny') }} as revenue_cny,
    {{ money('economics.tax_cny') }} as tax_cny,
    cast(economics.employees as bigint) as employees,
    cast(economics.extras as {{ dbt.type_string() }}) as extras,
    cast(economics.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(loaded_files.path as {{ dbt.type_string() }}) as file_path,
    cast(loaded_files.delivery_seq as bigint) as delivery_seq,
    cast(economics.sheet as {{ dbt.type_string() }}) as sheet,
    cast(economics.row_number as integer) as row_number
from economics
inner join loaded_files
    on loaded_files.file_sha256 = economics.file_sha256
