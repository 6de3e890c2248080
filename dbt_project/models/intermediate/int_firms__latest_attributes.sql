-- A firm's register attributes as of its latest fiscal year in the Bisnode data.
select
    firm_key,
    org_nr,
    company_name,
    is_sole_trader,
    municipality_code,
    sni_code,
    registration_date,
    legal_form,
    first_fiscal_year,
    fiscal_year as last_fiscal_year
from (
    select
        *,
        min(fiscal_year) over (partition by firm_key) as first_fiscal_year
    from {{ ref('int_bisnode__firm_years_deduplicated') }}
)
qualify row_number() over (partition by firm_key order by fiscal_year desc) = 1
