-- One count per municipality, year, dimension and category. When SCB delivers a revision of a
-- count, the latest delivery wins; summing both would count the municipality's firms twice.
{{ config(materialized='view') }}

{{ latest_delivery(ref('stg_scb__municipal_baselines'), 'baselines') }}
