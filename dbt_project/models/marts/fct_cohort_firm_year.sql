-- Event time per firm, cohort and fiscal year: e = fiscal year - intake year g, base year g - 1.
-- A firm in several cohorts has one row per cohort for each of its fiscal years.
select
    memberships.firm_key,
    memberships.cohort_key,
    memberships.program,
    memberships.cohort_year,
    memberships.cohort_year - 1 as base_year,
    firm_years.fiscal_year,
    firm_years.fiscal_year - memberships.cohort_year as event_time,
    base.firm_key is not null as is_observed_in_base_year,
    firm_years.net_turnover_tkr,
    firm_years.employees,
    firm_years.export_turnover_tkr
from {{ ref('fct_cohort_membership') }} as memberships
inner join {{ ref('fct_firm_year') }} as firm_years on memberships.firm_key = firm_years.firm_key
left join {{ ref('fct_firm_year') }} as base
    on memberships.firm_key = base.firm_key and memberships.cohort_year - 1 = base.fiscal_year
