-- The controls' side of the difference-in-differences, as sums: per base year, intake year,
-- matching stratum, outcome and event time, the number of never-treated firms with a change
-- and the sum and sum of squares of their changes. Only strata some participant occupies
-- are kept (CEM drops the rest), and the sums are all the estimators need, so the county's
-- whole population never has to be carried firm by firm into the marts.
with occupied_strata as (
    select distinct base_year, cohort_year, stratum
    from {{ ref('int_cohort_effects__participant_changes') }}
),

controls as (
    select
        strata.*,
        occupied_strata.cohort_year
    from {{ ref('int_cohort_effects__base_year_strata') }} as strata
    inner join occupied_strata
        on strata.base_year = occupied_strata.base_year and strata.stratum = occupied_strata.stratum
    where not strata.is_participant
),

changes as (
    {{ changes_from_base_year('controls', ['base_year', 'cohort_year', 'stratum']) }}
),

sums as (
    select
        base_year,
        cohort_year,
        stratum,
        event_time,
        {% for outcome in effect_outcomes() %}
            count({{ outcome }}) as n_{{ outcome }},
            sum({{ exact_change(outcome) }}) as sum_{{ outcome }},
            sum({{ exact_change(outcome) }} * {{ exact_change(outcome) }}) as sum_squares_{{ outcome }}
            {%- if not loop.last %},{% endif %}
        {% endfor %}
    from changes
    group by base_year, cohort_year, stratum, event_time
)

{% for outcome in effect_outcomes() %}
    select
        base_year, cohort_year, stratum, event_time, '{{ outcome }}' as outcome,
        n_{{ outcome }} as n_controls,
        sum_{{ outcome }} as sum_controls,
        sum_squares_{{ outcome }} as sum_squares_controls
    from sums
    where n_{{ outcome }} > 0
    {% if not loop.last %}union all{% endif %}
{% endfor %}
