{#-
  Split a delimited list column into one row per item, portably: cross join a number series
  (dbt.generate_series) and take dbt.split_part(list, sep, n) for n up to the item count.
  relation: a CTE or relation name; key_columns: columns carried to every item row.
  Other separators (other_separators) are first replaced by the main one. Empty items are dropped.
  Returns a SELECT with key_columns, item_position and item.
-#}
{% macro split_list(relation, key_columns, list_column, separator=',', other_separators=[], max_items=none) -%}
    {%- set max_items = max_items or var('dcw_max_list_items', 64) -%}
    {%- set list_expr = namespace(sql=list_column) -%}
    {%- for other in other_separators -%}
        {%- set list_expr.sql = "replace(" ~ list_expr.sql ~ ", '" ~ other ~ "', '" ~ separator ~ "')" -%}
    {%- endfor -%}
    select
        {%- for c in key_columns %}
        lists.{{ c }},
        {%- endfor %}
        numbers.generated_number as item_position,
        trim({{ dbt.split_part('lists.list_value', "'" ~ separator ~ "'", 'numbers.generated_number') }}) as item
    from (
        select
            {%- for c in key_columns %}
            {{ c }},
            {%- endfor %}
            {{ list_expr.sql }} as list_value,
            {{ dbt.length(list_expr.sql) }} - {{ dbt.length(dbt.replace(list_expr.sql, "'" ~ separator ~ "'", "''")) }} + 1 as item_count
        from {{ relation }}
        where {{ list_column }} is not null
    ) as lists
    inner join ({{ dbt.generate_series(max_items) }}) as numbers
        on numbers.generated_number <= lists.item_count
    where trim({{ dbt.split_part('lists.list_value', "'" ~ separator ~ "'", 'numbers.generated_number') }}) <> ''
{%- endmacro %}
