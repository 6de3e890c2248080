-- The only link between the pseudonymous firm key and the organisation number. Sole
-- traders' numbers are personal identity numbers: this schema is not for analysts.
select
    firm_key,
    org_nr,
    company_name,
    is_sole_trader
from {{ ref('int_firms__latest_attributes') }}
union all
select
    firm_key,
    any_value(org_nr) as org_nr,
    arg_max(company_name, [delivery_seq, source_line]) filter (where company_name is not null) as company_name,
    bool_or(is_sole_trader) as is_sole_trader
from {{ ref('stg_operators__participants') }}
where firm_key not in (select attributes.firm_key from {{ ref('int_firms__latest_attributes') }} as attributes)
group by firm_key
