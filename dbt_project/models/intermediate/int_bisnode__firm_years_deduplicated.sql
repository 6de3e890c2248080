-- One row per firm and fiscal year. When a year is delivered more than once, the latest
-- delivery wins (higher delivery_seq, then the later line).
{{ latest_delivery(ref('stg_bisnode__financials'), ['firm_key', 'fiscal_year']) }}
