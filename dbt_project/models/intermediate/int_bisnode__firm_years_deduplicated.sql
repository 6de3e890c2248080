-- One row per firm and fiscal year. When a year is delivered more than once, the latest
-- delivery wins (higher delivery_seq, then the later line).
select *
from {{ ref('stg_bisnode__financials') }}
qualify row_number() over (
    partition by firm_key, fiscal_year
    order by delivery_seq desc, source_line desc
) = 1
