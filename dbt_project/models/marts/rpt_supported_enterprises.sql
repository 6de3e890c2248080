-- Enterprises supported per year, by EU size class and the gender of the firm's leader, for
-- each program and for all programs together ('Alla program'). Each firm counts once per year
-- within each of these (the EU rule: one identifier, one enterprise), so a firm in two
-- programs of a year counts in each program and once in 'Alla program'. Size is taken in the
-- year of support, else in the year before. A firm whose memberships state different
-- genders counts with the latest statement.
with memberships as (
    select
        cohort_year as year,
        program,
        firm_key,
        leader_gender,
        leader_gender_stated_at
    from {{ ref('int_participants__cohort_memberships') }}
),

in_scope as (
    select * from memberships
    union all
    select
        year,
        'Alla program' as program,
        firm_key,
        leader_gender,
        leader_gender_stated_at
    from memberships
),

supported as (
    select
        year,
        program,
        firm_key,
        arg_max(leader_gender, leader_gender_stated_at) as leader_gender
    from in_scope
    group by year, program, firm_key
),

sized as (
    select
        supported.year,
        supported.program,
        supported.firm_key,
        coalesce(supported.leader_gender, 'okänd') as leader_gender,
        case
            when coalesce(current_year.employees, previous_year.employees) is null then 'okänd'
            when coalesce(current_year.employees, previous_year.employees) < 10 then 'mikro'
            when coalesce(current_year.employees, previous_year.employees) < 50 then 'små'
            when coalesce(current_year.employees, previous_year.employees) < 250 then 'medelstora'
            else 'stora'
        end as size_class
    from supported
    left join {{ ref('fct_firm_year') }} as current_year
        on supported.firm_key = current_year.firm_key and supported.year = current_year.fiscal_year
    left join {{ ref('fct_firm_year') }} as previous_year
        on supported.firm_key = previous_year.firm_key and supported.year - 1 = previous_year.fiscal_year
)

select
    year || ' ' || program || ' ' || size_class as supported_key,
    year,
    program,
    size_class,
    count(*) filter (where leader_gender = 'kvinna') as firms_led_by_women,
    count(*) filter (where leader_gender = 'man') as firms_led_by_men,
    count(*) filter (where leader_gender = 'okänd') as firms_leader_unknown,
    count(*) as firms_total
from sized
group by year, program, size_class
