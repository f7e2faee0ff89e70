-- One row per parse warning: a value set to NULL on a loaded row, or a file-level remark.
select
    cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(path as {{ dbt.type_string() }}) as path,
    cast(sheet as {{ dbt.type_string() }}) as sheet,
    cast(row_number as integer) as row_number,
    cast(column_name as {{ dbt.type_string() }}) as column_name,
    cast(raw_value as {{ dbt.type_string() }}) as raw_value,
    cast(warning_code as {{ dbt.type_string() }}) as warning_code,
    cast(message as {{ dbt.type_string() }}) as message
from {{ source('ops', 'parse_warnings') }}
