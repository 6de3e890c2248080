-- Enterprises supported per year, counted once per firm across all activities of the year
-- (the EU rule: one identifier, one enterprise), by EU size class and the gender of the
-- firm's leader. Size is taken in the year of support, else in the year before. A firm whose
-- memberships of the year state different genders counts with the latest statement.
with supported as (
    select
        memberships.cohort_year as year,
        memberships.firm_key,
        arg_max(memberships.leader_gender, memberships.leader_gender_stated_at) as leader_gender
    from {{ ref('int_participants__cohort_memberships') }} as memberships
    group by memberships.cohort_year, memberships.firm_key
),

sized as (
    select
        supported.year,
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
    year || ' ' || size_class as supported_key,
    year,
    size_class,
    count(*) filter (where leader_gender = 'kvinna') as firms_led_by_women,
    count(*) filter (where leader_gender = 'man') as firms_led_by_men,
    count(*) filter (where leader_gender = 'okänd') as firms_leader_unknown,
    count(*) as firms_total
from sized
group by year, size_class
