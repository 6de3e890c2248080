-- The participants' side of the difference-in-differences: per cohort, each participant
-- observed with a positive turnover in the base year, its matching stratum, and per outcome
-- and event time e = -3..+5 its change from the base year (e = -1).
with participants as (
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
    {{ changes_from_base_year(
        'participants', ['cohort_key', 'program', 'cohort_year', 'base_year', 'firm_key', 'stratum']
    ) }}
)

{% for outcome in effect_outcomes() %}
    select
        cohort_key, program, cohort_year, base_year, firm_key, stratum, event_time,
        '{{ outcome }}' as outcome, {{ outcome }} as change
    from changes
    where {{ outcome }} is not null
    {% if not loop.last %}union all{% endif %}
{% endfor %}
