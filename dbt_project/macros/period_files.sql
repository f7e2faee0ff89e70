{#-
  File-level supersession for sources delivered one period per file (dc_ledger and projects: report
  month; plans: plan year; registry: snapshot date). Returns a SELECT of one row per loaded file x
  period it covers: source_kind, period_start, file_sha256, path, delivery_seq, recency_rank,
  is_current, current_file_sha256, current_path. The periods come from the rows themselves
  (period_expression over raw_relation); for a loaded file without any loaded row (all refused),
  from the manifest's period, so it still replaces the earlier file of its period. A later loaded file in delivery order
  for the same period replaces the earlier one as a whole: only is_current files are used.
-#}
{% macro period_files(source_kind, raw_relation, period_expression) -%}
    with pf_loaded_files as (
        select file_sha256, path, source_kind, delivery_seq, period_start
        from {{ ref('stg_ops__files') }}
        where status = 'loaded'
          and source_kind = '{{ source_kind }}'
    ),

    pf_row_periods as (
        select distinct file_sha256, {{ period_expression }} as period_start
        from {{ raw_relation }}
    ),

    pf_file_periods as (
        select file_sha256, period_start
        from pf_row_periods
        union all
        -- a loaded file without any loaded row (all refused) still replaces its period, per the manifest
        select lf.file_sha256, lf.period_start
        from pf_loaded_files as lf
        left join (select distinct file_sha256 from pf_row_periods) as with_rows
            on with_rows.file_sha256 = lf.file_sha256
        where lf.period_start is not null
          and with_rows.file_sha256 is null
    ),

    pf_ranked as (
        select
            '{{ source_kind }}' as source_kind,
            fp.period_start,
            fp.file_sha256,
            lf.path,
            lf.delivery_seq,
            row_number() over (
                partition by fp.period_start order by lf.delivery_seq desc
            ) as recency_rank,
            first_value(lf.file_sha256) over (
                partition by fp.period_start order by lf.delivery_seq desc
                rows between unbounded preceding and unbounded following
            ) as current_file_sha256,
            first_value(lf.path) over (
                partition by fp.period_start order by lf.delivery_seq desc
                rows between unbounded preceding and unbounded following
            ) as current_path
        from pf_file_periods as fp
        inner join pf_loaded_files as lf
            on lf.file_sha256 = fp.file_sha256
    )

    select
        source_kind,
        period_start,
        file_sha256,
        path,
        delivery_seq,
        recency_rank,
        recency_rank = 1 as is_current,
        current_file_sha256,
        current_path
    from pf_ranked
{%- endmacro %}
