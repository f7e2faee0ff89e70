{#-
  Firm identification for bureau rows. Given a relation (CTE) with a firm-name column and a uscc
  column, returns a SELECT of all its columns plus (rf_name_key is a helper: ignore it):
    firm_name_normalized  name with brackets half width and all whitespace removed
    uscc_is_usable        the given uscc is a valid GB 32100 code, or a code the registry carries
                          (allow-listed legacy codes fail the checksum but are in the registry)
    candidate_count       registry usccs whose current or former name (any snapshot) matches
    candidate_usccs       those usccs, ', ' separated
    resolved_uscc         the given uscc when usable, else the single candidate, else NULL
    resolution_status     uscc / name / ambiguous_name / unmatched_name / invalid_uscc_no_name / not_given
  A name that matches no firm, or several, stays unresolved: never guessed. Set-based: names are
  matched once per distinct normalised name.
-#}
{% macro resolve_firms(relation, name_column, uscc_column) -%}
    with rf_input as (
        select * from {{ relation }}
    ),

    -- only the usccs the input gives: a distinct over every registry row (1M firms x snapshots) is
    -- the costly part, a semi-join on the input's few codes is cheap
    rf_registry_usccs as (
        select distinct uscc from {{ ref('stg_raw__firm_snapshots') }}
        where uscc in (select {{ uscc_column }} from rf_input)
    ),

    rf_normalized as (
        select
            rf_input.*,
            {{ normalize_text_key('rf_input.' ~ name_column) }} as rf_name_key
        from rf_input
    ),

    rf_checked as (
        select
            rf_normalized.*,
            nullif(rf_normalized.rf_name_key, '') as firm_name_normalized,
            case
                when rf_normalized.{{ uscc_column }} is null then false
                when {{ uscc_is_valid('rf_normalized.' ~ uscc_column) }} then true
                when rf_known.uscc is not null then true
                else false
            end as uscc_is_usable
        from rf_normalized
        left join rf_registry_usccs as rf_known
            on rf_known.uscc = rf_normalized.{{ uscc_column }}
    ),

    rf_names as (
        select distinct firm_name_normalized as name_normalized
        from rf_checked
        where not uscc_is_usable and firm_name_normalized is not null
    ),

    rf_matches as (
        select
            idx.name_normalized,
            count(*) as candidate_count,
            min(idx.uscc) as first_candidate_uscc,
            {{ dbt.listagg('idx.uscc', "', '", 'order by idx.uscc') }} as candidate_usccs
        from {{ ref('int_firm_name_index') }} as idx
        inner join rf_names
            on rf_names.name_normalized = idx.name_normalized
        group by idx.name_normalized
    )

    select
        rf_checked.*,
        case when rf_checked.uscc_is_usable then 0 else coalesce(rf_matches.candidate_count, 0) end as candidate_count,
        case when rf_checked.uscc_is_usable then null else rf_matches.candidate_usccs end as candidate_usccs,
        case
            when rf_checked.uscc_is_usable then rf_checked.{{ uscc_column }}
            when rf_matches.candidate_count = 1 then rf_matches.first_candidate_uscc
        end as resolved_uscc,
        case
            when rf_checked.uscc_is_usable then 'uscc'
            when rf_matches.candidate_count = 1 then 'name'
            when rf_matches.candidate_count > 1 then 'ambiguous_name'
            when rf_checked.firm_name_normalized is not null then 'unmatched_name'
            when rf_checked.{{ uscc_column }} is not null then 'invalid_uscc_no_name'
            else 'not_given'
        end as resolution_status
    from rf_checked
    left join rf_matches
        on rf_matches.name_normalized = rf_checked.firm_name_normalized
{%- endmacro %}
