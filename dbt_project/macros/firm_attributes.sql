{#- The normalised attributes of a registry row (alias a): status and industry code are short and
    already trimmed by ingestion, so they get a cheap clean-up only. -#}
{%- macro attributes_text(a) -%}
    {{ dbt.concat([
        normalize_text_key(dbt.concat([
            "coalesce(" ~ a ~ ".name, '')", "'|'", "coalesce(" ~ a ~ ".legal_rep, '')", "'|'",
            "coalesce(" ~ a ~ ".address, '')", "'|'", "coalesce(upper(" ~ a ~ ".registered_capital_currency), '')"])),
        "'|'", "coalesce(" ~ canonical_firm_status("replace(" ~ a ~ ".status, ' ', '')") ~ ", '')", "'|'",
        "coalesce(" ~ strip_industry_section("upper(replace(" ~ a ~ ".industry_code, ' ', ''))") ~ ", '')", "'|'",
        "coalesce(cast(round(" ~ a ~ ".registered_capital_amount, 2) as " ~ dbt.type_string() ~ "), '')"]) }}
{%- endmacro %}

{#- A 64-bit hash to keep rows narrow where only equality matters (window comparisons); md5 elsewhere. -#}
{% macro narrow_hash(expression) -%}
    {{ return(adapter.dispatch('narrow_hash', 'dc_cluster_warehouse')(expression)) }}
{%- endmacro %}

{% macro default__narrow_hash(expression) -%}
    {{ dbt.hash(expression) }}
{%- endmacro %}

{% macro duckdb__narrow_hash(expression) -%}
    hash({{ expression }})
{%- endmacro %}
