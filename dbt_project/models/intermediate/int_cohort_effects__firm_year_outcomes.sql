-- The five outcomes of the effect estimates, per firm and fiscal year, on the scale the
-- estimates use: log turnover, log(1 + employees), log(1 + export turnover) and the number
-- of export markets. A change is then a difference of two rows of this table.
with markets as (
    select firm_key, market_year, count(distinct country_code) as n_markets
    from {{ ref('int_export_markets__deduplicated') }}
    group by firm_key, market_year
)

select
    firm_years.firm_key,
    firm_years.fiscal_year,
    firm_years.net_turnover_tkr,
    firm_years.employees,
    ln(nullif(firm_years.net_turnover_tkr, 0)) as log_turnover,
    ln(1 + firm_years.employees) as log_employees,
    ln(1 + firm_years.export_turnover_tkr) as log_export_turnover,
    coalesce(markets.n_markets, 0) as n_markets
from {{ ref('fct_firm_year') }} as firm_years
left join markets
    on firm_years.firm_key = markets.firm_key and firm_years.fiscal_year = markets.market_year
