{{ config(alias='file_columns') }}
-- One row per loaded file per column of its source: the header as written in the file (NULL when no header matched the column), the file's rows and the rows with a value in the column; plus one row per header of the file that matched no alias (column_name NULL). What column_went_empty in mart_alerts reads.
with files as (
    select file_sha256, path, source_kind, delivery_seq, period_start
    from {{ ref('stg_ops__files') }}
    where status = 'loaded'
),

source_columns as (
    select source_kind, column_name, max(case when is_required then 1 else 0 end) = 1 as is_required
    from {{ ref('stg_ops__column_aliases') }}
    group by source_kind, column_name
),

counts as (
    {%- set tables = ['dc_ledger', 'projects', 'economics', 'plans', 'registry', 'power_bills'] %}
    {%- for t in tables %}
    select '{{ raw_table_source_kind(t) }}' as source_kind, c.*
    from ({{ file_column_counts(t) }}) as c
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

headers as (
    select
        file_sha256,
        path,
        column_name,
        -- a column found on several sheets: the first header in sheet order
        min(header) as header
    from {{ ref('stg_ops__file_headers') }}
    where column_name is not null
    group by file_sha256, path, column_name
),

matched as (
    select
        files.path,
        files.file_sha256,
        files.source_kind,
        files.delivery_seq,
        files.period_start,
        source_columns.column_name,
        source_columns.is_required,
        headers.header,
        cast(null as {{ dbt.type_string() }}) as resembles_column,
        coalesce(counts.rows, 0) as rows,
        coalesce(counts.non_null_rows, 0) as non_null_rows
    from files
    inner join source_columns
        on source_columns.source_kind = files.source_kind
    left join headers
        on headers.file_sha256 = files.file_sha256
       and headers.path = files.path
       and headers.column_name = source_columns.column_name
    left join counts
        on counts.source_kind = files.source_kind
       and counts.file_sha256 = files.file_sha256
       and counts.column_name = source_columns.column_name
),

-- unmatched headers that look like a renamed optional column (int_header_resemblances)
resemblances as (
    select file_sha256, path, header, resembles_column from {{ ref('int_header_resemblances') }}
),

file_rows as (
    select source_kind, file_sha256, max(rows) as rows from counts group by source_kind, file_sha256
),

unmatched as (
    select distinct
        files.path,
        files.file_sha256,
        files.source_kind,
        files.delivery_seq,
        files.period_start,
        cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as boolean) as is_required,
        h.header,
        resemblances.resembles_column,
        coalesce(file_rows.rows, 0) as rows,
        cast(null as bigint) as non_null_rows
    from files
    inner join {{ ref('stg_ops__file_headers') }} as h
        on h.file_sha256 = files.file_sha256
       and h.path = files.path
    left join resemblances
        on resemblances.file_sha256 = h.file_sha256
       and resemblances.path = h.path
       and resemblances.header = h.header
    left join file_rows
        on file_rows.source_kind = files.source_kind
       and file_rows.file_sha256 = files.file_sha256
    where h.column_name is null
),

combined as (
    select * from matched
    union all
    select * from unmatched
)

select
    cast(path as {{ dbt.type_string() }}) as path,
    cast(file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(delivery_seq as bigint) as delivery_seq,
    cast(period_start as date) as period_start,
    cast(column_name as {{ dbt.type_string() }}) as column_name,
    cast(is_required as boolean) as is_required,
    cast(header as {{ dbt.type_string() }}) as header,
    cast(resembles_column as {{ dbt.type_string() }}) as resembles_column,
    cast(rows as bigint) as rows,
    cast(non_null_rows as bigint) as non_null_rows
from combined
