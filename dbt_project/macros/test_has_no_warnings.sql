{#- Fails (at the severity configured) when the model flags any row as a warning. -#}
{% test has_no_warnings(model, column_name) %}
select * from {{ model }} where {{ column_name }}
{% endtest %}
