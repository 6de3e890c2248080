select
    load_id,
    source,
    path,
    sha256,
    size_bytes,
    received_at,
    processed_at,
    outcome,
    delivery_seq,
    rows_read,
    rows_loaded,
    rows_quarantined,
    message
from {{ source('audit', 'loads') }}
