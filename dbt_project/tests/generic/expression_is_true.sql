{#- Every row satisfies a boolean SQL expression (NULL counts as not failing only if allow_null). -#}
{% test expression_is_true(model, expression, allow_null=true) %}
select *
from {{ model }}
where not ({{ expression }})
{%- if not allow_null %}
   or ({{ expression }}) is null
{%- endif %}
{% endtest %}
