select
    municipality_code,
    year as baseline_year,
    lower(dimension) as dimension,
    category,
    firm_count,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id,
    _file_sha256 as file_sha256,
    _delivery_seq as delivery_seq
from {{ source('scb', 'municipal_baselines') }}
