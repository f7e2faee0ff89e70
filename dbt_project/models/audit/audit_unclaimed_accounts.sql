{{ config(alias='unclaimed_accounts') }}
-- Every billed grid account without an owning center: claimed by no center, or claimed by several centers in its latest claim month.
with bills as (
    select
        account_no,
        count(*) as current_bills,
        sum(kwh_total) as kwh_total,
        sum(total_cny) as total_cny
    from {{ ref('stg_raw__power_bills') }}
    where is_current
    group by account_no
)

select
    cast(a.account_no as {{ dbt.type_string() }}) as account_no,
    cast(a.ownership_status as {{ dbt.type_string() }}) as ownership_status,
    cast(a.claiming_centers_in_last_month as {{ dbt.type_string() }}) as claiming_centers_in_last_month,
    cast(a.last_claim_month as date) as last_claim_month,
    cast(a.first_billing_month as date) as first_billing_month,
    cast(a.last_billing_month as date) as last_billing_month,
    cast(coalesce(bills.current_bills, 0) as bigint) as current_bills,
    cast(bills.kwh_total as double) as kwh_total,
    cast(bills.total_cny as {{ money_type() }}) as total_cny
from {{ ref('int_power_accounts') }} as a
inner join bills
    on bills.account_no = a.account_no
where a.center_code is null
