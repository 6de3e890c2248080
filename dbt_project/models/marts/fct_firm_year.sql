-- One row per firm and fiscal year: the financial outcomes every metric is built from.
select
    firm_key,
    fiscal_year,
    net_turnover_tkr,
    employees,
    -- Empty means unknown, not zero (domain.md §4): kept as null.
    export_turnover_tkr,
    municipality_code
from {{ ref('int_bisnode__firm_years_deduplicated') }}
