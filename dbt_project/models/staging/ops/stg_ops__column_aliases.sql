-- One row per alias of a raw column in a source's column map (ingestion/column_maps), with whether the column is required.
select
    cast(source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(column_name as {{ dbt.type_string() }}) as column_name,
    cast(alias as {{ dbt.type_string() }}) as alias,
    cast(required as boolean) as is_required
from {{ source('ops', 'column_aliases') }}
