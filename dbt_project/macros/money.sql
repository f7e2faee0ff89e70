{#- Money: CNY as DECIMAL(18,2), rounded to the cent. Staging casts every amount once, so every sum
    downstream is an exact decimal sum (no drift with the order rows are added in); an amount beyond
    DECIMAL(18,2) (about 10^16 yuan, no real figure) becomes NULL rather than failing the build. -#}
{% macro money_type() -%}
    decimal(18,2)
{%- endmacro %}

{% macro money(expression) -%}
    {{ dbt.safe_cast(expression, money_type()) }}
{%- endmacro %}
