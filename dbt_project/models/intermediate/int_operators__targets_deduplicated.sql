-- One target per program, year and indicator: the latest delivery's. A targets file
-- delivered again under the same name replaces the earlier one.
{{ config(materialized='view') }}

{{ latest_delivery(ref('stg_operators__targets'), 'targets') }}
