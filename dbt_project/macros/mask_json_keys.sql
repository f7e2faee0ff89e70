{#-
  Mask personal data inside a JSON object held as text (e.g. the raw values of a refused registry
  row): for each key present with a string value, the value is replaced by mask_name(value).
  Non-JSON or NULL input is returned unchanged. Dialect-specific (JSON functions differ).
-#}
{% macro mask_json_keys(json_column, keys) -%}
    {{ return(adapter.dispatch('mask_json_keys', 'dc_cluster_warehouse')(json_column, keys)) }}
{%- endmacro %}

{% macro duckdb__mask_json_keys(json_column, keys) -%}
    {%- set expr = namespace(sql=json_column) -%}
    {%- for key in keys -%}
        {%- set value = "json_extract_string(" ~ json_column ~ ", '$.\"" ~ key ~ "\"')" -%}
        {%- set piece -%}
        case
            when json_valid({{ json_column }}) and {{ value }} is not null
                then cast(json_merge_patch({{ expr.sql }}, json_object('{{ key }}', {{ mask_name(value) }})) as varchar)
            else {{ expr.sql }}
        end
        {%- endset -%}
        {%- set expr.sql = piece -%}
    {%- endfor -%}
    {{ expr.sql }}
{%- endmacro %}

{% macro postgres__mask_json_keys(json_column, keys) -%}
    {%- set expr = namespace(sql=json_column) -%}
    {%- for key in keys -%}
        {%- set value = "(" ~ json_column ~ "::jsonb ->> '" ~ key ~ "')" -%}
        {%- set piece -%}
        case
            when {{ value }} is not null
                then ({{ expr.sql }}::jsonb || jsonb_build_object('{{ key }}', {{ mask_name(value) }}))::text
            else {{ expr.sql }}
        end
        {%- endset -%}
        {%- set expr.sql = piece -%}
    {%- endfor -%}
    {{ expr.sql }}
{%- endmacro %}

{#- JSON keys (canonical and Chinese aliases) that hold personal names in raw values. -#}
{% macro pii_json_keys() -%}
    {{ return(['legal_rep', '法定代表人']) }}
{%- endmacro %}

{#- Mask, inside a free text (e.g. a message), the values that a JSON object holds under the given keys. -#}
{% macro mask_json_values_in_text(text_column, json_column, keys) -%}
    {{ return(adapter.dispatch('mask_json_values_in_text', 'dc_cluster_warehouse')(text_column, json_column, keys)) }}
{%- endmacro %}

{% macro duckdb__mask_json_values_in_text(text_column, json_column, keys) -%}
    {%- set expr = namespace(sql=text_column) -%}
    {%- for key in keys -%}
        {%- set value = "json_extract_string(" ~ json_column ~ ", '$.\"" ~ key ~ "\"')" -%}
        {%- set piece -%}
        case
            when json_valid({{ json_column }}) and nullif({{ value }}, '') is not null
                then replace({{ expr.sql }}, {{ value }}, {{ mask_name(value) }})
            else {{ expr.sql }}
        end
        {%- endset -%}
        {%- set expr.sql = piece -%}
    {%- endfor -%}
    {{ expr.sql }}
{%- endmacro %}

{% macro postgres__mask_json_values_in_text(text_column, json_column, keys) -%}
    {%- set expr = namespace(sql=text_column) -%}
    {%- for key in keys -%}
        {%- set value = "(" ~ json_column ~ "::jsonb ->> '" ~ key ~ "')" -%}
        {%- set piece -%}
        case
            when nullif({{ value }}, '') is not null then replace({{ expr.sql }}, {{ value }}, {{ mask_name(value) }})
            else {{ expr.sql }}
        end
        {%- endset -%}
        {%- set expr.sql = piece -%}
    {%- endfor -%}
    {{ expr.sql }}
{%- endmacro %}
