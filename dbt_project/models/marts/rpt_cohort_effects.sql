-- The counterfactual: for every cohort, outcome and event time e = -3..+5, the
-- difference-in-differences effect against the base year (e = -1), with participants matched
-- to never-treated county firms by coarsened exact matching (CEM) on base-year SNI section x
-- size class x age band x turnover band. Controls are weighted by stratum so that they stand
-- for the participants' mix (the CEM weights Tillväxtanalys uses). The 95 % interval uses the
-- analytic variance of this stratified difference in means (a side of one firm borrows a
-- variance: int_cohort_effects__stratum_sums); each firm is one independent unit. Rows with
-- e = -3, -2 are the pre-trend: their effect should be near zero.
with strata as (
    select
        cohort_key,
        outcome,
        event_time,
        stratum,
        n_treated,
        n_controls,
        cast(sum_treated as double) / nullif(n_treated, 0) as mean_treated,
        cast(sum_controls as double) / nullif(n_controls, 0) as mean_controls,
        var_treated,
        var_controls
    from {{ ref('int_cohort_effects__stratum_sums') }}
),

estimates as (
    select
        cohort_key,
        outcome,
        event_time,
        sum(n_treated) as n_treated,
        sum(n_treated) filter (where n_controls > 0) as n_treated_matched,
        sum(n_controls) filter (where n_treated > 0) as n_matched_controls,
        sum(n_treated * mean_treated) / nullif(sum(n_treated), 0) as naive_change,
        sum(n_treated * (mean_treated - mean_controls)) filter (where n_treated > 0 and n_controls > 0)
        / nullif(sum(n_treated) filter (where n_controls > 0), 0) as effect,
        sqrt(
            sum(
                n_treated * n_treated * (
                    var_treated / n_treated + var_controls / n_controls
                )
            ) filter (where n_treated > 0 and n_controls > 0)
        ) / nullif(sum(n_treated) filter (where n_controls > 0), 0) as standard_error
    from strata
    group by cohort_key, outcome, event_time
    -- An event time no participant reached (beyond the data) has nothing to estimate.
    having sum(n_treated) > 0
),

labelled as (
    select
        cohorts.program,
        cohorts.cohort_year,
        estimates.*,
        estimates.event_time < -1 as is_pre_trend,
        cohorts.cohort_year + estimates.event_time as fiscal_year,
        1.0 - coalesce(estimates.n_treated_matched, 0) / estimates.n_treated as share_unmatched,
        case
            when estimates.outcome in ('turnover', 'employees', 'export_turnover') then 'log points'
            when estimates.outcome = 'export_markets' then 'markets'
            else 'share of firms'
        end as effect_unit,
        estimates.outcome in ('turnover', 'employees', 'export_turnover') as is_log_outcome
    from estimates
    inner join {{ ref('dim_cohort') }} as cohorts on estimates.cohort_key = cohorts.cohort_key
)

select
    cohort_key || ' ' || outcome || ' ' || event_time as effect_key,
    cohort_key,
    program,
    cohort_year,
    outcome,
    event_time,
    fiscal_year,
    is_pre_trend,
    effect_unit,
    {{ suppressed('round(effect, 4)', 'n_treated_matched') }} as effect,
    {{ suppressed('round(effect - 1.96 * standard_error, 4)', 'n_treated_matched') }} as ci_low,
    {{ suppressed('round(effect + 1.96 * standard_error, 4)', 'n_treated_matched') }} as ci_high,
    {{ suppressed('round(case when is_log_outcome then 100 * (exp(effect) - 1) end, 1)', 'n_treated_matched') }}
        as effect_pct,
    {{ suppressed(
        'round(case when is_log_outcome then 100 * (exp(effect - 1.96 * standard_error) - 1) end, 1)',
        'n_treated_matched'
    ) }}
        as ci_low_pct,
    {{ suppressed(
        'round(case when is_log_outcome then 100 * (exp(effect + 1.96 * standard_error) - 1) end, 1)',
        'n_treated_matched'
    ) }}
        as ci_high_pct,
    {{ suppressed('round(naive_change, 4)', 'n_treated') }} as naive_change,
    cast(n_treated as bigint) as n_treated,
    cast(coalesce(n_treated_matched, 0) as bigint) as n_treated_matched,
    cast(coalesce(n_matched_controls, 0) as bigint) as n_matched_controls,
    round(share_unmatched, 3) as share_unmatched,
    coalesce(n_treated_matched, 0) < {{ var('min_firms_shown', 5) }} as is_suppressed,
    case
        when coalesce(n_treated_matched, 0) < {{ var('min_firms_shown', 5) }}
            then 'fewer than {{ var("min_firms_shown", 5) }} matched participants: figure hidden'
    end as suppression_reason
from labelled
