-- One row per center x report month x grid account the center's current ledger row claims (power_accounts list split into items).
with ledger as (
    select center_code, report_month, power_accounts
    from {{ ref('stg_raw__center_months') }}
),

items as (
    {{ split_list('ledger', ['center_code', 'report_month'], 'power_accounts', ',', ['、', '，', ';', '；', ' ']) }}
)

select distinct
    center_code,
    report_month,
    cast(item as {{ dbt.type_string() }}) as account_no
from items
