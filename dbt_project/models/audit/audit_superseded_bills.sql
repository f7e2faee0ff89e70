{{ config(alias='superseded_bills') }}
-- Every power bill that a later bill of the same account-month replaced (a later delivery, or the 更正 copy in the same file): visible to auditors, never in totals.
with bills as (
    select * from {{ ref('stg_raw__power_bills') }}
)

select
    cast(old.account_no as {{ dbt.type_string() }}) as account_no,
    cast(old.billing_month as date) as month,
    cast(old.bill_type as {{ dbt.type_string() }}) as bill_type,
    cast(old.kwh_total as double) as kwh_total,
    cast(old.total_cny as {{ money_type() }}) as total_cny,
    cast(old.bill_rank as bigint) as bill_rank,
    cast(
        case when newer.file_sha256 = old.file_sha256 then 'corrected_in_same_file' else 'later_delivery' end
        as {{ dbt.type_string() }}
    ) as supersession_reason,
    cast(old.file_sha256 as {{ dbt.type_string() }}) as source_file_sha256,
    cast(old.file_path as {{ dbt.type_string() }}) as source_path,
    cast(old.sheet as {{ dbt.type_string() }}) as source_sheet,
    cast(old.row_number as integer) as source_row_number,
    cast(old.delivery_seq as bigint) as delivery_seq,
    cast(newer.file_sha256 as {{ dbt.type_string() }}) as superseded_by_file_sha256,
    cast(newer.file_path as {{ dbt.type_string() }}) as superseded_by_path,
    cast(newer.row_number as integer) as superseded_by_row_number,
    cast(cur.file_sha256 as {{ dbt.type_string() }}) as current_file_sha256,
    cast(cur.row_number as integer) as current_row_number,
    cast(cur.kwh_total as double) as current_kwh_total,
    cast(cur.total_cny as {{ money_type() }}) as current_total_cny
from bills as old
inner join bills as newer
    on newer.account_no = old.account_no
   and newer.billing_month = old.billing_month
   and newer.bill_rank = old.bill_rank - 1
inner join bills as cur
    on cur.account_no = old.account_no
   and cur.billing_month = old.billing_month
   and cur.is_current
where not old.is_current
