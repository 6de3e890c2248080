select
    firm_key,
    org_nr,
    is_sole_trader,
    year as market_year,
    country_code,
    export_value_tkr,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id
from {{ source('followup_survey', 'export_markets') }}
