-- Reconciliation: for every loaded file, the manifest's rows_loaded equals the rows it has in raw.*, and rows_rejected equals its rows in ops.rejected_rows.
-- Shown on audit_file_manifest (meta ref in _singular_tests.yml), which must therefore be a parent:
-- depends_on: {{ ref('audit_file_manifest') }}
with raw_rows as (
    select file_sha256, count(*) as n from {{ source('raw', 'dc_ledger') }} group by file_sha256
    union all
    select file_sha256, count(*) from {{ source('raw', 'projects') }} group by file_sha256
    union all
    select file_sha256, count(*) from {{ source('raw', 'economics') }} group by file_sha256
    union all
    select file_sha256, count(*) from {{ source('raw', 'plans') }} group by file_sha256
    union all
    select file_sha256, count(*) from {{ source('raw', 'registry') }} group by file_sha256
    union all
    select file_sha256, count(*) from {{ source('raw', 'power_bills') }} group by file_sha256
),

loaded as (
    select file_sha256, sum(n) as rows_in_raw from raw_rows group by file_sha256
),

refused as (
    select file_sha256, count(*) as rows_refused from {{ ref('stg_ops__rejected_rows') }} group by file_sha256
)

select f.path, f.rows_loaded, coalesce(l.rows_in_raw, 0) as rows_in_raw,
       f.rows_rejected, coalesce(r.rows_refused, 0) as rows_refused
from {{ ref('stg_ops__files') }} as f
left join loaded as l on l.file_sha256 = f.file_sha256
left join refused as r on r.file_sha256 = f.file_sha256
where f.status = 'loaded'
  and (coalesce(f.rows_loaded, 0) <> coalesce(l.rows_in_raw, 0)
       or coalesce(f.rows_rejected, 0) <> coalesce(r.rows_refused, 0))
