{#- The rows of `relation` that the latest delivery of each key supplied: the highest
    delivery_seq, then the later source_line. An aggregate joined back rather than a
    row_number() window: at national scale (13 million firm-years) the window over every
    wide row ran out of DuckDB's memory limit, and an aggregate and a hash join spill to disk. -#}
{% macro latest_delivery(relation, keys) -%}
    select delivered.*
    from {{ relation }} as delivered
    inner join (
        select {{ keys | join(', ') }}, max({{ delivery_order('delivery_seq', 'source_line') }}) as latest_order
        from {{ relation }}
        group by {{ keys | join(', ') }}
    ) as latest
        on
        {%- for key in keys %}
            delivered.{{ key }} is not distinct from latest.{{ key }} and
        {%- endfor %}
            {{ delivery_order('delivered.delivery_seq', 'delivered.source_line') }} = latest.latest_order
{%- endmacro %}

{#- One number that orders rows by delivery, then by line (a file has fewer than 10^10 lines). -#}
{% macro delivery_order(delivery_seq, source_line) -%}
    cast({{ delivery_seq }} as bigint) * 10000000000 + {{ source_line }}
{%- endmacro %}
