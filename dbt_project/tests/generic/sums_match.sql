{#-
  Reconciliation: the sum of column_name in the model (rows matching model_condition) equals the sum
  of compare_column in compare_model (rows matching compare_condition), within tolerance.
  Used to prove that published totals equal the sums of the current source rows they come from.
  Sums are fsum (compensated): a plain double sum depends on the order DuckDB's threads add the
  rows in, and over a province's bills (sums near 1e11 yuan) it drifts run to run by up to ~1e-3.
-#}
{% test sums_match(model, column_name, compare_model, compare_column, model_condition='1 = 1', compare_condition='1 = 1', tolerance=0.001) %}
with published as (
    select fsum(cast({{ column_name }} as double)) as total from {{ model }} where {{ model_condition }}
),
source_rows as (
    select fsum(cast({{ compare_column }} as double)) as total from {{ compare_model }} where {{ compare_condition }}
)
select published.total as published_total, source_rows.total as source_total
from published
cross join source_rows
where abs(coalesce(published.total, 0) - coalesce(source_rows.total, 0)) > {{ tolerance }}
   or (published.total is null) <> (source_rows.total is null)
{% endtest %}
