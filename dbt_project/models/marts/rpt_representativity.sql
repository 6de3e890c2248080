-- Are the participants like the county's firms? Per program (and 'Samtliga program'), county,
-- dimension (kommun, sni_avdelning, storleksklass, alder) and category: the share among the
-- participants of the county against the share among the county's active firms with 0-249
-- employees (SCB), in percentage points, with the same share from the Bisnode population as a
-- cross-check. Participants are placed in the base year of their first cohort; the county
-- shares are weighted over those base years in the same proportions.
with participants as (
    select * from {{ ref('int_representativity__participant_categories') }}
),

known as (
    select
        program,
        county_code,
        dimension,
        count(*) as n_known,
        count(*) filter (where category is null) as n_unknown
    from participants
    where county_code is not null
    group by program, county_code, dimension
),

participant_counts as (
    select
        program,
        county_code,
        dimension,
        category,
        count(*) as n_participants
    from participants
    where category is not null and county_code is not null
    group by program, county_code, dimension, category
),

base_year_weights as (
    select
        program,
        county_code,
        dimension,
        base_year,
        -- Exact decimals keep the weighted shares independent of the order of a parallel scan.
        cast(
            count(*) / sum(count(*)) over (partition by program, county_code, dimension) as decimal(18, 12)
        ) as weight
    from participants
    where category is not null and county_code is not null
    group by program, county_code, dimension, base_year
),

scb as (
    -- The kommun dimension counts every firm of the municipality (summed over size classes).
    -- The comparison is with firms of 0-249 employees (domain.md §3), as the Bisnode cross-check
    -- is: SCB's 500+ class is left out of both. (Its 200-499 class cannot be cut at 250, and
    -- its SNI and age counts are not split by size: those stay as delivered.)
    select
        baseline_year as year,
        {{ county_code('municipality_code') }} as county_code,
        case when dimension = 'storleksklass' then 'kommun' end as dimension,
        municipality_code as category,
        sum(firm_count) as firms
    from {{ ref('int_scb__municipal_baselines_deduplicated') }}
    where dimension = 'storleksklass' and category <> '500+'
    group by all
    union all
    select
        baseline_year as year,
        {{ county_code('municipality_code') }} as county_code,
        dimension,
        category,
        sum(firm_count) as firms
    from {{ ref('int_scb__municipal_baselines_deduplicated') }}
    where not (dimension = 'storleksklass' and category = '500+')
    group by all
),

bisnode_population as (
    select
        firm_years.fiscal_year as year,
        {{ county_code('firm_years.municipality_code') }} as county_code,
        firm_years.municipality_code,
        firm_years.sni_section,
        {{ scb_size_class('firm_years.employees') }} as size_class,
        {{ age_band('firm_years.fiscal_year - firms.registration_year') }} as age_band
    from {{ ref('fct_firm_year') }} as firm_years
    inner join {{ ref('dim_firm') }} as firms on firm_years.firm_key = firms.firm_key
    where
        coalesce(firm_years.employees, 0) < 250
        -- Only the base years some weight uses: any other year's shares would be weighted by nothing.
        and firm_years.fiscal_year in (select weights.base_year from base_year_weights as weights)
),

-- One pass over the population for the four dimensions. UNPIVOT leaves out null
-- categories, as the shares below do.
bisnode as (
    select
        year,
        county_code,
        dimension,
        category,
        count(*) as firms
    from bisnode_population
    unpivot (
        category for dimension in (
            municipality_code as kommun,
            sni_section as sni_avdelning,
            size_class as storleksklass,
            age_band as alder
        )
    )
    group by all
),

county_shares as (
    select
        'scb' as population,
        year,
        county_code,
        dimension,
        category,
        firms,
        cast(firms / sum(firms) over (partition by county_code, year, dimension) as decimal(18, 12)) as share
    from scb
    union all
    select
        'bisnode' as population,
        year,
        county_code,
        dimension,
        category,
        firms,
        cast(firms / sum(firms) over (partition by county_code, year, dimension) as decimal(18, 12)) as share
    from bisnode
    where category is not null
),

weighted_county as (
    select
        weights.program,
        weights.county_code,
        weights.dimension,
        county.category,
        sum(weights.weight * county.share) filter (where county.population = 'scb') as county_share,
        sum(weights.weight * county.firms) filter (where county.population = 'scb') as county_firms,
        sum(weights.weight * county.share) filter (where county.population = 'bisnode') as bisnode_share
    from base_year_weights as weights
    inner join county_shares as county
        on
            weights.county_code = county.county_code
            and weights.base_year = county.year
            and weights.dimension = county.dimension
    group by all
),

combined as (
    select
        coalesce(counts.program, county.program) as program,
        coalesce(counts.county_code, county.county_code) as county_code,
        coalesce(counts.dimension, county.dimension) as dimension,
        coalesce(counts.category, county.category) as category,
        coalesce(counts.n_participants, 0) as n_participants,
        county.county_firms,
        county.county_share,
        county.bisnode_share
    from participant_counts as counts
    full outer join weighted_county as county
        on
            counts.program = county.program
            and counts.county_code = county.county_code
            and counts.dimension = county.dimension
            and counts.category = county.category
),

counties as (
    select distinct
        county_code,
        county_name
    from {{ ref('municipalities') }}
)

select
    concat_ws(' ', combined.program, combined.county_code, combined.dimension, combined.category)
        as representativity_key,
    combined.program,
    combined.county_code,
    counties.county_name,
    combined.dimension,
    combined.category,
    municipalities.municipality_name,
    combined.n_participants,
    known.n_known - known.n_unknown as n_participants_with_category,
    known.n_unknown as n_participants_without_category,
    {{ suppressed(
        'round(100.0 * combined.n_participants / (known.n_known - known.n_unknown), 1)', 'combined.n_participants'
    ) }}
        as participant_share_pct,
    round(combined.county_firms, 0) as county_firms,
    round(100.0 * combined.county_share, 1) as county_share_pct,
    {{ suppressed(
        'round(100.0 * combined.n_participants / (known.n_known - known.n_unknown)'
        ~ ' - 100.0 * coalesce(combined.county_share, 0), 1)',
        'combined.n_participants'
    ) }}
        as difference_pp,
    round(100.0 * combined.bisnode_share, 1) as bisnode_share_pct,
    combined.n_participants < {{ var('min_firms_shown', 5) }} as is_suppressed,
    case
        when combined.n_participants < {{ var('min_firms_shown', 5) }}
            then 'fewer than {{ var("min_firms_shown", 5) }} participants in the category: share hidden'
    end
        as suppression_reason
from combined
inner join known
    on
        combined.program = known.program
        and combined.county_code = known.county_code
        and combined.dimension = known.dimension
left join counties on combined.county_code = counties.county_code
left join {{ ref('municipalities') }} as municipalities
    on combined.dimension = 'kommun' and combined.category = municipalities.municipality_code
where combined.category is not null
