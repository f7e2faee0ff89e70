{{ config(alias='lineage_files') }}
-- For each published table: the source files it is built from (current loaded files of every raw source kind upstream of it); row-level lineage is in the published rows' lineage columns (<source>_source_file_sha256 / _sheet / _row).
with lineage_sources as (
    select distinct table_schema, table_name, source_kind
    from {{ ref('audit_lineage') }}
    where source_kind is not null
)

select
    cast(l.table_schema as {{ dbt.type_string() }}) as table_schema,
    cast(l.table_name as {{ dbt.type_string() }}) as table_name,
    cast(l.source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(f.path as {{ dbt.type_string() }}) as path,
    cast(f.sha256 as {{ dbt.type_string() }}) as sha256,
    cast(f.period as {{ dbt.type_string() }}) as period,
    cast(f.delivery_seq as bigint) as delivery_seq,
    cast(f.received_at as timestamp) as received_at
from lineage_sources as l
inner join {{ ref('audit_file_manifest') }} as f
    on f.source_kind = l.source_kind
   and f.status = 'loaded'
