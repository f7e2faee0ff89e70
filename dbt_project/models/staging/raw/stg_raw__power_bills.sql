-- Every loaded power bill, one row per bill row, ranked within its account-month: the current bill is from the latest file in delivery order, and within one file the 更正 copy wins.
with bills as (
    select * from {{ source('raw', 'power_bills') }}
),

loaded_files as (
    select file_sha256, path, delivery_seq
    from {{ ref('stg_ops__files') }}
    where status = 'loaded' and source_kind = 'power'
),

typed as (
    select
        cast(bills.account_no as {{ dbt.type_string() }}) as account_no,
        {{ month_start('bills.billing_month') }} as billing_month,
        cast(bills.account_name as {{ dbt.type_string() }}) as account_name,
        cast(bills.period_start as date) as period_start,
        cast(bills.period_end as date) as period_end,
        cast(bills.kwh_peak as double) as kwh_peak,
        cast(bills.kwh_flat as double) as kwh_flat,
        cast(bills.kwh_valley as double) as kwh_valley,
        cast(bills.kwh_sharp as double) as kwh_sharp,
        cast(bills.kwh_total as double) as kwh_total,
        cast(bills.kvarh as double) as kvarh,
        cast(bills.power_factor as double) as power_factor,
        {{ money('bills.demand_charge_cny') }} as demand_charge_cny,
        {{ money('bills.energy_charge_cny') }} as energy_charge_cny,
        {{ money('bills.pf_adjustment_cny') }} as pf_adjustment_cny,
        {{ money('bills.surcharges_cny') }} as surcharges_cny,
        {{ money('bills.total_cny') }} as total_cny,
        cast(bills.contract_kva as double) as contract_kva,
        cast(bills.max_demand_kw as double) as max_demand_kw,
        cast(bills.bill_type as {{ dbt.type_string() }}) as bill_type,
        cast(bills.extras as {{ dbt.type_string() }}) as extras,
        cast(bills.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
        cast(loaded_files.path as {{ dbt.type_string() }}) as file_path,
        cast(loaded_files.delivery_seq as bigint) as delivery_seq,
        cast(bills.sheet as {{ dbt.type_string() }}) as sheet,
        cast(bills.row_number as integer) as row_number
    from bills
    inner join loaded_files
        on loaded_files.file_sha256 = bills.file_sha256
),

ranked as (
    select
        typed.*,
        -- 1 = current bill; newest file first, then the 更正 copy within one file, then the later row
        row_number() over (
            partition by account_no, billing_month
            order by delivery_seq desc,
                     case when bill_type = '更正' then 0 else 1 end,
                     row_number desc
        ) as bill_rank,
        count(*) over (partition by account_no, billing_month) as bill_versions
    from typed
)

select
    ranked.*,
    bill_rank = 1 as is_current,
    -- corrected: this bill superseded an earlier one, or is itself marked 更正
    (bill_rank < bill_versions or coalesce(bill_type = '更正', false)) as is_corrected
from ranked
