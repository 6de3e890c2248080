-- Tillväxtverket's indicator report: per program and year, targets (from the operators'
-- targets deliveries) and outcomes split women / men / total, in the layout of
-- shared/reference/seed_indicators.csv. A year's outcomes are those of the cohort taken in
-- that year, measured {{ var('indicator_followup_years', 1) }} year(s) after intake against its base year.
with outcomes as (
    select
        program,
        cohort_year as indicator_year,
        leader_gender,
        n_firms,
        n_with_new_market,
        n_growing_on_existing_market,
        n_increased_export
    from {{ ref('rpt_export_outcomes') }}
    where event_time = {{ var('indicator_followup_years', 1) }}
),

participating as (
    select
        program,
        cohort_year as indicator_year,
        coalesce(leader_gender, 'okänd') as leader_gender,
        count(*) as n
    from {{ ref('fct_cohort_membership') }}
    group by all
    union all
    select
        program,
        cohort_year as indicator_year,
        'totalt' as leader_gender,
        count(*) as n
    from {{ ref('fct_cohort_membership') }}
    group by all
),

long as (
    select
        program,
        indicator_year,
        leader_gender,
        '{{ measured_indicators().participating }}' as indicator,
        n as outcome
    from participating
    union all
    select
        program,
        indicator_year,
        leader_gender,
        '{{ measured_indicators().new_market }}' as indicator,
        n_with_new_market as outcome
    from outcomes
    union all
    select
        program,
        indicator_year,
        leader_gender,
        '{{ measured_indicators().growing_on_existing_market }}' as indicator,
        n_growing_on_existing_market as outcome
    from outcomes
    union all
    select
        program,
        indicator_year,
        leader_gender,
        '{{ measured_indicators().increased_export }}' as indicator,
        n_increased_export as outcome
    from outcomes
),

wide as (
    select
        program,
        indicator_year,
        indicator,
        sum(outcome) filter (where leader_gender = 'kvinna') as outcome_women,
        sum(outcome) filter (where leader_gender = 'man') as outcome_men,
        sum(outcome) filter (where leader_gender = 'totalt') as outcome_total
    from long
    group by all
),

targets as (
    select *
    from {{ ref('int_operators__targets_deduplicated') }}
)

select
    coalesce(wide.program, targets.program) || ' ' || coalesce(wide.indicator_year, targets.target_year)
    || ' ' || coalesce(wide.indicator, targets.indicator) as indicator_key,
    coalesce(wide.program, targets.program) as program,
    coalesce(wide.indicator_year, targets.target_year) as year,
    coalesce(wide.indicator, targets.indicator) as indicator,
    case
        when coalesce(wide.indicator, targets.indicator) = '{{ measured_indicators().increased_export }}'
            then 'egen indikator'
        else 'resultatindikator'
    end as kind,
    targets.target_women,
    targets.target_men,
    targets.target_total,
    -- A target with no measured outcome row gets no outcome (not 0, which would read as a
    -- target missed): an indicator the warehouse does not measure (rpt_data_quality_warnings
    -- lists those targets), a year with no cohort, or a cohort whose follow-up year is not yet
    -- in the Bisnode data. Where the outcome is measured, a gender with no firm counts 0.
    case when wide.indicator is not null then cast(coalesce(wide.outcome_women, 0) as bigint) end as outcome_women,
    case when wide.indicator is not null then cast(coalesce(wide.outcome_men, 0) as bigint) end as outcome_men,
    case when wide.indicator is not null then cast(coalesce(wide.outcome_total, 0) as bigint) end as outcome_total,
    case
        when wide.indicator is not null
            then round(100.0 * coalesce(wide.outcome_total, 0) / nullif(targets.target_total, 0), 1)
    end as share_of_target_met_pct
from wide
full outer join targets
    on
        wide.program = targets.program
        and wide.indicator_year = targets.target_year
        and wide.indicator = targets.indicator
