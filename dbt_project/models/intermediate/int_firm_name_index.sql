-- Every (normalised firm name, uscc) pair the registry knows, from the current and former names of every snapshot: the lookup used to resolve firm names in bureau files.
with snapshots as (
    select uscc, name, former_names
    from {{ ref('stg_raw__firm_snapshots') }}
),

former_name_items as (
    {{ split_list('snapshots', ['uscc'], 'former_names', ';', ['；', '、']) }}
),

-- distinct raw spellings first: normalising is the costly step, and most snapshots repeat a name
names as (
    select name as raw_name, uscc, 1 as is_registered_name
    from snapshots
    where name is not null
    union all
    select item as raw_name, uscc, 0 as is_registered_name
    from former_name_items
),

distinct_names as (
    select raw_name, uscc, max(is_registered_name) as is_registered_name
    from names
    group by raw_name, uscc
),

normalized as (
    select {{ normalize_text_key('raw_name') }} as name_normalized, uscc, is_registered_name
    from distinct_names
)

select
    name_normalized,
    uscc,
    max(is_registered_name) = 1 as is_registered_name
from normalized
group by name_normalized, uscc
