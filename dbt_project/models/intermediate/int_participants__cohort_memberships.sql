-- One row per firm and cohort (program intake year), from the rows no later delivery has
-- superseded: a list delivered again under the same name replaces the earlier one, so a
-- corrected list can withdraw a firm or move it to another cohort.
with current_rows as (
    {{ latest_delivery(ref('stg_operators__participants'), 'participants') }}
)

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
from current_rows
group by firm_key, program, cohort_year
