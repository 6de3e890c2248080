-- Each participant's category in every representativity dimension, taken in the base year
-- of its first cohort: per program, and once more for all programs together. A firm without
-- a Bisnode row that year (registered after it, or missing from the delivery) has no
-- category in any dimension, so that every dimension's shares rest on the same firms. Each
-- participant is compared with its own county: that of its seat in the base year (else its
-- latest). One the data cannot place (not in Bisnode) belongs to the population's county when
-- the warehouse covers one county, and to no county's comparison when it covers several.
with first_cohorts as (
    select
        firm_key,
        program,
        min(cohort_year) as cohort_year
    from {{ ref('fct_cohort_membership') }}
    group by firm_key, program
    union all
    select
        firm_key,
        'Samtliga program' as program,
        min(cohort_year) as cohort_year
    from {{ ref('fct_cohort_membership') }}
    group by firm_key
),

only_county as (
    select any_value({{ county_code('municipality_code') }}) as county_code
    from {{ ref('dim_firm') }}
    where municipality_code is not null
    having count(distinct {{ county_code('municipality_code') }}) = 1
),

attributes as (
    select
        first_cohorts.program,
        first_cohorts.firm_key,
        first_cohorts.cohort_year - 1 as base_year,
        base.municipality_code,
        coalesce(
            {{ county_code('coalesce(base.municipality_code, firms.municipality_code)') }},
            (select only_county.county_code from only_county)
        ) as county_code,
        base.sni_section,
        {{ scb_size_class('base.employees') }} as size_class,
        case
            when base.firm_key is not null
                then {{ age_band('first_cohorts.cohort_year - 1 - firms.registration_year') }}
        end as age_band
    from first_cohorts
    inner join {{ ref('dim_firm') }} as firms on first_cohorts.firm_key = firms.firm_key
    left join {{ ref('fct_firm_year') }} as base
        on first_cohorts.firm_key = base.firm_key and first_cohorts.cohort_year - 1 = base.fiscal_year
)

select
    program,
    firm_key,
    county_code,
    base_year,
    'kommun' as dimension,
    municipality_code as category
from attributes
union all
select
    program,
    firm_key,
    county_code,
    base_year,
    'sni_avdelning' as dimension,
    sni_section as category
from attributes
union all
select
    program,
    firm_key,
    county_code,
    base_year,
    'storleksklass' as dimension,
    size_class as category
from attributes
union all
select
    program,
    firm_key,
    county_code,
    base_year,
    'alder' as dimension,
    age_band as category
from attributes
