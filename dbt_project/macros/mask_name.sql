{#- Mask a personal name: keep the first character, one '*' for every further character (张三丰 -> 张**). -#}
{% macro mask_name(column) -%}
    {{ return(adapter.dispatch('mask_name', 'dc_cluster_warehouse')(column)) }}
{%- endmacro %}

{% macro default__mask_name(column) -%}
    case
        when {{ column }} is null then null
        else rpad(substr({{ column }}, 1, 1), cast({{ dbt.length(column) }} as integer), '*')
    end
{%- endmacro %}
