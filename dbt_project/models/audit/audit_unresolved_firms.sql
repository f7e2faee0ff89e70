{{ config(alias='unresolved_firms') }}
-- Every firm named in a current bureau row (ledger operator, project investor, economics firm) that did not resolve to exactly one uscc (no match, or several candidates), with the candidates: never guessed.
with unresolved as (
    select
        'dc_ledger' as source_kind, 'operator' as firm_role, center_code as business_key,
        report_month as period_start, operator_name as firm_name,
        operator_name_normalized as firm_name_normalized, operator_uscc_given as uscc_given,
        operator_resolution as reason_code, operator_candidate_count as candidate_count,
        operator_candidate_usccs as candidate_usccs, file_sha256, file_path, sheet, row_number
    from {{ ref('int_center_months') }}
    where operator_uscc is null and operator_resolution <> 'not_given'
    union all
    select
        'projects' as source_kind, 'investor' as firm_role, project_code as business_key,
        report_month as period_start, investor_name as firm_name,
        investor_name_normalized as firm_name_normalized, investor_uscc_given as uscc_given,
        investor_resolution as reason_code, investor_candidate_count as candidate_count,
        investor_candidate_usccs as candidate_usccs, file_sha256, file_path, sheet, row_number
    from {{ ref('int_project_months') }}
    where investor_uscc is null and investor_resolution <> 'not_given'
    union all
    select
        'economics' as source_kind, 'firm' as firm_role, coalesce(uscc_given, firm_name) as business_key,
        quarter_start as period_start, firm_name,
        firm_name_normalized, uscc_given,
        resolution_status as reason_code, candidate_count,
        candidate_usccs, file_sha256, file_path, sheet, row_number
    from {{ ref('int_firm_quarters') }}
    where uscc is null and resolution_status <> 'not_given'
)

select
    cast(source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(firm_role as {{ dbt.type_string() }}) as firm_role,
    cast(business_key as {{ dbt.type_string() }}) as business_key,
    cast(period_start as date) as period_start,
    cast(firm_name as {{ dbt.type_string() }}) as firm_name,
    cast(firm_name_normalized as {{ dbt.type_string() }}) as firm_name_normalized,
    cast(uscc_given as {{ dbt.type_string() }}) as uscc_given,
    cast(reason_code as {{ dbt.type_string() }}) as reason_code,
    cast(candidate_count as bigint) as candidate_count,
    cast(candidate_usccs as {{ dbt.type_string() }}) as candidate_usccs,
    cast(file_sha256 as {{ dbt.type_string() }}) as source_file_sha256,
    cast(file_path as {{ dbt.type_string() }}) as source_path,
    cast(sheet as {{ dbt.type_string() }}) as source_sheet,
    cast(row_number as integer) as source_row_number
from unresolved
