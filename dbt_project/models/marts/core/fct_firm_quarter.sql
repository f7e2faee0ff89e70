-- One row per firm (resolved uscc) per quarter: revenue, tax and employees from the economic indicators, linked to the firm version in effect at quarter end.
with quarters as (
    select
        int_firm_quarters.*,
        cast({{ dbt.last_day('quarter_start', 'quarter') }} as date) as quarter_end
    from {{ ref('int_firm_quarters') }}
    where is_current
),

-- the latest version starting on or before quarter end (the last known state when the firm
-- has since left the registry); the first version when the quarter ends before the registry knew it
version_choice as (
    select
        q.uscc,
        q.quarter_start,
        v.firm_key,
        row_number() over (
            partition by q.uscc, q.quarter_start
            order by case when v.valid_from <= q.quarter_end then 0 else 1 end,
                     case when v.valid_from <= q.quarter_end then v.valid_from end desc,
                     v.valid_from
        ) as choice_rank
    from quarters as q
    inner join {{ ref('int_firm_versions') }} as v
        on v.uscc = q.uscc
)

select
    cast(q.uscc as {{ dbt.type_string() }}) as uscc,
    cast(q.quarter_start as date) as quarter_start,
    cast(q.quarter_end as date) as quarter_end,
    cast(vc.firm_key as {{ dbt.type_string() }}) as firm_key,
    cast(q.firm_name as {{ dbt.type_string() }}) as firm_name,
    cast(q.period_raw as {{ dbt.type_string() }}) as period_raw,
    cast(q.revenue_cny as {{ money_type() }}) as revenue_cny,
    cast(q.tax_cny as {{ money_type() }}) as tax_cny,
    cast(q.employees as bigint) as employees,
    cast(q.resolution_status as {{ dbt.type_string() }}) as firm_resolution,
    cast(q.row_versions - 1 as bigint) as superseded_rows,
    cast(q.file_sha256 as {{ dbt.type_string() }}) as economics_source_file_sha256,
    cast(q.sheet as {{ dbt.type_string() }}) as economics_source_sheet,
    cast(q.row_number as integer) as economics_source_row
from quarters as q
left join version_choice as vc
    on vc.uscc = q.uscc
   and vc.quarter_start = q.quarter_start
   and vc.choice_rank = 1
