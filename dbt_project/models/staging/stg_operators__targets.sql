select
    program,
    year as target_year,
    indicator,
    target_women,
    target_men,
    target_total,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id
from {{ source('operators', 'targets') }}
