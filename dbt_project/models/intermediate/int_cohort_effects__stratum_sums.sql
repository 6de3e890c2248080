-- What every effect estimate is computed from: per cohort, outcome, event time and matching
-- stratum occupied by its participants, the count, sum and sum of squares of the changes
-- from the base year, for the participants and for the never-treated controls.
with treated as (
    select
        cohort_key,
        base_year,
        cohort_year,
        outcome,
        event_time,
        stratum,
        count(*) as n_treated,
        sum({{ exact_change('change') }}) as sum_treated,
        sum({{ exact_change('change') }} * {{ exact_change('change') }}) as sum_squares_treated
    from {{ ref('int_cohort_effects__participant_changes') }}
    group by cohort_key, base_year, cohort_year, outcome, event_time, stratum
)

select
    treated.cohort_key,
    treated.cohort_year,
    treated.outcome,
    treated.event_time,
    treated.stratum,
    treated.n_treated,
    treated.sum_treated,
    treated.sum_squares_treated,
    coalesce(controls.n_controls, 0) as n_controls,
    controls.sum_controls,
    controls.sum_squares_controls
from treated
left join {{ ref('int_cohort_effects__control_sums') }} as controls
    on
        treated.base_year = controls.base_year
        and treated.cohort_year = controls.cohort_year
        and treated.stratum = controls.stratum
        and treated.outcome = controls.outcome
        and treated.event_time = controls.event_time
