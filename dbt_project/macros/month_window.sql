{#-
  Incremental facts by report month. A run over a month range gives the window as environment
  variables DCW_MONTH_FROM (inclusive) and DCW_MONTH_TO (exclusive), ISO dates, which is what the
  orchestration does: a changed environment variable makes dbt re-parse only the files that read
  it, where changed --vars make it re-parse the whole project (~6 s). Vars dcw_month_from and
  dcw_month_to, when given (by hand: dbt build --vars '{...}'), take precedence. Without either,
  the window is every month.

  month_window(column): a boolean SQL expression, true for a month inside the run's window.

  Strategy replace_months (config incremental_strategy='replace_months', month_column, default
  'month'): every month in the window, and every month the new rows carry, is deleted from the
  table as a whole, then the new rows are inserted. So a month whose later workbook dropped a
  center, or whose bill was superseded, never keeps an old row; the models add to their new rows
  the months outside the window whose cross-month attributes (account owner, resolved firm, bill
  totals) went stale, so those are replaced too.
-#}
{% macro month_window(column) -%}
    {%- set month_from = var('dcw_month_from', env_var('DCW_MONTH_FROM', '')) -%}
    {%- set month_to = var('dcw_month_to', env_var('DCW_MONTH_TO', '')) -%}
    {%- if month_from and month_to -%}
        ({{ column }} >= cast('{{ month_from }}' as date) and {{ column }} < cast('{{ month_to }}' as date))
    {%- else -%}
        (1 = 1)
    {%- endif -%}
{%- endmacro %}

{% macro get_incremental_replace_months_sql(arg_dict) -%}
    {%- set target = arg_dict['target_relation'] -%}
    {%- set source = arg_dict['temp_relation'] -%}
    {%- set month = config.get('month_column', 'month') -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ target }}
    where {{ month }} in (select distinct {{ month }} from {{ source }})
       or {{ month_window(month) }};
    insert into {{ target }} ({{ columns }})
    select {{ columns }} from {{ source }}
{%- endmacro %}
