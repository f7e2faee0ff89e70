-- Facility energy and electricity cost per owning center per billing month: sums of the current bills of the accounts the center owns (whether or not the center has a ledger row that month).
select
    a.center_code,
    b.billing_month,
    sum(b.kwh_total) as facility_energy_kwh,
    sum(b.total_cny) as electricity_cost_cny,
    count(*) as bill_count
from {{ ref('stg_raw__power_bills') }} as b
inner join {{ ref('int_power_accounts') }} as a
    on a.account_no = b.account_no
where b.is_current
  and a.center_code is not null
group by a.center_code, b.billing_month
