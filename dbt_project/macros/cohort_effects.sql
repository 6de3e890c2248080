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

{#- The event times e = fiscal year - intake year the estimates cover. -#}
{% macro first_event_time() %}-3{% endmacro %}
{% macro last_event_time() %}5{% endmacro %}

{#- The first fiscal year a change may reach (the var `first_fiscal_year`, default 1990). -#}
{% macro first_fiscal_year() %}{{ var('first_fiscal_year', 1990) }}{% endmacro %}

{#- Rows of `firms` (with firm_key, cohort_year and the base-year outcomes of
    int_cohort_effects__base_year_strata) times event times e = -3..+5 but the base year
    (e = -1) and past the data, with `columns` of `firms` and the change of every outcome. -#}
{% macro changes_from_base_year(firms, columns) -%}
    select
        {% for column in columns -%}
            {{ firms }}.{{ column }},
        {% endfor -%}
        event_times.event_time,
        {{ outcome_changes(firms, 'later', 'event_times.event_time') }}
    from {{ firms }}
    cross join (select unnest(range({{ first_event_time() }}, {{ last_event_time() }} + 1)) as event_time) as event_times
    cross join (
        select max(fiscal_year) as last_fiscal_year from {{ ref('int_cohort_effects__firm_year_outcomes') }}
    ) as last_year
    left join {{ ref('int_cohort_effects__firm_year_outcomes') }} as later
        on {{ firms }}.firm_key = later.firm_key and {{ firms }}.cohort_year + event_times.event_time = later.fiscal_year
    where
        event_times.event_time <> -1
        and {{ firms }}.cohort_year + event_times.event_time between {{ first_fiscal_year() }}
        and last_year.last_fiscal_year
{%- endmacro %}

{#- Exact decimals: sums of doubles depend on the order of a parallel scan, and the same
    night run twice must publish the same figures. -#}
{% macro exact_change(column) -%}
    cast({{ column }} as decimal(18, 9))
{%- endmacro %}
