-- Registry firms as a type-2 dimension: one row per firm version (valid_from / valid_to / is_current), legal representative masked.
select
    cast(firm_key as {{ dbt.type_string() }}) as firm_key,
    cast(uscc as {{ dbt.type_string() }}) as uscc,
    cast(version_no as integer) as version_no,
    cast(name as {{ dbt.type_string() }}) as name,
    cast(former_names as {{ dbt.type_string() }}) as former_names,
    cast(status as {{ dbt.type_string() }}) as status,
    cast(coalesce(status = '存续', false) as boolean) as is_active,
    cast(industry_code as {{ dbt.type_string() }}) as industry_code,
    cast(industry_code_digits as {{ dbt.type_string() }}) as industry_code_digits,
    cast('GB/T 4754-2017' as {{ dbt.type_string() }}) as industry_code_edition,
    cast(
        case
            when substr(industry_code_digits, 1, 2) = '39' then 'hard'
            when substr(industry_code_digits, 1, 2) = '65' then 'soft'
        end as {{ dbt.type_string() }}
    ) as hard_soft,
    cast(legal_rep_masked as {{ dbt.type_string() }}) as legal_rep_masked,
    cast(registered_capital_amount as double) as registered_capital_amount,
    cast(registered_capital_currency as {{ dbt.type_string() }}) as registered_capital_currency,
    cast(registered_capital_cny as {{ money_type() }}) as registered_capital_cny,
    cast(established as date) as established,
    cast(firm_type as {{ dbt.type_string() }}) as firm_type,
    cast(address as {{ dbt.type_string() }}) as address,
    cast(authority as {{ dbt.type_string() }}) as authority,
    cast(valid_from as date) as valid_from,
    cast(valid_to as date) as valid_to,
    cast(is_current as boolean) as is_current,
    cast(is_latest_version as boolean) as is_latest_version,
    cast(last_seen_snapshot_date as date) as last_seen_snapshot_date,
    cast(snapshots_seen as bigint) as snapshots_seen,
    cast(source_file_sha256 as {{ dbt.type_string() }}) as registry_source_file_sha256,
    cast(source_sheet as {{ dbt.type_string() }}) as registry_source_sheet,
    cast(source_row_number as integer) as registry_source_row
from {{ ref('int_firm_versions') }}
