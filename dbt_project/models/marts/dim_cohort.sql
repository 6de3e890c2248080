-- One row per cohort: one program's intake in one year.
select
    cohort_key,
    program,
    cohort_year,
    cohort_year - 1 as base_year,
    count(*) as n_participants,
    count(*) filter (where leader_gender = 'kvinna') as n_led_by_women,
    count(*) filter (where leader_gender = 'man') as n_led_by_men,
    count(*) filter (where leader_gender is null) as n_leader_gender_unknown
from {{ ref('int_participants__cohort_memberships') }}
group by cohort_key, program, cohort_year
