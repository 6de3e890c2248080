-- The deltagarförteckning Tillväxtverket asks projects to attach: identifiers included.
-- One row per firm and cohort, with the name as the operator delivered it last; a row a
-- later delivery withdrew is not listed.
with current_rows as (
    {{ latest_delivery(ref('stg_operators__participants'), 'participants') }}
)

select
    firm_key,
    any_value(org_nr) as org_nr,
    arg_max(company_name, [delivery_seq, source_line]) as company_name,
    program,
    cohort_year
from current_rows
group by firm_key, program, cohort_year
