{#-
  Normalise a firm name (or address, legal representative...) for matching and change detection:
  full-width brackets to half width, and every space removed. The raw layer already holds text
  NFKC-normalised with every run of whitespace (ideographic and no-break spaces, tabs, line breaks)
  collapsed to one space (docs/raw_layer.md), so removing spaces removes all whitespace; plain
  replace() is portable and several times cheaper than a regular expression on 1M-firm registries.
  Returns '' for an all-whitespace value (NULL stays NULL): wrap the *column it was stored in* with
  nullif(..., '') in an outer query rather than this expression, which engines may evaluate twice.
-#}
{% macro normalize_text_key(column) -%}
    {{ return(adapter.dispatch('normalize_text_key', 'dc_cluster_warehouse')(column)) }}
{%- endmacro %}

{% macro default__normalize_text_key(column) -%}
    replace(replace(replace({{ column }}, '（', '('), '）', ')'), ' ', '')
{%- endmacro %}

{#- DuckDB: replace() copies every string even when there is nothing to replace, while contains()
    only scans it; most values hold no bracket or space, so test first (same result; on the province
    registry the three replace() of the firm names cost 2.9 s CPU, the test 0.15 s). The column is
    written several times: pass a column or a cheap expression (a projection computes it once). -#}
{% macro duckdb__normalize_text_key(column) -%}
    case
        when contains({{ column }}, ' ') or contains({{ column }}, '（') or contains({{ column }}, '）')
            then {{ default__normalize_text_key(column) }}
        else {{ column }}
    end
{%- endmacro %}

{#- Industry code without its GB/T 4754 section letter (I6550 -> 6550), from an already normalised, upper-cased code column. -#}
{% macro strip_industry_section(normalized_column) -%}
    case
        when substr({{ normalized_column }}, 1, 1) between 'A' and 'Z' then substr({{ normalized_column }}, 2)
        else {{ normalized_column }}
    end
{%- endmacro %}

{#- Registry status with 在业 read as 存续 (active), from an already normalised status column. -#}
{% macro canonical_firm_status(normalized_column) -%}
    case when {{ normalized_column }} = '在业' then '存续' else {{ normalized_column }} end
{%- endmacro %}

{#- A header compared with aliases: bracketed parts (units such as （万元）, (kWh)) and whitespace removed. -#}
{% macro header_key(column) -%}
    regexp_replace(regexp_replace({{ column }}, '[（(\[【][^）)\]】]*[）)\]】]', '', 'g'), '\s', '', 'g')
{%- endmacro %}
