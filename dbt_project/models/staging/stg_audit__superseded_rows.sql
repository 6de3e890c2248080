select
    load_id,
    source,
    natural_key,
    file as source_file,
    line as source_line,
    delivery_seq,
    superseded_by_file,
    superseded_by_line,
    superseded_by_seq
from {{ source('audit', 'superseded_rows') }}
