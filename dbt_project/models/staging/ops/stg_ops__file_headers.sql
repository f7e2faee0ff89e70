-- One row per header cell of a loaded file and raw column it fills (column_name NULL when it matched no alias of the source's column map).
select
    cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(path as {{ dbt.type_string() }}) as path,
    cast(sheet as {{ dbt.type_string() }}) as sheet,
    cast(header as {{ dbt.type_string() }}) as header,
    cast(column_name as {{ dbt.type_string() }}) as column_name
from {{ source('ops', 'file_headers') }}
