{#- Change in percent between two sums, over the firms observed in both years (domain.md §5). -#}
{% macro change_pct(followup_value, base_value) -%}
    round(
        100.0 * (
            sum(case when {{ base_value }} is not null then {{ followup_value }} end)
            - sum(case when {{ followup_value }} is not null then {{ base_value }} end)
        ) / nullif(sum(case when {{ followup_value }} is not null then {{ base_value }} end), 0),
        1
    )
{%- endmacro %}

{% macro n_observed_in_both(followup_value, base_value) -%}
    count(case when {{ base_value }} is not null and {{ followup_value }} is not null then 1 end)
{%- endmacro %}

{#- The key figures of rpt_cohort_summary, over the cohort_firms rows of a group. -#}
{% macro cohort_summary_measures() -%}
    max(followup_year) as followup_year,
    count(*) as n_firms,
    count(followup_turnover_tkr) as n_firms_with_turnover,
    round(sum(followup_turnover_tkr), 0) as turnover_sum_tkr,
    round(avg(followup_turnover_tkr), 0) as turnover_mean_tkr,
    count(followup_employees) as n_firms_with_employees,
    round(sum(followup_employees), 0) as employees_sum,
    round(avg(followup_employees), 1) as employees_mean,
    {{ change_pct('followup_turnover_tkr', 'base_turnover_tkr') }} as turnover_change_pct,
    {{ n_observed_in_both('followup_turnover_tkr', 'base_turnover_tkr') }} as n_firms_turnover_change,
    {{ change_pct('followup_employees', 'base_employees') }} as employment_change_pct,
    {{ n_observed_in_both('followup_employees', 'base_employees') }} as n_firms_employment_change
{%- endmacro %}

{#- Sample variance from exact sums: order-independent, unlike var_samp over doubles. -#}
{% macro sample_variance(sum_values, sum_squares, n) -%}
    case when {{ n }} > 1 then
        greatest(cast({{ sum_squares }} - {{ sum_values }} * {{ sum_values }} / {{ n }} as double), 0) / ({{ n }} - 1)
    end
{%- endmacro %}
