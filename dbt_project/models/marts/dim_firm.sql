-- Every firm seen in any source, by pseudonymous key only: no organisation number, no name.
with firms as (
    select
        firm_key,
        is_sole_trader
    from {{ ref('int_firms__latest_attributes') }}
    union
    select
        firm_key,
        is_sole_trader
    from {{ ref('int_participants__cohort_memberships') }}
),

keys as (
    select
        firm_key,
        bool_or(is_sole_trader) as is_sole_trader
    from firms
    group by firm_key
)

select
    keys.firm_key,
    attributes.municipality_code,
    municipalities.municipality_name,
    municipalities.county_code,
    municipalities.county_name,
    attributes.sni_code,
    sections.sni_section,
    year(attributes.registration_date) as registration_year,
    attributes.legal_form,
    keys.is_sole_trader,
    attributes.first_fiscal_year,
    attributes.last_fiscal_year,
    keys.firm_key in (
        select memberships.firm_key from {{ ref('int_participants__cohort_memberships') }} as memberships
    ) as is_participant,
    attributes.firm_key is not null as is_in_bisnode
from keys
left join {{ ref('int_firms__latest_attributes') }} as attributes on keys.firm_key = attributes.firm_key
left join {{ ref('municipalities') }} as municipalities
    on attributes.municipality_code = municipalities.municipality_code
left join {{ ref('sni2007_sections') }} as sections
    on try_cast(left(attributes.sni_code, 2) as integer) between sections.division_from and sections.division_to
