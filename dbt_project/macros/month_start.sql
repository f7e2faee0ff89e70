{#- First day of the month of a date/timestamp expression, as DATE. -#}
{% macro month_start(expression) -%}
    cast({{ dbt.date_trunc('month', expression) }} as date)
{%- endmacro %}

{#- First day of a year given as an integer expression, as DATE. -#}
{% macro year_start(year_expression) -%}
    cast({{ dbt.concat(["cast(" ~ year_expression ~ " as " ~ dbt.type_string() ~ ")", "'-01-01'"]) }} as date)
{%- endmacro %}

{#- A date part as INTEGER (ANSI extract: year, quarter, month, day). -#}
{% macro date_part_int(datepart, expression) -%}
    cast(extract({{ datepart }} from {{ expression }}) as integer)
{%- endmacro %}

{#- Integer year / month number of a date expression. -#}
{% macro year_of(expression) -%}
    {{ date_part_int('year', expression) }}
{%- endmacro %}

{% macro month_of(expression) -%}
    {{ date_part_int('month', expression) }}
{%- endmacro %}

{#- Safe division: NULL when the denominator is NULL or zero. -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
