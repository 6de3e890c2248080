-- The controls' side of the difference-in-differences, as sums: per base year, intake year,
-- matching stratum, outcome and event time, the number of never-treated firms with a change
-- and the sum and sum of squares of their changes. Only strata some participant occupies
-- are kept (CEM drops the rest), and the sums are all the estimators need, so the county's
-- whole population never has to be carried firm by firm into the marts.
--
-- The same changes as changes_from_base_year gives the participants, computed differently
-- because the controls are the county's population: each control is joined to its firm's
-- years on the firm alone and the years outside the event window are dropped, so the join's
-- hash table holds one row per control rather than one per control and event time. A year
-- missing from the data then has no row; survival, the one change it counts for (as 0),
-- takes its number of controls from the controls themselves.
with occupied_strata as (
    select distinct
        base_year,
        cohort_year,
        stratum
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
    select
        controls.base_year,
        controls.cohort_year,
        controls.stratum,
        cast(later.fiscal_year - controls.cohort_year as bigint) as event_time,
        {{ outcome_changes('controls', 'later', 'later.fiscal_year - controls.cohort_year') }}
    from controls
    inner join {{ ref('int_cohort_effects__firm_year_outcomes') }} as later
        on controls.firm_key = later.firm_key
    where
        later.fiscal_year - controls.cohort_year between {{ first_event_time() }} and {{ last_event_time() }}
        and later.fiscal_year - controls.cohort_year <> -1
        and later.fiscal_year >= {{ first_fiscal_year() }}
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
),

controls_per_stratum as (
    select
        base_year,
        cohort_year,
        stratum,
        count(*) as n_controls
    from controls
    group by base_year, cohort_year, stratum
),

event_times as (
    select unnest(range(0, {{ last_event_time() }} + 1)) as event_time
),

last_year as (
    select max(fiscal_year) as last_fiscal_year from {{ ref('int_cohort_effects__firm_year_outcomes') }}
),

-- Survival counts every control from the intake year on, up to the last year of the data.
survival_counts as (
    select
        strata.base_year,
        strata.cohort_year,
        strata.stratum,
        event_times.event_time,
        strata.n_controls
    from controls_per_stratum as strata
    cross join event_times
    cross join last_year
    where
        strata.cohort_year + event_times.event_time between {{ first_fiscal_year() }}
        and last_year.last_fiscal_year
)

{% for outcome in effect_outcomes() if outcome != 'survival' %}
    select
        base_year,
        cohort_year,
        stratum,
        event_time,
        '{{ outcome }}' as outcome,
        n_{{ outcome }} as n_controls,
        sum_{{ outcome }} as sum_controls,
        sum_squares_{{ outcome }} as sum_squares_controls
    from sums
    where n_{{ outcome }} > 0
    union all
{% endfor %}
select
    survival_counts.base_year,
    survival_counts.cohort_year,
    survival_counts.stratum,
    survival_counts.event_time,
    'survival' as outcome,
    survival_counts.n_controls,
    -- Controls no longer in the data add 0 to the sums.
    coalesce(sums.sum_survival, 0) as sum_controls,
    coalesce(sums.sum_squares_survival, 0) as sum_squares_controls
from survival_counts
left join sums
    on
        survival_counts.base_year = sums.base_year
        and survival_counts.cohort_year = sums.cohort_year
        and survival_counts.stratum = sums.stratum
        and survival_counts.event_time = sums.event_time
