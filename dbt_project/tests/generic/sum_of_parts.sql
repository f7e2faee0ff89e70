{#- Row-level: the column equals the sum of the part columns (NULL parts count as 0) within tolerance, when all required values are present. -#}
{% test sum_of_parts(model, column_name, parts, tolerance=0.001) %}
select *
from {{ model }}
where {{ column_name }} is not null
  and abs({{ column_name }} - ({% for p in parts %}coalesce({{ p }}, 0){{ ' + ' if not loop.last }}{% endfor %})) > {{ tolerance }}
{% endtest %}
