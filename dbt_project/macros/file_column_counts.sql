{#- Per loaded file of a raw table: its rows and, per raw column, the rows with a value, one row per
    file per column (column_name, rows, non_null_rows). The lineage columns (file_sha256, sheet,
    row_number, extras) are no columns of the source. -#}
{% macro file_column_counts(raw_table) -%}
    {%- set relation = source('raw', raw_table) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for c in adapter.get_columns_in_relation(relation) -%}
            {%- if c.name not in ['file_sha256', 'sheet', 'row_number', 'extras'] -%}
                {%- do columns.append(c.name) -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if columns -%}
    select
        counts.file_sha256,
        names.column_name,
        counts.rows,
        case names.column_name
            {%- for c in columns %}
            when '{{ c }}' then counts.{{ adapter.quote('nn_' ~ c) }}
            {%- endfor %}
        end as non_null_rows
    from (
        select
            file_sha256,
            count(*) as rows
            {%- for c in columns %},
            count({{ adapter.quote(c) }}) as {{ adapter.quote('nn_' ~ c) }}
            {%- endfor %}
        from {{ relation }}
        group by file_sha256
    ) as counts
    cross join (
        {%- for c in columns %}
        select '{{ c }}' as column_name{% if not loop.last %} union all{% endif %}
        {%- endfor %}
    ) as names
    {%- else -%}
    select
        cast(null as {{ dbt.type_string() }}) as file_sha256, cast(null as {{ dbt.type_string() }}) as column_name,
        cast(null as bigint) as rows, cast(null as bigint) as non_null_rows
    where 1 = 0
    {%- endif -%}
{%- endmacro %}
