-- One row per row refused by ingestion (source file, sheet, row number, raw values, reason).
select
    cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(path as {{ dbt.type_string() }}) as path,
    cast(sheet as {{ dbt.type_string() }}) as sheet,
    cast(row_number as integer) as row_number,
    cast(raw_values as {{ dbt.type_string() }}) as raw_values,
    cast(reason_code as {{ dbt.type_string() }}) as reason_code,
    cast(message as {{ dbt.type_string() }}) as message
from {{ source('ops', 'rejected_rows') }}
