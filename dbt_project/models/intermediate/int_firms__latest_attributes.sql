-- A firm's register attributes as of its latest fiscal year in the Bisnode data: one
-- aggregate over the firm-years. (Not a window: the window over every firm-year ran out of
-- memory at national scale.)
with firms as (
    select
        firm_key,
        min(fiscal_year) as first_fiscal_year,
        max(fiscal_year) as last_fiscal_year,
        -- A struct is never null, so a null attribute of the latest year stays null.
        arg_max(
            {
                'org_nr': org_nr,
                'company_name': company_name,
                'is_sole_trader': is_sole_trader,
                'municipality_code': municipality_code,
                'sni_code': sni_code,
                'registration_date': registration_date,
                'legal_form': legal_form
            },
            fiscal_year
        ) as latest
    from {{ ref('int_bisnode__firm_years_deduplicated') }}
    group by firm_key
)

select
    firms.firm_key,
    latest.org_nr,
    latest.company_name,
    latest.is_sole_trader,
    latest.municipality_code,
    latest.sni_code,
    latest.registration_date,
    latest.legal_form,
    firms.first_fiscal_year,
    firms.last_fiscal_year
from firms
