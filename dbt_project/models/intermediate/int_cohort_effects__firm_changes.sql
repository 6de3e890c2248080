-- The difference-in-differences panel: for every cohort, its participants and the county's
-- never-treated firms, each with its coarsened-exact-matching stratum (base-year SNI section
-- x size class x age band x turnover band) and, per outcome and event time e = -3..+5, the
-- change from the base year (e = -1). Outcomes: log turnover, log(1 + employees),
-- log(1 + export turnover), number of export markets, and survival (1 while in the data).
with cohorts as (
    select cohort_key, program, cohort_year, base_year from {{ ref('dim_cohort') }}
),

markets as (
    select firm_key, market_year, count(distinct country_code) as n_markets
    from {{ ref('int_export_markets__deduplicated') }}
    group by firm_key, market_year
),

firm_years as (
    select
        firm_years.firm_key,
        firm_years.fiscal_year,
        firm_years.net_turnover_tkr,
        firm_years.employees,
        firm_years.export_turnover_tkr,
        coalesce(markets.n_markets, 0) as n_markets
    from {{ ref('fct_firm_year') }} as firm_years
    left join markets
        on firm_years.firm_key = markets.firm_key and firm_years.fiscal_year = markets.market_year
),

eligible as (
    -- Firms observed with a positive turnover in the cohort's base year: participants of
    -- the cohort, and firms that never took part in any cohort.
    select
        cohorts.cohort_key,
        cohorts.program,
        cohorts.cohort_year,
        firm_years.firm_key,
        memberships.firm_key is not null as is_treated,
        concat_ws(
            '|',
            coalesce(firms.sni_section, '?'),
            {{ scb_size_class('firm_years.employees') }},
            coalesce({{ age_band('cohorts.base_year - firms.registration_year') }}, '?'),
            {{ turnover_band('firm_years.net_turnover_tkr') }}
        ) as stratum,
        firm_years.fiscal_year as base_year
    from cohorts
    inner join firm_years on cohorts.base_year = firm_years.fiscal_year
    inner join {{ ref('dim_firm') }} as firms on firm_years.firm_key = firms.firm_key
    left join {{ ref('fct_cohort_membership') }} as memberships
        on firm_years.firm_key = memberships.firm_key and cohorts.cohort_key = memberships.cohort_key
    where
        firm_years.net_turnover_tkr > 0
        and (memberships.firm_key is not null or not firms.is_participant)
),

event_times as (
    select unnest(range(-3, 6)) as event_time
),

last_year as (
    select max(fiscal_year) as last_fiscal_year from firm_years
),

outcomes as (
    select
        eligible.cohort_key,
        eligible.program,
        eligible.cohort_year,
        eligible.firm_key,
        eligible.is_treated,
        eligible.stratum,
        event_times.event_time,
        ln(nullif(later.net_turnover_tkr, 0)) - ln(base.net_turnover_tkr) as turnover_log_change,
        ln(1 + later.employees) - ln(1 + base.employees) as employees_log_change,
        ln(1 + later.export_turnover_tkr) - ln(1 + base.export_turnover_tkr) as export_log_change,
        later.n_markets - base.n_markets as markets_change,
        -- Survival: still in the data in that year (only for years the data covers).
        case when later.firm_key is not null then 1.0 else 0.0 end as survival_change
    from eligible
    cross join event_times
    cross join last_year
    inner join firm_years as base
        on eligible.firm_key = base.firm_key and eligible.base_year = base.fiscal_year
    left join firm_years as later
        on eligible.firm_key = later.firm_key and eligible.cohort_year + event_times.event_time = later.fiscal_year
    where
        event_times.event_time <> -1
        and eligible.cohort_year + event_times.event_time between {{ var('first_fiscal_year', 1990) }}
        and last_year.last_fiscal_year
)

{% set outcomes = {
    'turnover': 'turnover_log_change',
    'employees': 'employees_log_change',
    'export_turnover': 'export_log_change',
    'export_markets': 'markets_change',
    'survival': 'survival_change',
} %}
{% for outcome, column in outcomes.items() %}
select cohort_key, program, cohort_year, firm_key, is_treated, stratum, event_time,
    '{{ outcome }}' as outcome, {{ column }} as change
from outcomes
where {{ column }} is not null
    {%- if outcome == 'survival' %} and event_time >= 0{% endif %}
{% if not loop.last %}union all{% endif %}
{% endfor %}
