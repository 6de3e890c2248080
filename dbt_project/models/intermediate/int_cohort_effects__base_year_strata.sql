-- Every firm observed with a positive turnover in a base year of some cohort, with its
-- coarsened-exact-matching stratum (county x SNI section x size class x age band x turnover
-- band, all as of the base year: a later sector may be the program's doing) and its base-year
-- outcomes. The county comes first: a participant is matched only with firms of its own
-- county, so a warehouse covering several counties gives each region its own county's
-- population as the control pool. Built once per base year, not once per cohort: cohorts of
-- the same year share their never-treated controls.
with base_years as (
    select distinct base_year from {{ ref('dim_cohort') }}
)

select
    outcomes.firm_key,
    base_years.base_year,
    concat_ws(
        '|',
        coalesce(outcomes.county_code, '?'),
        coalesce(outcomes.sni_section, '?'),
        coalesce({{ scb_size_class('outcomes.employees') }}, '?'),
        coalesce({{ age_band('base_years.base_year - firms.registration_year') }}, '?'),
        {{ turnover_band('outcomes.net_turnover_tkr') }}
    ) as stratum,
    firms.is_participant,
    outcomes.log_turnover,
    outcomes.log_employees,
    outcomes.log_export_turnover,
    outcomes.n_markets
from base_years
inner join {{ ref('int_cohort_effects__firm_year_outcomes') }} as outcomes
    on base_years.base_year = outcomes.fiscal_year
inner join {{ ref('dim_firm') }} as firms on outcomes.firm_key = firms.firm_key
where outcomes.net_turnover_tkr > 0
