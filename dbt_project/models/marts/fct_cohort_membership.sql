-- Which firm took part in which cohort: the bridge between dim_firm and dim_cohort.
select
    firm_key,
    cohort_key,
    program,
    cohort_year,
    leader_gender,
    start_date,
    end_date
from {{ ref('int_participants__cohort_memberships') }}
