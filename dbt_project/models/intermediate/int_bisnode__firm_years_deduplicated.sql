-- One row per firm and fiscal year. When a year is delivered more than once, the latest
-- delivery wins. A view: fct_firm_year and int_firms__latest_attributes each read it once,
-- and a table would write every wide firm-year row to disk a second time.
{{ config(materialized='view') }}

{{ latest_delivery(ref('stg_bisnode__financials'), 'bisnode') }}
