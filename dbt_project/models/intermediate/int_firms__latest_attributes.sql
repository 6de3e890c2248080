-- A firm's register attributes as of its latest fiscal year in the Bisnode data. (A join to
-- the firm's span of years, not a window: the window over every firm-year ran out of memory
-- at national scale.)
with spans as (
    select
        firm_key,
        min(fiscal_year) as first_fiscal_year,
        max(fiscal_year) as last_fiscal_year
    from {{ ref('int_bisnode__firm_years_deduplicated') }}
    group by firm_key
)

select
    firm_years.firm_key,
    firm_years.org_nr,
    firm_years.company_name,
    firm_years.is_sole_trader,
    firm_years.municipality_code,
    firm_years.sni_code,
    firm_years.registration_date,
    firm_years.legal_form,
    spans.first_fiscal_year,
    spans.last_fiscal_year
from {{ ref('int_bisnode__firm_years_deduplicated') }} as firm_years
inner join spans
    on firm_years.firm_key = spans.firm_key and firm_years.fiscal_year = spans.last_fiscal_year
