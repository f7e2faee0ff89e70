{#- A JSON object text from (key, SQL expression) pairs; NULL values are kept as null. -#}
{% macro json_object_of(pairs) -%}
    {{ return(adapter.dispatch('json_object_of', 'dc_cluster_warehouse')(pairs)) }}
{%- endmacro %}

{% macro default__json_object_of(pairs) -%}
    cast(json_object({% for key, expr in pairs %}'{{ key }}', {{ expr }}{% if not loop.last %}, {% endif %}{% endfor %}) as {{ dbt.type_string() }})
{%- endmacro %}

{% macro postgres__json_object_of(pairs) -%}
    cast(json_build_object({% for key, expr in pairs %}'{{ key }}', {{ expr }}{% if not loop.last %}, {% endif %}{% endfor %}) as {{ dbt.type_string() }})
{%- endmacro %}
