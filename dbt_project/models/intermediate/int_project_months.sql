-- Current project ledger rows (project x report month) with the investor resolved to a uscc.
with projects as (
    select * from {{ ref('stg_raw__project_months') }}
),

resolved as (
    {{ resolve_firms('projects', 'investor_name', 'investor_uscc_given') }}
)

select
    project_code,
    report_month,
    project_name,
    investor_name,
    investor_uscc_given,
    resolved_uscc as investor_uscc,
    resolution_status as investor_resolution,
    firm_name_normalized as investor_name_normalized,
    candidate_count as investor_candidate_count,
    candidate_usccs as investor_candidate_usccs,
    industry,
    promotion_subject,
    promotion_method,
    stage,
    signed_date,
    start_date,
    production_date,
    investment_planned_cny,
    investment_completed_ytd_cny,
    park,
    responsible_unit,
    center_code,
    extras,
    file_sha256,
    file_path,
    delivery_seq,
    sheet,
    row_number
from resolved
