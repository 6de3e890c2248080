-- Export outcomes per program, cohort and follow-up year, split by the gender of the firm's
-- leader (kvinna / man / okänd, and totalt). Against the cohort's base year (intake - 1):
-- firms that increased export turnover, firms active on a new market (a country not exported
-- to in any year up to the base year), firms growing on an existing market (export value up
-- in a country exported to in the base year), and the median and mean export growth.
-- Every share says how many firms had the data.
with memberships as (
    select
        firm_key,
        cohort_key,
        program,
        cohort_year,
        coalesce(leader_gender, 'okänd') as leader_gender
    from {{ ref('fct_cohort_membership') }}
),

split as (
    select
        *,
        leader_gender as gender_group
    from memberships
    union all
    select
        *,
        'totalt' as gender_group
    from memberships
),

fiscal_years as (
    select distinct fiscal_year from {{ ref('fct_firm_year') }}
),

followup_years as (
    select
        split.*,
        years.fiscal_year as followup_year
    from split
    cross join fiscal_years as years
    where years.fiscal_year >= split.cohort_year
),

-- Only the participants' markets and years: every question below is about a participant,
-- and the county's population would otherwise go through every join.
markets as (
    select
        firm_key,
        market_year,
        country_code,
        export_value_tkr
    from {{ ref('int_export_markets__deduplicated') }}
    where firm_key in (select memberships.firm_key from memberships)
),

firm_years as (
    select
        firm_key,
        fiscal_year,
        export_turnover_tkr
    from {{ ref('fct_firm_year') }}
    where firm_key in (select memberships.firm_key from memberships)
),

firm_outcomes as (
    select
        followup_years.*,
        base.export_turnover_tkr as base_export_tkr,
        later.export_turnover_tkr as followup_export_tkr,
        exists(
            select 1
            from markets as m
            where
                m.firm_key = followup_years.firm_key
                and m.market_year = followup_years.followup_year
        ) as has_followup_markets,
        exists(
            select 1
            from markets as m
            where
                m.firm_key = followup_years.firm_key
                and m.market_year = followup_years.followup_year
                and m.country_code not in (
                    select earlier.country_code from markets as earlier
                    where
                        earlier.firm_key = followup_years.firm_key
                        and earlier.market_year <= followup_years.cohort_year - 1
                )
        ) as has_new_market,
        exists(
            select 1
            from markets as m
            where
                m.firm_key = followup_years.firm_key
                and m.market_year = followup_years.cohort_year - 1 and m.export_value_tkr is not null
        ) as has_base_market_values,
        exists(
            select 1
            from markets as base_market
            inner join markets as later_market
                on
                    base_market.firm_key = later_market.firm_key
                    and base_market.country_code = later_market.country_code
            where
                base_market.firm_key = followup_years.firm_key
                and base_market.market_year = followup_years.cohort_year - 1
                and later_market.market_year = followup_years.followup_year
                and later_market.export_value_tkr > base_market.export_value_tkr
        ) as is_growing_on_existing_market
    from followup_years
    left join firm_years as base
        on followup_years.firm_key = base.firm_key and followup_years.cohort_year - 1 = base.fiscal_year
    left join firm_years as later
        on followup_years.firm_key = later.firm_key and followup_years.followup_year = later.fiscal_year
),

aggregated as (
    select
        program,
        cohort_year,
        cohort_key,
        gender_group,
        followup_year,
        count(*) as n_firms,
        count(*) filter (where base_export_tkr is not null and followup_export_tkr is not null)
            as n_with_export_data,
        count(*) filter (where followup_export_tkr > base_export_tkr) as n_increased_export,
        count(*) filter (where has_followup_markets) as n_with_market_data,
        count(*) filter (where has_new_market) as n_with_new_market,
        count(*) filter (where has_base_market_values) as n_with_base_market_data,
        count(*) filter (where is_growing_on_existing_market) as n_growing_on_existing_market,
        count(*) filter (where base_export_tkr > 0 and followup_export_tkr is not null) as n_with_export_growth,
        median(100.0 * (followup_export_tkr - base_export_tkr) / base_export_tkr)
        filter (where base_export_tkr > 0) as median_export_growth_pct,
        -- Exact decimals keep the mean independent of the order of a parallel scan.
        avg(cast(
            case when base_export_tkr > 0 then 100.0 * (followup_export_tkr - base_export_tkr) / base_export_tkr end
            as decimal(38, 6)
        )) as mean_export_growth_pct
    from firm_outcomes
    group by all
)

select
    cohort_key || ' ' || gender_group || ' ' || followup_year as export_outcome_key,
    program,
    cohort_year,
    cohort_year - 1 as base_year,
    followup_year,
    followup_year - cohort_year as event_time,
    gender_group as leader_gender,
    n_firms,
    n_with_export_data,
    n_increased_export,
    {{ suppressed('round(100.0 * n_increased_export / nullif(n_with_export_data, 0), 1)', 'n_with_export_data') }}
        as share_increased_export_pct,
    n_with_market_data,
    n_with_new_market,
    {{ suppressed('round(100.0 * n_with_new_market / nullif(n_with_market_data, 0), 1)', 'n_with_market_data') }}
        as share_with_new_market_pct,
    n_with_base_market_data,
    n_growing_on_existing_market,
    {{ suppressed(
        'round(100.0 * n_growing_on_existing_market / nullif(n_with_base_market_data, 0), 1)',
        'n_with_base_market_data'
    ) }}
        as share_growing_on_existing_market_pct,
    n_with_export_growth,
    {{ suppressed('round(median_export_growth_pct, 1)', 'n_with_export_growth') }} as median_export_growth_pct,
    {{ suppressed('round(mean_export_growth_pct, 1)', 'n_with_export_growth') }} as mean_export_growth_pct,
    -- Each share is hidden on its own denominator; the flag and the reason name every one hidden.
    {%- set denominators = {
        'n_with_export_data': 'the share increasing export turnover (export data)',
        'n_with_market_data': 'the share on a new market (market data)',
        'n_with_base_market_data': 'the share growing on an existing market (base-year market data)',
        'n_with_export_growth': 'the export growth (export turnover in both years)',
    } %}
    least({{ denominators.keys() | join(', ') }}) < {{ var('min_firms_shown', 5) }} as is_suppressed,
    nullif(concat_ws(
        '; ',
        {%- for denominator, share in denominators.items() %}
            case
                when {{ denominator }} < {{ var('min_firms_shown', 5) }}
                    then '{{ share }} hidden: fewer than {{ var("min_firms_shown", 5) }} firms with the data'
            end{% if not loop.last %},{% endif %}
        {%- endfor %}
    ), '') as suppression_reason
from aggregated
