{#-
  Lineage of every published model (schemas marts and audit), read from the dbt graph at run time:
  one row per published table x upstream node (direct parent or further ancestor), with the raw
  source kind when the upstream is a raw.* source table. Renders a UNION ALL of typed literal rows.
-#}
{% macro raw_table_source_kind(table_name) -%}
    {%- set kinds = {'dc_ledger': 'dc_ledger', 'projects': 'projects', 'economics': 'economics',
                     'plans': 'plans', 'registry': 'registry', 'power_bills': 'power'} -%}
    {{- return(kinds.get(table_name)) -}}
{%- endmacro %}

{% macro lineage_rows(published_schemas=['marts', 'audit'], max_depth=50) -%}
    {%- set rows = [] -%}
    {%- if execute -%}
        {%- for node in graph.nodes.values() | sort(attribute='unique_id') -%}
            {%- if node.resource_type == 'model' and node.schema in published_schemas -%}
                {%- set direct = node.depends_on.nodes -%}
                {%- set walk = namespace(frontier=direct | list) -%}
                {%- set seen = [] -%}
                {%- for _ in range(max_depth) -%}
                    {%- set next_frontier = [] -%}
                    {%- for uid in walk.frontier -%}
                        {%- if uid not in seen -%}
                            {%- do seen.append(uid) -%}
                            {%- if uid in graph.nodes -%}
                                {%- for parent in graph.nodes[uid].depends_on.nodes -%}
                                    {%- do next_frontier.append(parent) -%}
                                {%- endfor -%}
                            {%- endif -%}
                        {%- endif -%}
                    {%- endfor -%}
                    {%- set walk.frontier = next_frontier -%}
                {%- endfor -%}
                {%- for uid in seen | sort -%}
                    {%- set up_relation = none -%}
                    {%- if uid in graph.nodes -%}
                        {%- set up = graph.nodes[uid] -%}
                        {%- set up_relation = up.schema ~ '.' ~ (up.alias or up.name) -%}
                        {%- set up_type = up.resource_type -%}
                        {%- set up_kind = none -%}
                    {%- elif uid in graph.sources -%}
                        {%- set up = graph.sources[uid] -%}
                        {%- set up_relation = up.schema ~ '.' ~ (up.identifier or up.name) -%}
                        {%- set up_type = 'source' -%}
                        {%- set up_kind = raw_table_source_kind(up.name) if up.source_name == 'raw' else none -%}
                    {%- endif -%}
                    {%- if up_relation is not none -%}
                    {%- do rows.append({
                        'table_schema': node.schema,
                        'table_name': node.alias or node.name,
                        'model_name': node.name,
                        'upstream': up_relation,
                        'upstream_type': up_type,
                        'upstream_unique_id': uid,
                        'is_direct': uid in direct,
                        'source_kind': up_kind}) -%}
                    {%- endif -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if rows | length == 0 %}
    select
        cast(null as {{ dbt.type_string() }}) as table_schema,
        cast(null as {{ dbt.type_string() }}) as table_name,
        cast(null as {{ dbt.type_string() }}) as model_name,
        cast(null as {{ dbt.type_string() }}) as upstream,
        cast(null as {{ dbt.type_string() }}) as upstream_type,
        cast(null as {{ dbt.type_string() }}) as upstream_unique_id,
        cast(null as boolean) as is_direct,
        cast(null as {{ dbt.type_string() }}) as source_kind
    where 1 = 0
    {%- else -%}
    {%- for r in rows %}
    select
        cast({{ dbt.string_literal(r.table_schema) }} as {{ dbt.type_string() }}) as table_schema,
        cast({{ dbt.string_literal(r.table_name) }} as {{ dbt.type_string() }}) as table_name,
        cast({{ dbt.string_literal(r.model_name) }} as {{ dbt.type_string() }}) as model_name,
        cast({{ dbt.string_literal(r.upstream) }} as {{ dbt.type_string() }}) as upstream,
        cast({{ dbt.string_literal(r.upstream_type) }} as {{ dbt.type_string() }}) as upstream_type,
        cast({{ dbt.string_literal(r.upstream_unique_id) }} as {{ dbt.type_string() }}) as upstream_unique_id,
        {{ 'true' if r.is_direct else 'false' }} as is_direct,
        cast({{ dbt.string_literal(r.source_kind) if r.source_kind else 'null' }} as {{ dbt.type_string() }}) as source_kind
    {%- if not loop.last %}
    union all
    {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
