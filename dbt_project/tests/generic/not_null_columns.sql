{#-
  No row has a NULL in any of the given columns. One test per model for all of its required
  columns: a not_null test per column would cost a dbt node (and a Dagster check) each, about a
  tenth of a second of dbt's own time apiece, for the same answer. Each failing row names its NULL
  columns first (null_columns), so the failing sample in audit.check_results says which.
-#}
{% test not_null_columns(model, columns) %}
select
    concat_ws(', ', {% for c in columns %}case when {{ c }} is null then '{{ c }}' end{{ ', ' if not loop.last }}{% endfor %}) as null_columns,
    *
from {{ model }}
where {% for c in columns %}{{ c }} is null{{ ' or ' if not loop.last }}{% endfor %}
{% endtest %}
