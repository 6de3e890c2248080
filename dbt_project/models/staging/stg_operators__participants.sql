select
    firm_key,
    org_nr,
    is_sole_trader,
    company_name,
    program,
    cohort_year,
    start_date,
    end_date,
    leader_gender,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id,
    _file_sha256 as file_sha256,
    _delivery_seq as delivery_seq
from {{ source('operators', 'participants') }}
