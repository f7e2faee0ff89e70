{#-
  Post-hook of every published model (marts, audit): one row in ops.model_builds per build, so
  publication can tell which published tables are unchanged since the previous publication and
  reuse them instead of copying them again (orchestration/publish.py). Any dbt build stamps the
  table, by the orchestration or by hand.

  The table is created once, before any model runs (on-run-start: ensure_model_builds): created
  from the post-hooks, dbt's threads raced to create it on a new warehouse ("Catalog write-write
  conflict on create ... ops.model_builds").
-#}
{% macro ensure_model_builds() -%}
    create schema if not exists ops;
    create table if not exists ops.model_builds (
        relation varchar not null, invocation_id varchar not null, built_at timestamp not null
    )
{%- endmacro %}

{% macro record_build() -%}
    insert into ops.model_builds
    values ('{{ this.schema }}.{{ this.identifier }}', '{{ invocation_id }}', current_localtimestamp())
{%- endmacro %}
