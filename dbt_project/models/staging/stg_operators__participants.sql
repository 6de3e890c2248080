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
    _load_id as load_id
from {{ source('operators', 'participants') }}
