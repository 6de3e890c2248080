-- One row per firm and fiscal year. When a year is delivered more than once, the latest
-- delivery wins (later load, then later file name, then later line).
select *
from {{ ref('stg_bisnode__financials') }}
qualify row_number() over (
    partition by firm_key, fiscal_year
    order by load_id desc, source_file desc, source_line desc
) = 1
