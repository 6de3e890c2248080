{#- The Tillväxtverket indicators the warehouse measures, by what they count, named as in
    shared/reference/seed_indicators.csv. Targets may name other indicators too (the
    operators' own); those have no measured outcome. -#}
{% macro measured_indicators() -%}
    {{ return({
        'participating': 'Antal deltagande företag',
        'new_market': 'Antal företag som går in på en exportmarknad',
        'growing_on_existing_market': 'Antal företag som växer på befintlig marknad',
        'increased_export': 'Antal företag som ökar sin exportomsättning',
    }) }}
{%- endmacro %}

{#- Their names as a SQL list literal. -#}
{% macro measured_indicator_list() -%}
    [
    {%- for name in measured_indicators().values() %}
        '{{ name }}'{% if not loop.last %},{% endif %}
    {%- endfor %}
    ]
{%- endmacro %}
