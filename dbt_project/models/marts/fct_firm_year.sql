-- One row per firm and fiscal year: the financial outcomes every metric is built from, the
-- number of export markets the follow-up survey lists for the year, and where the firm was
-- that year (seat and SNI section), since the metrics place a firm as it was in a base year.
with markets as (
    -- The deduplicated markets hold one row per firm, year and country (their primary-key
    -- test), so counting rows counts countries; a distinct count cost a second nationally.
    select
        firm_key,
        market_year,
        count(*) as n_export_markets
    from {{ ref('int_export_markets__deduplicated') }}
    group by firm_key, market_year
),

sni_divisions as (
    -- One row per two-digit division, as the code begins with it ('01'), so that a firm-year
    -- finds its section by comparing text: a range join against the sections would be evaluated
    -- for every firm-year, and casting each code to a number cost 0.4 s nationally.
    select
        sni_section,
        lpad(cast(unnest(range(division_from, division_to + 1)) as varchar), 2, '0') as sni_division
    from {{ ref('sni2007_sections') }}
)

select
    firm_years.firm_key,
    firm_years.fiscal_year,
    firm_years.net_turnover_tkr,
    firm_years.employees,
    -- Empty means unknown, not zero (domain.md §4): kept as null.
    firm_years.export_turnover_tkr,
    coalesce(markets.n_export_markets, 0) as n_export_markets,
    firm_years.municipality_code,
    sni_divisions.sni_section
from {{ ref('int_bisnode__firm_years_deduplicated') }} as firm_years
left join markets
    on firm_years.firm_key = markets.firm_key and firm_years.fiscal_year = markets.market_year
left join sni_divisions
    on left(firm_years.sni_code, 2) = sni_divisions.sni_division
