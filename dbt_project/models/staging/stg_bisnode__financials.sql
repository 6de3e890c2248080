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
    _load_id as load_id,
    _file_sha256 as file_sha256,
    _delivery_seq as delivery_seq
from {{ source('bisnode', 'financials') }}
