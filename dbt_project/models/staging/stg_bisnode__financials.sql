select
    firm_key,
    org_nr,
    is_sole_trader,
    company_name,
    fiscal_year,
    net_turnover_tkr,
    export_turnover_tkr,
    employees,
    municipality_code,
    sni_code,
    registration_date,
    legal_form,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id
from {{ source('bisnode', 'financials') }}
