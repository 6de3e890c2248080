-- One row per firm and fiscal year: the financial outcomes every metric is built from, and the
-- number of export markets the follow-up survey lists for the year.
with markets as (
    -- The deduplicated markets hold one row per firm, year and country (their primary-key
    -- test), so counting rows counts countries; a distinct count cost a second nationally.
    select
        firm_key,
        market_year,
        count(*) as n_export_markets
    from {{ ref('int_export_markets__deduplicated') }}
    group by firm_key, market_year
)

select
    firm_years.firm_key,
    firm_years.fiscal_year,
    firm_years.net_turnover_tkr,
    firm_years.employees,
    -- Empty means unknown, not zero (domain.md §4): kept as null.
    firm_years.export_turnover_tkr,
    coalesce(markets.n_export_markets, 0) as n_export_markets,
    firm_years.municipality_code
from {{ ref('int_bisnode__firm_years_deduplicated') }} as firm_years
left join markets
    on firm_years.firm_key = markets.firm_key and firm_years.fiscal_year = markets.market_year
