{{ config(alias='parse_warnings') }}
-- Every parse warning: a value set to NULL on a loaded row (keeping the raw text), or a file-level remark such as a skipped sheet or a total that disagrees with its rows.
with manifest as (
    select file_sha256, path, source_kind, delivery_seq,
           row_number() over (partition by file_sha256 order by delivery_seq) as copy_rank
    from {{ ref('stg_ops__files') }}
)

select
    cast(w.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(coalesce(w.path, m.path) as {{ dbt.type_string() }}) as path,
    cast(m.source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(w.sheet as {{ dbt.type_string() }}) as sheet,
    cast(w.row_number as integer) as row_number,
    cast(w.column_name as {{ dbt.type_string() }}) as column_name,
    -- a warning about a personal-name column keeps only the masked text
    cast(
        case when w.column_name in ('legal_rep', '法定代表人') then {{ mask_name('w.raw_value') }} else w.raw_value end
        as {{ dbt.type_string() }}
    ) as raw_value,
    cast(w.warning_code as {{ dbt.type_string() }}) as warning_code,
    cast(
        case
            when w.column_name in ('legal_rep', '法定代表人') and nullif(w.raw_value, '') is not null
                then replace(w.message, w.raw_value, {{ mask_name('w.raw_value') }})
            else w.message
        end as {{ dbt.type_string() }}
    ) as message
from {{ ref('stg_ops__parse_warnings') }} as w
left join manifest as m
    on m.file_sha256 = w.file_sha256
   and m.copy_rank = 1
