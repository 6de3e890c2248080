-- One row per firm, year and country exported to; the latest delivery wins.
{{ latest_delivery(ref('stg_followup_survey__export_markets'), ['firm_key', 'market_year', 'country_code']) }}
