-- Type-2 history of registry firms computed from consecutive snapshots: one row per firm version (a version changes only when a normalised attribute changes, or the firm reappears after being absent).
with snapshots as (
    select
        snapshot_date,
        row_number() over (order by snapshot_date) as snapshot_seq
    from (select distinct snapshot_date from {{ ref('stg_raw__firm_snapshots') }}) as dates
),

-- normalised values: differences of form alone never make a version (brackets, whitespace,
-- section letter of the industry code, 在业 = 存续, capital written differently)
normalized as (
    select
        f.uscc,
        f.snapshot_date,
        {{ attributes_text('f') }} as attributes_text
    from {{ ref('stg_raw__firm_snapshots') }} as f
),

-- narrow rows (uscc, date, sequence, attribute key) for the window functions; the key is hashed
-- to 64 bits only to keep the sorted rows narrow (two versions of one firm colliding: ~1 in 10^19)
keyed as (
    select
        n.uscc,
        n.snapshot_date,
        s.snapshot_seq,
        {{ narrow_hash("n.attributes_text") }} as attributes_key
    from normalized as n
    inner join snapshots as s
        on s.snapshot_date = n.snapshot_date
),

flagged as (
    select
        uscc,
        snapshot_date,
        snapshot_seq,
        attributes_key,
        case
            when lag(snapshot_seq) over by_firm is null then 1
            -- absent from the previous snapshot: the earlier version was closed, a new one starts
            when lag(snapshot_seq) over by_firm <> snapshot_seq - 1 then 1
            when lag(attributes_key) over by_firm <> attributes_key then 1
            else 0
        end as starts_version
    from keyed
    window by_firm as (partition by uscc order by snapshot_date)
),

numbered as (
    select
        uscc,
        snapshot_date,
        snapshot_seq,
        attributes_key,
        sum(starts_version) over (
            partition by uscc order by snapshot_date rows between unbounded preceding and current row
        ) as version_no
    from flagged
),

version_bounds as (
    select
        uscc,
        version_no,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_seen_snapshot_date,
        max(snapshot_seq) as last_seen_snapshot_seq,
        count(*) as snapshots_seen,
    from numbered
    group by uscc, version_no
),

latest_versions as (
    select uscc, max(version_no) as latest_version_no
    from version_bounds
    group by uscc
)

select
    {{ surrogate_key(['v.uscc', 'v.valid_from']) }} as firm_key,
    v.uscc,
    cast(v.version_no as integer) as version_no,
    v.valid_from,
    -- closed by the next version, or by the first later snapshot the firm is absent from
    next_snapshot.snapshot_date as valid_to,
    v.last_seen_snapshot_date,
    v.snapshots_seen,
    -- attributes as written in the version's latest snapshot
    f.name,
    f.former_names,
    f.status as status_as_given,
    {{ canonical_firm_status('f.status') }} as status,
    f.industry_code,
    nullif({{ strip_industry_section("upper(replace(f.industry_code, ' ', ''))") }}, '') as industry_code_digits,
    {{ mask_name(normalize_text_key('f.legal_rep')) }} as legal_rep_masked,
    f.registered_capital_amount,
    f.registered_capital_currency,
    f.registered_capital_cny,
    f.established,
    f.firm_type,
    f.address,
    f.authority,
    {{ dbt.hash(attributes_text('f')) }} as attributes_hash,
    f.file_sha256 as source_file_sha256,
    f.sheet as source_sheet,
    f.row_number as source_row_number,
    next_snapshot.snapshot_date is null as is_current,
    v.version_no = lv.latest_version_no as is_latest_version
from version_bounds as v
inner join {{ ref('stg_raw__firm_snapshots') }} as f
    on f.uscc = v.uscc
   and f.snapshot_date = v.last_seen_snapshot_date
inner join latest_versions as lv
    on lv.uscc = v.uscc
left join snapshots as next_snapshot
    on next_snapshot.snapshot_seq = v.last_seen_snapshot_seq + 1
