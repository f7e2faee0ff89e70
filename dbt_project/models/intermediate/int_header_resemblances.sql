-- One row per header of a loaded file that matched no alias of its source's column map and that, with brackets (and the units in them) and spaces removed, contains an alias of an optional column of the source or is contained in one: the signature of a renamed header (服务器台数XX). A header that resembles no optional column (联系电话, 数据来源) has no row.
with files as (
    select file_sha256, path, source_kind
    from {{ ref('stg_ops__files') }}
    where status = 'loaded'
),

aliases as (
    select
        source_kind,
        column_name,
        {{ header_key('alias') }} as alias_key
    from {{ ref('stg_ops__column_aliases') }}
    where not is_required
),

unmatched as (
    select distinct h.file_sha256, h.path, h.header, files.source_kind, {{ header_key('h.header') }} as header_key
    from {{ ref('stg_ops__file_headers') }} as h
    inner join files
        on files.file_sha256 = h.file_sha256
       and files.path = h.path
    where h.column_name is null
)

select
    unmatched.file_sha256,
    unmatched.path,
    unmatched.header,
    -- several optional columns alike: the first by name
    min(aliases.column_name) as resembles_column
from unmatched
inner join aliases
    on aliases.source_kind = unmatched.source_kind
where {{ dbt.length('unmatched.header_key') }} > 0
  and {{ dbt.length('aliases.alias_key') }} > 1
  and ({{ dbt.position('aliases.alias_key', 'unmatched.header_key') }} > 0
       or {{ dbt.position('unmatched.header_key', 'aliases.alias_key') }} > 0)
group by unmatched.file_sha256, unmatched.path, unmatched.header
