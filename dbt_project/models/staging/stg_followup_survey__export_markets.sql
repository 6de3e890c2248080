select
    firm_key,
    org_nr,
    is_sole_trader,
    year as market_year,
    country_code,
    export_value_tkr,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id,
    _file_sha256 as file_sha256,
    _delivery_seq as delivery_seq
from {{ source('followup_survey', 'export_markets') }}
