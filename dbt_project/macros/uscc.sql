{#-
  GB 32100-2015 unified social credit code check, in portable SQL: 18 characters of
  0-9A-HJ-NPQRTUWXY and a valid check character (weights 3^(i-1) mod 31, check = 31 - sum mod 31,
  31 -> '0'). The expression is NULL-safe only in the sense that NULL input gives NULL/false.
-#}
{% macro uscc_alphabet() -%}0123456789ABCDEFGHJKLMNPQRTUWXY{%- endmacro %}

{% macro uscc_is_valid(column) -%}
    {%- set alphabet = uscc_alphabet() -%}
    {%- set weights = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28] -%}
    (
        {{ dbt.length(column) }} = 18
        {%- for i in range(18) %}
        and {{ dbt.position("substr(" ~ column ~ ", " ~ (i + 1) ~ ", 1)", "'" ~ alphabet ~ "'") }} > 0
        {%- endfor %}
        and substr({{ column }}, 18, 1) = substr(
            '{{ alphabet }}',
            ((31 - ((
                {%- for w in weights %}
                ({{ dbt.position("substr(" ~ column ~ ", " ~ loop.index ~ ", 1)", "'" ~ alphabet ~ "'") }} - 1) * {{ w }}{{ " +" if not loop.last }}
                {%- endfor %}
            ) % 31)) % 31) + 1,
            1
        )
    )
{%- endmacro %}
