{#- The outcomes of the effect estimates: name -> column of the changes below. -#}
{% macro effect_outcomes() -%}
    {{ return(['turnover', 'employees', 'export_turnover', 'export_markets', 'survival']) }}
{%- endmacro %}

{#- The change of each outcome from the base-year row `base` to the row `later` of
    int_cohort_effects__firm_year_outcomes (null when `later` is missing, but survival). -#}
{% macro outcome_changes(base, later, event_time) -%}
    {{ later }}.log_turnover - {{ base }}.log_turnover as turnover,
    {{ later }}.log_employees - {{ base }}.log_employees as employees,
    {{ later }}.log_export_turnover - {{ base }}.log_export_turnover as export_turnover,
    {{ later }}.n_markets - {{ base }}.n_markets as export_markets,
    -- Survival: 1 while the firm is still in the data, counted from the intake year on.
    case when {{ event_time }} >= 0 then (case when {{ later }}.firm_key is not null then 1.0 else 0.0 end) end
        as survival
{%- endmacro %}

{#- Event times e = -3..+5 but the base year (e = -1), as rows `event_time`, and the last
    fiscal year in the data, as `last_fiscal_year`: an event time past it has no data yet. -#}
{% macro event_time_window() -%}
    event_times as (
        select unnest(range(-3, 6)) as event_time
    ),

    last_year as (
        select max(fiscal_year) as last_fiscal_year from {{ ref('int_cohort_effects__firm_year_outcomes') }}
    )
{%- endmacro %}

{#- Exact decimals: sums of doubles depend on the order of a parallel scan, and the same
    night run twice must publish the same figures. -#}
{% macro exact_change(column) -%}
    cast({{ column }} as decimal(18, 9))
{%- endmacro %}
