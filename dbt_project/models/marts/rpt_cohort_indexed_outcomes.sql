-- The event-time picture behind rpt_cohort_effects, as levels: per cohort (and all cohorts
-- stacked, 'Samtliga insatser'), outcome (turnover, employees) and event time, the
-- participants' and the matched controls' outcome indexed to the base year (e = -1 = 100),
-- each with its 95 % interval. The index is the geometric mean of the firms' ratios to their
-- own base year, 100 x exp(mean log change), over the same matched strata and CEM weights as
-- rpt_cohort_effects, so participants / controls = exp(effect) of that mart. The base year
-- itself is 100 by definition and has no row.
with matched_strata as (
    -- Only strata with participants and controls: the matched sample, with the variances
    -- rpt_cohort_effects uses (a side of one firm borrows one).
    select
        cohort_key,
        cohort_year,
        outcome,
        event_time,
        n_treated,
        n_controls,
        cast(sum_treated as double) / n_treated as mean_treated,
        cast(sum_controls as double) / n_controls as mean_controls,
        var_treated,
        var_controls
    from {{ ref('int_cohort_effects__stratum_sums') }}
    where outcome in ('turnover', 'employees') and n_controls > 0
),

levels as (
    -- One cohort, and all cohorts stacked: each cohort keeps its own strata and base year.
    select
        coalesce(cohort_key, 'Samtliga insatser') as cohort_key,
        cohort_key is null as is_all_cohorts,
        outcome,
        event_time,
        min(cohort_year + event_time) as first_fiscal_year,
        max(cohort_year + event_time) as last_fiscal_year,
        sum(n_treated) as n_treated_matched,
        sum(n_controls) as n_matched_controls,
        sum(n_treated * mean_treated) / sum(n_treated) as mean_treated,
        sqrt(sum(n_treated * var_treated)) / sum(n_treated) as se_treated,
        sum(n_treated * mean_controls) / sum(n_treated) as mean_controls,
        sqrt(sum(n_treated * n_treated * var_controls / n_controls)) / sum(n_treated) as se_controls
    from matched_strata
    group by grouping sets ((cohort_key, outcome, event_time), (outcome, event_time))
),

groups as (
    select
        cohort_key,
        is_all_cohorts,
        outcome,
        event_time,
        first_fiscal_year,
        last_fiscal_year,
        n_treated_matched,
        'participants' as comparison_group,
        n_treated_matched as n_firms,
        mean_treated as mean_log_change,
        se_treated as standard_error
    from levels
    union all
    select
        cohort_key,
        is_all_cohorts,
        outcome,
        event_time,
        first_fiscal_year,
        last_fiscal_year,
        n_treated_matched,
        'matched_controls' as comparison_group,
        n_matched_controls as n_firms,
        mean_controls as mean_log_change,
        se_controls as standard_error
    from levels
)

select
    groups.cohort_key || ' ' || groups.outcome || ' ' || groups.comparison_group || ' ' || groups.event_time
        as indexed_outcome_key,
    groups.cohort_key,
    coalesce(cohorts.program, groups.cohort_key) as program,
    cohorts.cohort_year,
    groups.is_all_cohorts,
    groups.outcome,
    groups.comparison_group,
    groups.event_time,
    groups.first_fiscal_year,
    groups.last_fiscal_year,
    {{ suppressed('round(100 * exp(groups.mean_log_change), 1)', 'groups.n_treated_matched') }} as index_value,
    {{ suppressed(
        'round(100 * exp(groups.mean_log_change - 1.96 * groups.standard_error), 1)', 'groups.n_treated_matched'
    ) }}
        as ci_low,
    {{ suppressed(
        'round(100 * exp(groups.mean_log_change + 1.96 * groups.standard_error), 1)', 'groups.n_treated_matched'
    ) }}
        as ci_high,
    cast(groups.n_firms as bigint) as n_firms,
    cast(groups.n_treated_matched as bigint) as n_treated_matched,
    groups.n_treated_matched < {{ var('min_firms_shown', 5) }} as is_suppressed,
    case
        when groups.n_treated_matched < {{ var('min_firms_shown', 5) }}
            then 'fewer than {{ var("min_firms_shown", 5) }} matched participants: figure hidden'
    end as suppression_reason
from groups
left join {{ ref('dim_cohort') }} as cohorts on groups.cohort_key = cohorts.cohort_key
