-- The portable list splitter reads at most var('dcw_max_list_items') items per cell: fail when a power_accounts or former_names cell holds more (items would be lost).
{%- set limit = var('dcw_max_list_items', 64) %}
with lists as (
    select 'power_accounts' as list_name, power_accounts as list_value from {{ ref('stg_raw__center_months') }}
    union all
    select 'former_names' as list_name, former_names as list_value from {{ ref('stg_raw__firm_snapshots') }}
)

select list_name, list_value
from lists
where list_value is not null
  and {{ dbt.length('list_value') }} - {{ dbt.length(dbt.replace('list_value', "','", "''")) }}
      + {{ dbt.length('list_value') }} - {{ dbt.length(dbt.replace('list_value', "';'", "''")) }}
      + {{ dbt.length('list_value') }} - {{ dbt.length(dbt.replace('list_value', "'、'", "''")) }}
      + {{ dbt.length('list_value') }} - {{ dbt.length(dbt.replace('list_value', "'；'", "''")) }}
      + {{ dbt.length('list_value') }} - {{ dbt.length(dbt.replace('list_value', "'，'", "''")) }}
      + 1 > {{ limit }}
