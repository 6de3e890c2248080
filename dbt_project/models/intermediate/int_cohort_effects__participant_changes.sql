-- The participants' side of the difference-in-differences: per cohort, each participant
-- observed with a positive turnover in the base year, its matching stratum, and per outcome
-- and event time e = -3..+5 its change from the base year (e = -1).
with {{ event_time_window() }},

participants as (
    select
        cohorts.cohort_key,
        cohorts.program,
        cohorts.cohort_year,
        strata.*
    from {{ ref('fct_cohort_membership') }} as memberships
    inner join {{ ref('dim_cohort') }} as cohorts on memberships.cohort_key = cohorts.cohort_key
    inner join {{ ref('int_cohort_effects__base_year_strata') }} as strata
        on memberships.firm_key = strata.firm_key and cohorts.base_year = strata.base_year
),

changes as (
    select
        participants.cohort_key,
        participants.program,
        participants.cohort_year,
        participants.base_year,
        participants.firm_key,
        participants.stratum,
        event_times.event_time,
        {{ outcome_changes('participants', 'later', 'event_times.event_time') }}
    from participants
    cross join event_times
    cross join last_year
    left join {{ ref('int_cohort_effects__firm_year_outcomes') }} as later
        on participants.firm_key = later.firm_key and participants.cohort_year + event_times.event_time = later.fiscal_year
    where
        event_times.event_time <> -1
        and participants.cohort_year + event_times.event_time between {{ var('first_fiscal_year', 1990) }}
        and last_year.last_fiscal_year
)

{% for outcome in effect_outcomes() %}
    select
        cohort_key, program, cohort_year, base_year, firm_key, stratum, event_time,
        '{{ outcome }}' as outcome, {{ outcome }} as change
    from changes
    where {{ outcome }} is not null
    {% if not loop.last %}union all{% endif %}
{% endfor %}
