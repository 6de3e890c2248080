select
    program,
    year as target_year,
    indicator,
    target_women,
    target_men,
    target_total,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id,
    _file_sha256 as file_sha256,
    _delivery_seq as delivery_seq
from {{ source('operators', 'targets') }}
