{#- The follow-up year of the key figures, from `firm_years` (one row per firm and fiscal
    year): the latest fiscal year the Bisnode data covers in full. Annual reports come in
    through the year after the fiscal year, so a delivery's newest year may hold only the early
    filers; a year with fewer firms than min_followup_year_share of the year before it is not
    complete yet, and the latest complete year is followed up instead. One row: followup_year,
    and the newest year with its firms and those of the year before it. -#}
{% macro followup_year_of(firm_years) -%}
    with firms_per_year as (
        select
            fiscal_year,
            count(*) as n_firms
        from {{ firm_years }}
        group by fiscal_year
    ),

    compared as (
        select
            fiscal_year,
            n_firms,
            lag(n_firms) over (order by fiscal_year) as n_firms_year_before
        from firms_per_year
    )

    select
        max(fiscal_year) filter (
            where n_firms_year_before is null
            or n_firms >= {{ var('min_followup_year_share', 0.8) }} * n_firms_year_before
        ) as followup_year,
        max(fiscal_year) as latest_fiscal_year,
        arg_max(n_firms, fiscal_year) as n_firms_latest_year,
        arg_max(n_firms_year_before, fiscal_year) as n_firms_year_before_latest
    from compared
{%- endmacro %}
