{#- Sums over centers, written once (docs/tables.md, "Sums over centers" and "Carry-forward"). -#}

{#- Total compute: the known parts added; NULL only when all three are unknown. -#}
{% macro compute_total(general, ai, hpc) -%}
    case
        when {{ general }} is null and {{ ai }} is null and {{ hpc }} is null then null
        else coalesce({{ general }}, 0) + coalesce({{ ai }}, 0) + coalesce({{ hpc }}, 0)
    end
{%- endmacro %}

{#- The stock figures of a group of int_center_month_stock rows (one row per center expected in a
    month): centers reporting and carried forward, racks, the two sides of utilisation (centers that
    give both racks built and in use) and compute by type. -#}
{% macro center_stock_sums() -%}
    sum(case when is_carried_forward then 0 else 1 end) as centers_reporting,
    sum(case when is_carried_forward then 1 else 0 end) as centers_carried_forward,
    sum(racks_built) as racks_built,
    sum(racks_in_use) as racks_in_use,
    sum(case when racks_built is not null and racks_in_use is not null then racks_in_use end) as util_in_use,
    sum(case when racks_built is not null and racks_in_use is not null then racks_built end) as util_built,
    sum(compute_general_pflops) as compute_general_pflops,
    sum(compute_ai_pflops) as compute_ai_pflops,
    sum(compute_hpc_pflops) as compute_hpc_pflops
{%- endmacro %}
