-- The five outcomes of the effect estimates, per firm and fiscal year, on the scale the
-- estimates use: log turnover, log(1 + employees), log(1 + export turnover) and the number
-- of export markets, with the county of the firm's seat that year. A change is then a
-- difference of two rows of this table.
-- A view: the logarithms cost less to compute where they are read than a second copy of
-- every firm-year costs to write (at 1.2 M firms, the models that read this and its test took
-- 41 s instead of 51 s when it was a table, measured on their own).
{{ config(materialized='view') }}

select
    firm_key,
    fiscal_year,
    net_turnover_tkr,
    employees,
    {{ county_code('municipality_code') }} as county_code,
    sni_section,
    ln(nullif(net_turnover_tkr, 0)) as log_turnover,
    ln(1 + employees) as log_employees,
    ln(1 + export_turnover_tkr) as log_export_turnover,
    n_export_markets as n_markets
from {{ ref('fct_firm_year') }}
