select
    municipality_code,
    year as baseline_year,
    lower(dimension) as dimension,
    category,
    firm_count,
    _source_file as source_file,
    _line as source_line,
    _load_id as load_id
from {{ source('scb', 'municipal_baselines') }}
