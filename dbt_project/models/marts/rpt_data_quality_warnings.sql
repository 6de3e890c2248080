-- Cross-source and plausibility checks of every night, one row per finding. Rows with
-- is_warning need a person's attention; the others are for the record.
with memberships as (
    select
        firm_key,
        cohort_key,
        cohort_year
    from {{ ref('fct_cohort_membership') }}
),

current_participant_rows as (
    {{ latest_delivery(ref('stg_operators__participants'), 'participants') }}
),

firm_years as (
    select
        firm_key,
        fiscal_year,
        net_turnover_tkr,
        employees,
        municipality_code
    from {{ ref('fct_firm_year') }}
),

found_in_bisnode as (
    select
        'participants_found_in_bisnode' as check_name,
        memberships.cohort_key as subject,
        round(avg(case when firms.is_in_bisnode then 1.0 else 0.0 end), 3) as measured_value,
        1.0 as threshold,
        count(*) as n_firms,
        bool_or(not firms.is_in_bisnode) as is_warning,
        count(*) filter (where firms.is_in_bisnode) || ' of ' || count(*) || ' participants in '
        || memberships.cohort_key || ' are in the Bisnode data; the others enter no metric. '
        || 'Ask Bisnode to include the missing organisation numbers.' as message
    from memberships
    inner join {{ ref('dim_firm') }} as firms on memberships.firm_key = firms.firm_key
    group by memberships.cohort_key
),

participants_first_years as (
    select
        firm_years.firm_key,
        min(firm_years.fiscal_year) as first_year
    from firm_years
    where firm_years.firm_key in (select memberships.firm_key from memberships)
    group by firm_years.firm_key
),

without_base_year as (
    select
        'participants_without_year_before_intake' as check_name,
        memberships.cohort_key as subject,
        count(*) filter (where years.first_year is null or years.first_year >= memberships.cohort_year)
            as measured_value,
        0 as threshold,
        count(*) as n_firms,
        count(*) filter (where years.first_year is null or years.first_year >= memberships.cohort_year) > 0
            as is_warning,
        count(*) filter (where years.first_year is null or years.first_year >= memberships.cohort_year)
        || ' of ' || count(*) || ' participants in ' || memberships.cohort_key
        || ' have no fiscal year before intake, so they cannot enter the change metrics.' as message
    from memberships
    left join participants_first_years as years on memberships.firm_key = years.firm_key
    group by memberships.cohort_key
),

scb_totals as (
    select
        municipality_code,
        baseline_year,
        sum(firm_count) as scb_firms
    from {{ ref('int_scb__municipal_baselines_deduplicated') }}
    where dimension = 'storleksklass'
    group by municipality_code, baseline_year
),

coverage_year as (
    select max(baseline_year) as coverage_year
    from scb_totals
    where baseline_year in (select firm_years.fiscal_year from firm_years)
),

bisnode_counts as (
    select
        firm_years.municipality_code,
        count(*) as bisnode_firms
    from firm_years
    inner join coverage_year on firm_years.fiscal_year = coverage_year.coverage_year
    where coalesce(firm_years.employees, 0) < 250
    group by firm_years.municipality_code
),

coverage as (
    select
        'bisnode_coverage_of_scb' as check_name,
        scb_totals.municipality_code || ' ' || scb_totals.baseline_year as subject,
        round(coalesce(bisnode_counts.bisnode_firms, 0) / scb_totals.scb_firms, 3) as measured_value,
        {{ var('min_bisnode_coverage', 0.9) }} as threshold,
        coalesce(bisnode_counts.bisnode_firms, 0) as n_firms,
        coalesce(bisnode_counts.bisnode_firms, 0) / scb_totals.scb_firms < {{ var('min_bisnode_coverage', 0.9) }}
            as is_warning,
        'Bisnode has '
        || coalesce(bisnode_counts.bisnode_firms, 0)
        || ' active firms (0-249 employees) in municipality '
        || scb_totals.municipality_code || ' in ' || scb_totals.baseline_year || ', SCB counts '
        || scb_totals.scb_firms || '.' as message
    from scb_totals
    inner join coverage_year on scb_totals.baseline_year = coverage_year.coverage_year
    left join bisnode_counts on scb_totals.municipality_code = bisnode_counts.municipality_code
),

-- A year 500 times a neighbouring year's positive turnover needs the firm's largest turnover
-- to be 500 times its smallest positive one, so only those firms' years go through the
-- window below, not the whole population's.
firms_with_turnover_jumps as (
    select firm_key
    from firm_years
    where net_turnover_tkr is not null
    group by firm_key
    having max(net_turnover_tkr) >= 500 * min(net_turnover_tkr) filter (where net_turnover_tkr > 0)
),

neighbours as (
    select
        firm_key,
        fiscal_year,
        net_turnover_tkr,
        lag(net_turnover_tkr) over (partition by firm_key order by fiscal_year) as previous_tkr,
        lead(net_turnover_tkr) over (partition by firm_key order by fiscal_year) as next_tkr
    from firm_years
    where
        net_turnover_tkr is not null
        and firm_key in (select jumps.firm_key from firms_with_turnover_jumps as jumps)
),

unit_errors as (
    select
        'turnover_unit_error' as check_name,
        firm_key || ' ' || fiscal_year as subject,
        round(net_turnover_tkr / greatest(coalesce(previous_tkr, 0), coalesce(next_tkr, 0)), 0) as measured_value,
        500 as threshold,
        1 as n_firms,
        true as is_warning,
        'Net turnover ' || net_turnover_tkr || ' kSEK in ' || fiscal_year || ' is 500 times or more the '
        || 'neighbouring years (' || coalesce(previous_tkr::varchar, '-') || ', ' || coalesce(next_tkr::varchar, '-')
        || '): the likely cause is a delivery in SEK instead of kSEK. Ask Bisnode to correct it.' as message
    from neighbours
    where
        greatest(coalesce(previous_tkr, 0), coalesce(next_tkr, 0)) > 0
        and net_turnover_tkr >= 500 * greatest(coalesce(previous_tkr, 0), coalesce(next_tkr, 0))
),

freshness as (
    select
        'bisnode_freshness' as check_name,
        'bisnode' as subject,
        date_diff('day', max(received_at)::date, current_date) as measured_value,
        {{ var('bisnode_max_age_days', 400) }} as threshold,
        null::bigint as n_firms,
        date_diff('day', max(received_at)::date, current_date) > {{ var('bisnode_max_age_days', 400) }}
            as is_warning,
        'The newest Bisnode delivery landed ' || date_diff('day', max(received_at)::date, current_date)
        || ' days ago.' as message
    from {{ ref('stg_audit__loads') }}
    where source = 'bisnode' and outcome in ('loaded', 'loaded_with_quarantine')
    having count(*) > 0
),

-- The key figures follow up the latest fiscal year the data covers in full; a newer year that
-- holds only the early filers is named, with the year followed up instead.
followup_year as (
    {{ followup_year_of('firm_years') }}
),

latest_year_coverage as (
    select
        'bisnode_latest_year_incomplete' as check_name,
        'bisnode ' || latest_fiscal_year as subject,
        round(n_firms_latest_year / n_firms_year_before_latest, 3) as measured_value,
        {{ var('min_followup_year_share', 0.8) }} as threshold,
        n_firms_latest_year as n_firms,
        true as is_warning,
        'The newest fiscal year in the Bisnode data, ' || latest_fiscal_year || ', has ' || n_firms_latest_year
        || ' firms against ' || n_firms_year_before_latest || ' the year before: not complete yet (annual '
        || 'reports still coming in), so the key figures follow up ' || followup_year || ' until it is.' as message
    from followup_year
    where latest_fiscal_year > followup_year
),

-- A participation that ends before it starts is loaded (the firm is in its cohort either way),
-- and named with its file and line so that the dates can be put right.
participation_dates as (
    select
        'participation_ends_before_it_starts' as check_name,
        program || ' ' || cohort_year || ' ' || firm_key as subject,
        date_diff('day', start_date, end_date) as measured_value,
        0 as threshold,
        1 as n_firms,
        true as is_warning,
        'The participation in ' || program || ' ' || cohort_year || ' ends (' || end_date || ') before it starts ('
        || start_date || ') (' || regexp_extract(source_file, '[^/\\]+$') || ', line ' || source_line
        || ', columns startdatum and slutdatum). Correct the dates and deliver the list again.' as message
    from current_participant_rows
    where end_date < start_date
),

-- A target for an indicator the warehouse does not measure has no outcome in the indicator
-- report. An operator's own indicator is recorded; a name a few letters from a measured one is
-- likely misspelt, and warned about.
measured_indicator_names as (
    select unnest({{ measured_indicator_list() }}) as indicator
),

target_edits as (
    select
        targets.program,
        targets.target_year,
        targets.indicator,
        measured.indicator as measured_indicator,
        levenshtein(lower(strip_accents(targets.indicator)), lower(strip_accents(measured.indicator))) as edits
    from {{ ref('int_operators__targets_deduplicated') }} as targets
    cross join measured_indicator_names as measured
),

unmeasured_targets as (
    select
        program,
        target_year,
        indicator,
        arg_min(measured_indicator, edits) as closest,
        min(edits) as distance
    from target_edits
    group by program, target_year, indicator
    having not bool_or(indicator = measured_indicator)
),

target_indicators as (
    select
        'target_for_unmeasured_indicator' as check_name,
        program || ' ' || target_year || ' ' || indicator as subject,
        distance as measured_value,
        {{ var('indicator_misspelling_max_edits', 3) }} as threshold,
        null::bigint as n_firms,
        distance <= {{ var('indicator_misspelling_max_edits', 3) }} as is_warning,
        'The targets name the indicator ''' || indicator || ''' for ' || program || ' ' || target_year
        || ', which the warehouse does not measure, so its outcome stays empty in the indicator report.'
        || case
            when distance <= {{ var('indicator_misspelling_max_edits', 3) }}
                then ' It looks like ''' || closest || ''': correct the name in the targets file and deliver it again.'
            else ''
        end as message
    from unmeasured_targets
),

-- Women and men are parts of the total: parts that do not add up are likely a typing error,
-- and the indicator report's share of target would rest on a total nobody meant.
target_parts as (
    select
        'target_parts_do_not_add_up' as check_name,
        program || ' ' || target_year || ' ' || indicator as subject,
        target_women + target_men - target_total as measured_value,
        0 as threshold,
        null::bigint as n_firms,
        true as is_warning,
        'The target for ''' || indicator || ''' in ' || program || ' ' || target_year || ' is '
        || target_women || ' women and ' || target_men || ' men, ' || (target_women + target_men)
        || ' together, but ' || target_total || ' in total (' || regexp_extract(source_file, '[^/\\]+$')
        || ', line ' || source_line || ', columns mal_kvinnor, mal_man and mal_totalt). '
        || 'Correct the targets file and deliver it again.' as message
    from {{ ref('int_operators__targets_deduplicated') }}
    where target_women + target_men != target_total
),

findings as (
    select * from found_in_bisnode
    union all by name
    select * from without_base_year
    union all by name
    select * from coverage
    union all by name
    select * from unit_errors
    union all by name
    select * from freshness
    union all by name
    select * from latest_year_coverage
    union all by name
    select * from participation_dates
    union all by name
    select * from target_indicators
    union all by name
    select * from target_parts
)

select
    check_name || ': ' || subject as finding_key,
    check_name,
    subject,
    measured_value::double as measured_value,
    threshold::double as threshold,
    n_firms,
    is_warning,
    message
from findings
