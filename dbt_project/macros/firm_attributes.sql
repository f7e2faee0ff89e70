{#- The normalised text attributes of a registry row (alias a) whose change makes a new firm version,
    NULL read as '': name, legal representative, address, capital currency, status, industry code.
    Status and industry code are short and already trimmed by ingestion, so they get a cheap clean-up only. -#}
{%- macro firm_attribute_values(a) -%}
    {%- do return([
        normalize_text_key("coalesce(" ~ a ~ ".name, '')"),
        normalize_text_key("coalesce(" ~ a ~ ".legal_rep, '')"),
        normalize_text_key("coalesce(" ~ a ~ ".address, '')"),
        normalize_text_key("coalesce(upper(" ~ a ~ ".registered_capital_currency), '')"),
        "coalesce(" ~ canonical_firm_status("replace(" ~ a ~ ".status, ' ', '')") ~ ", '')",
        "coalesce(" ~ strip_industry_section("upper(replace(" ~ a ~ ".industry_code, ' ', ''))") ~ ", '')",
    ]) -%}
{%- endmacro %}

{#- The normalised attributes of a registry row as one '|'-separated text, capital amount (rounded to
    cents) last: its md5 is the published attributes_hash. -#}
{%- macro attributes_text(a) -%}
    {%- set parts = [] -%}
    {%- for value in firm_attribute_values(a) -%}
        {%- do parts.extend([value, "'|'"]) -%}
    {%- endfor -%}
    {%- do parts.append("coalesce(cast(round(" ~ a ~ ".registered_capital_amount, 2) as " ~ dbt.type_string() ~ "), '')") -%}
    {{ dbt.concat(parts) }}
{%- endmacro %}

{#- A 64-bit key of the normalised attributes, to compare versions on narrow rows (window functions
    over millions of registry rows): equal attributes give equal keys (two versions of one firm
    colliding: ~1 in 10^19). md5 of attributes_text elsewhere; DuckDB hashes the values one by one
    without building the text, which also tells apart values that differ only in where a '|' falls. -#}
{% macro attributes_key(a) -%}
    {{ return(adapter.dispatch('attributes_key', 'dc_cluster_warehouse')(a)) }}
{%- endmacro %}

{% macro default__attributes_key(a) -%}
    {{ dbt.hash(attributes_text(a)) }}
{%- endmacro %}

{% macro duckdb__attributes_key(a) -%}
    {%- set amount = "round(" ~ a ~ ".registered_capital_amount, 2)" -%}
    hash(
        {%- for value in firm_attribute_values(a) %}
        {{ value }},
        {%- endfor %}
        {{ amount }},
        -- the text form tells -0.0 from 0.0 (and -nan from nan), hash() of a double does not
        signbit({{ amount }})
    )
{%- endmacro %}
