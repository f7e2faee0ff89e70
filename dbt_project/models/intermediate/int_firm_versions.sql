-- Type-2 history of registry firms computed from consecutive snapshots: one row per firm version (a version changes only when a normalised attribute changes, or the firm reappears after being absent).
with snapshots as (
    -- the snapshot dates in order, as one row: a firm's snapshot_seq is its date's position in the
    -- list, the next snapshot after seq n is dates[n + 1] (NULL after the last). One row also keeps
    -- the optimiser's row estimates right, so the join at the end hashes the narrow version rows
    -- rather than the wide registry rows.
    select list(distinct snapshot_date order by snapshot_date) as dates
    from {{ ref('stg_raw__firm_snapshots') }}
),

-- narrow rows (uscc, date, sequence, attribute key) for the window function. The key covers the
-- normalised values: differences of form alone never make a version (brackets, whitespace,
-- section letter of the industry code, 在业 = 存续, capital written differently)
keyed as (
    select
        f.uscc,
        f.snapshot_date,
        list_position(s.dates, f.snapshot_date) as snapshot_seq,
        {{ attributes_key('f') }} as attributes_key
    from {{ ref('stg_raw__firm_snapshots') }} as f
    cross join snapshots as s
),

-- a version is a run of consecutive snapshots with one attribute key: within a firm and key, the
-- snapshot sequence minus the row number is constant along a run and changes after a gap (the firm
-- absent, or with other attributes in between). One window instead of lag() then a running sum.
runs as (
    select
        uscc,
        attributes_key,
        snapshot_date,
        snapshot_seq,
        snapshot_seq - row_number() over (partition by uscc, attributes_key order by snapshot_seq) as run_id
    from keyed
),

version_bounds as (
    select
        uscc,
        min(snapshot_date) as valid_from,
        max(snapshot_date) as last_seen_snapshot_date,
        max(snapshot_seq) as last_seen_snapshot_seq,
        count(*) as snapshots_seen
    from runs
    group by uscc, attributes_key, run_id
),

versions as (
    select
        *,
        row_number() over (partition by uscc order by valid_from) as version_no,
        count(*) over (partition by uscc) as latest_version_no
    from version_bounds
)

select
    {{ surrogate_key(['v.uscc', 'v.valid_from']) }} as firm_key,
    v.uscc,
    cast(v.version_no as integer) as version_no,
    v.valid_from,
    -- closed by the next version, or by the first later snapshot the firm is absent from
    s.dates[v.last_seen_snapshot_seq + 1] as valid_to,
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
    s.dates[v.last_seen_snapshot_seq + 1] is null as is_current,
    v.version_no = v.latest_version_no as is_latest_version
from versions as v
inner join {{ ref('stg_raw__firm_snapshots') }} as f
    on f.uscc = v.uscc
   and f.snapshot_date = v.last_seen_snapshot_date
cross join snapshots as s
