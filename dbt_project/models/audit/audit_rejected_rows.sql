{{ config(alias='rejected_rows') }}
-- Every row not loaded: source file, sheet, row number in the file, the raw values (JSON, legal representative masked), reason code and message.
with manifest as (
    select file_sha256, path, source_kind, delivery_seq,
           row_number() over (partition by file_sha256 order by delivery_seq) as copy_rank
    from {{ ref('stg_ops__files') }}
)

select
    cast(r.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(coalesce(r.path, m.path) as {{ dbt.type_string() }}) as path,
    cast(m.source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(m.delivery_seq as bigint) as delivery_seq,
    cast(r.sheet as {{ dbt.type_string() }}) as sheet,
    cast(r.row_number as integer) as row_number,
    -- personal names (legal representative) are masked even in refused rows
    cast({{ mask_json_keys('r.raw_values', pii_json_keys()) }} as {{ dbt.type_string() }}) as raw_values,
    cast(r.reason_code as {{ dbt.type_string() }}) as reason_code,
    cast({{ mask_json_values_in_text('r.message', 'r.raw_values', pii_json_keys()) }} as {{ dbt.type_string() }}) as message
from {{ ref('stg_ops__rejected_rows') }} as r
left join manifest as m
    on m.file_sha256 = r.file_sha256
   and m.copy_rank = 1

union all

-- rows refused by a business rule in SQL (e.g. an economics firm that does not resolve)
select
    cast(s.file_sha256 as {{ dbt.type_string() }}) as file_sha256,
    cast(s.path as {{ dbt.type_string() }}) as path,
    cast(m.source_kind as {{ dbt.type_string() }}) as source_kind,
    cast(m.delivery_seq as bigint) as delivery_seq,
    cast(s.sheet as {{ dbt.type_string() }}) as sheet,
    cast(s.row_number as integer) as row_number,
    cast(s.raw_values as {{ dbt.type_string() }}) as raw_values,
    cast(s.reason_code as {{ dbt.type_string() }}) as reason_code,
    cast(s.message as {{ dbt.type_string() }}) as message
from {{ ref('int_sql_refusals') }} as s
left join manifest as m
    on m.file_sha256 = s.file_sha256
   and m.copy_rank = 1
