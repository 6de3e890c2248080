-- One row per firm, year and country exported to; the latest delivery wins.
select *
from {{ ref('stg_followup_survey__export_markets') }}
qualify row_number() over (
    partition by firm_key, market_year, country_code
    order by delivery_seq desc, source_line desc
) = 1
