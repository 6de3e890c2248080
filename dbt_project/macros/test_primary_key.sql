{#- A primary key, one column or several: no part of it is null, and no two rows share it.
    One pass over the model, where separate unique and not_null tests would take one each. -#}
{% test primary_key(model, columns) %}
select {{ columns | join(', ') }}, count(*) as n_rows
from {{ model }}
group by {{ columns | join(', ') }}
having count(*) > 1 or {% for column in columns %}{{ column }} is null{% if not loop.last %} or {% endif %}{% endfor %}
{% endtest %}
