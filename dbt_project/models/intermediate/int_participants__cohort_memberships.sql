-- One row per firm and cohort (program intake year), however often the operator listed it.
select
    firm_key,
    program,
    cohort_year,
    {{ cohort_key('program', 'cohort_year') }} as cohort_key,
    bool_or(is_sole_trader) as is_sole_trader,
    -- The latest stated gender of the firm's leader; null when never stated.
    arg_max(leader_gender, [delivery_seq, source_line]) filter (where leader_gender is not null) as leader_gender,
    -- When that was stated: where a firm's memberships of one year disagree, the later statement wins.
    max([delivery_seq, source_line]) filter (where leader_gender is not null) as leader_gender_stated_at,
    min(start_date) as start_date,
    max(end_date) as end_date
from {{ ref('stg_operators__participants') }}
group by firm_key, program, cohort_year
