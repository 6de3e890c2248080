-- One row per firm, year and country exported to; the latest delivery wins. A view: an
-- anti-join against the few superseded rows costs less than writing every row again.
{{ config(materialized='view') }}

{{ latest_delivery(ref('stg_followup_survey__export_markets'), 'markets') }}
