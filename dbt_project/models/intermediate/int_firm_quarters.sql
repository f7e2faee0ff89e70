-- Economic indicator rows of every loaded file with the firm resolved to a uscc; a row that does not resolve is refused (is_current false, listed in audit.unresolved_firms); when several rows give one firm-quarter, the latest delivered row is current.
with quarters as (
    select * from {{ ref('stg_raw__firm_quarters') }}
),

resolved as (
    {{ resolve_firms('quarters', 'firm_name', 'uscc_given') }}
),

ranked as (
    select
        resolved.*,
        row_number() over (
            partition by resolved_uscc, quarter_start order by delivery_seq desc, row_number desc
        ) as recency_rank,
        count(*) over (partition by resolved_uscc, quarter_start) as row_versions
    from resolved
)

select
    quarter_start,
    period_raw,
    uscc_given,
    firm_name,
    resolved_uscc as uscc,
    resolution_status,
    firm_name_normalized,
    candidate_count,
    candidate_usccs,
    revenue_cny,
    tax_cny,
    employees,
    extras,
    file_sha256,
    file_path,
    delivery_seq,
    sheet,
    row_number,
    resolved_uscc is not null and recency_rank = 1 as is_current,
    case when resolved_uscc is not null then row_versions else 0 end as row_versions
from ranked
