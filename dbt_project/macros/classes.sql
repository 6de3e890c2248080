{#- SCB size classes by number of employees (domain.md §3). Bisnode's employees are an annual
    average (4.5, say) and the classes count whole employees: the average is rounded to the
    nearest whole number, a half upwards, so 4.5 is in 5-9. -#}
{% macro scb_size_class(employees) -%}
    case
        when {{ employees }} is null then null
        when round({{ employees }}) = 0 then '0'
        when round({{ employees }}) <= 4 then '1-4'
        when round({{ employees }}) <= 9 then '5-9'
        when round({{ employees }}) <= 19 then '10-19'
        when round({{ employees }}) <= 49 then '20-49'
        when round({{ employees }}) <= 99 then '50-99'
        when round({{ employees }}) <= 199 then '100-199'
        when round({{ employees }}) <= 499 then '200-499'
        else '500+'
    end
{%- endmacro %}

{#- The evaluation's age bands in years since registration (domain.md §3). -#}
{% macro age_band(age_years) -%}
    case
        when {{ age_years }} is null or {{ age_years }} < 0 then null
        when {{ age_years }} <= 4 then '0-4'
        when {{ age_years }} <= 9 then '5-9'
        when {{ age_years }} <= 14 then '10-14'
        when {{ age_years }} <= 19 then '15-19'
        when {{ age_years }} <= 29 then '20-29'
        when {{ age_years }} <= 39 then '30-39'
        when {{ age_years }} <= 50 then '40-50'
        else '>50'
    end
{%- endmacro %}

{#- Base-year turnover bands for coarsened exact matching, kSEK. -#}
{% macro turnover_band(turnover_tkr) -%}
    case
        when {{ turnover_tkr }} < 500 then '<0.5m'
        when {{ turnover_tkr }} < 2000 then '0.5-2m'
        when {{ turnover_tkr }} < 10000 then '2-10m'
        when {{ turnover_tkr }} < 50000 then '10-50m'
        else '50m+'
    end
{%- endmacro %}

{#- Official-statistics suppression: a figure resting on fewer firms is hidden. -#}
{% macro suppressed(value, n_firms) -%}
    case when {{ n_firms }} >= {{ var('min_firms_shown', 5) }} then {{ value }} end
{%- endmacro %}

{#- A municipality's county (län): SCB's municipality code begins with the county code. -#}
{% macro county_code(municipality_code) -%}
    left({{ municipality_code }}, 2)
{%- endmacro %}
