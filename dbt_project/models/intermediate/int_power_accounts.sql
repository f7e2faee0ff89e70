-- One row per grid account (claimed by a ledger or billed), with its owning center: the center that claims it in the latest report month in which any center claims it.
with claims as (
    select * from {{ ref('int_account_claims') }}
),

claim_span as (
    select
        account_no,
        min(report_month) as first_claim_month,
        max(report_month) as last_claim_month,
        count(distinct center_code) as centers_ever_claiming
    from claims
    group by account_no
),

last_month_claims as (
    select
        c.account_no,
        count(*) as centers_in_last_claim_month,
        min(c.center_code) as first_center_code,
        {{ dbt.listagg('c.center_code', "', '", 'order by c.center_code') }} as centers_in_last_claim
    from claims as c
    inner join claim_span as s
        on s.account_no = c.account_no
       and s.last_claim_month = c.report_month
    group by c.account_no
),

billed as (
    select
        account_no,
        count(*) as current_bills,
        min(billing_month) as first_billing_month,
        max(billing_month) as last_billing_month
    from {{ ref('stg_raw__power_bills') }}
    where is_current
    group by account_no
),

accounts as (
    select account_no from claim_span
    union
    select account_no from billed
)

select
    a.account_no,
    case when l.centers_in_last_claim_month = 1 then l.first_center_code end as center_code,
    case
        when s.account_no is null then 'unclaimed'
        when l.centers_in_last_claim_month > 1 then 'conflict'
        else 'claimed'
    end as ownership_status,
    s.first_claim_month,
    s.last_claim_month,
    coalesce(s.centers_ever_claiming, 0) as centers_ever_claiming,
    l.centers_in_last_claim as claiming_centers_in_last_month,
    coalesce(b.current_bills, 0) as current_bills,
    b.first_billing_month,
    b.last_billing_month
from accounts as a
left join claim_span as s on s.account_no = a.account_no
left join last_month_claims as l on l.account_no = a.account_no
left join billed as b on b.account_no = a.account_no
