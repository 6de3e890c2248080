-- The economic key figures per cohort, in the layout of the 2020 evaluation's table
-- (shared/reference/seed_cohort_table.csv), plus the years and firm counts behind them.
-- Levels are for the follow-up year: the latest fiscal year the Bisnode data covers in full
-- (macros/followup_year.sql). Changes compare the follow-up year with the cohort's base
-- year (intake year - 1), over the firms observed in both years.
with firm_years as (
    select
        firm_key,
        fiscal_year,
        net_turnover_tkr,
        employees
    from {{ ref('fct_firm_year') }}
),

followup as (
    {{ followup_year_of('firm_years') }}
),

followup_firm_years as (
    select firm_years.*
    from firm_years
    inner join followup on firm_years.fiscal_year = followup.followup_year
),

cohort_firms as (
    select
        memberships.program,
        memberships.cohort_year,
        memberships.firm_key,
        memberships.cohort_year - 1 as base_year,
        followup.followup_year,
        -- Exact decimals: sums of doubles depend on the order of a parallel scan, and the
        -- same night run twice must publish the same figures.
        cast(base.net_turnover_tkr as decimal(38, 3)) as base_turnover_tkr,
        cast(base.employees as decimal(38, 3)) as base_employees,
        -- A follow-up year not after the base year has no change to report. (A condition in
        -- the select, not the join: equality-only joins stay hash joins.)
        cast(
            case when followup.followup_year > memberships.cohort_year - 1 then latest.net_turnover_tkr end
            as decimal(38, 3)
        ) as followup_turnover_tkr,
        cast(
            case when followup.followup_year > memberships.cohort_year - 1 then latest.employees end
            as decimal(38, 3)
        ) as followup_employees
    from {{ ref('fct_cohort_membership') }} as memberships
    cross join followup
    left join firm_years as base
        on memberships.firm_key = base.firm_key and memberships.cohort_year - 1 = base.fiscal_year
    left join followup_firm_years as latest
        on memberships.firm_key = latest.firm_key
),

summarised as (
    select
        {{ cohort_key('program', 'cohort_year') }} as summary_key,
        program,
        cohort_year,
        false as is_all_cohorts,
        min(base_year) as base_year,
        {{ cohort_summary_measures() }}
    from cohort_firms
    group by program, cohort_year

    union all

    -- "Samtliga insatser" sums the cohorts: a firm in two cohorts counts twice, each time
    -- against its own cohort's base year.
    select
        'Samtliga insatser' as summary_key,
        'Samtliga insatser' as program,
        null as cohort_year,
        true as is_all_cohorts,
        null as base_year,
        {{ cohort_summary_measures() }}
    from cohort_firms
)

select * from summarised
order by is_all_cohorts, program, cohort_year
