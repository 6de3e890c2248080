{#- A cohort is one program's intake in one year: "Gå globalt 2016". -#}
{% macro cohort_key(program, cohort_year) -%}
    ({{ program }} || ' ' || cast({{ cohort_year }} as varchar))
{%- endmacro %}
