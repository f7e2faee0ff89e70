-- Current ledger rows (center x report month) with the operator resolved to a uscc, facility energy and cost from the center's bills, and the derived ratios.
with ledger as (
    select * from {{ ref('stg_raw__center_months') }}
),

resolved as (
    {{ resolve_firms('ledger', 'operator_name', 'operator_uscc_given') }}
),

energy as (
    select * from {{ ref('int_center_bill_months') }}
)

select
    resolved.center_code,
    resolved.report_month,
    resolved.center_name,
    resolved.operator_name,
    resolved.operator_uscc_given,
    resolved.resolved_uscc as operator_uscc,
    resolved.resolution_status as operator_resolution,
    resolved.firm_name_normalized as operator_name_normalized,
    resolved.candidate_count as operator_candidate_count,
    resolved.candidate_usccs as operator_candidate_usccs,
    resolved.park,
    resolved.status,
    resolved.operating_model,
    resolved.racks_designed,
    resolved.racks_built,
    resolved.racks_in_use,
    case when resolved.racks_built > 0 then {{ safe_divide('resolved.racks_in_use', 'resolved.racks_built') }} end as rack_utilization,
    resolved.servers,
    resolved.it_load_design_kw,
    resolved.compute_general_pflops,
    resolved.compute_ai_pflops,
    resolved.compute_hpc_pflops,
    {{ compute_total('resolved.compute_general_pflops', 'resolved.compute_ai_pflops', 'resolved.compute_hpc_pflops') }}
        as compute_total_pflops,
    resolved.it_energy_kwh,
    energy.facility_energy_kwh,
    case
        when energy.facility_energy_kwh > 0 and resolved.it_energy_kwh > 0
            then {{ safe_divide('energy.facility_energy_kwh', 'resolved.it_energy_kwh') }}
    end as pue,
    energy.electricity_cost_cny,
    case
        when energy.facility_energy_kwh > 0
            then {{ safe_divide('energy.electricity_cost_cny', 'energy.facility_energy_kwh') }}
    end as avg_price_cny_per_kwh,
    energy.bill_count,
    resolved.investment_planned_cny,
    resolved.investment_completed_cny,
    resolved.construction_start,
    resolved.operation_start,
    resolved.power_accounts,
    resolved.file_sha256,
    resolved.file_path,
    resolved.sheet,
    resolved.row_number
from resolved
left join energy
    on energy.center_code = resolved.center_code
   and energy.billing_month = resolved.report_month
