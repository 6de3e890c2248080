"""Which dbt nodes a night must build when only some sources had new deliveries.

A model that reads nothing a new delivery changed, directly or through other models, would
be rebuilt from the same rows by the same code; the last completed build's table stands.
"""

from __future__ import annotations

from collections.abc import Iterable

# Every delivery adds to the load log, and the data-quality report reads it (and today's date).
LOAD_LOG = ("audit", "loads")


def unaffected_nodes(manifest: dict, changed_tables: Iterable[str]) -> list[str]:
    """The unique ids of the models, seeds, tests and unit tests downstream of neither the raw
    tables ``changed_tables`` nor the load log."""
    changed = set(changed_tables)
    roots = [
        unique_id for unique_id, source in manifest["sources"].items()
        if (source["schema"], source["identifier"]) == LOAD_LOG
        or (source["schema"] == "raw" and source["identifier"] in changed)
    ]
    affected: set[str] = set()
    stack = list(roots)
    while stack:
        for child in manifest["child_map"].get(stack.pop(), []):
            if child not in affected:
                affected.add(child)
                stack.append(child)
    return sorted(unique_id for unique_id in [*manifest["nodes"], *manifest["unit_tests"]] if unique_id not in affected)


def node_selectors(manifest: dict, unique_ids: Iterable[str]) -> list[str]:
    """A dbt selector for each node: ``fqn:`` and its full name, which no other node's is."""
    nodes = {**manifest["nodes"], **manifest["unit_tests"]}
    return [f"fqn:{'.'.join(nodes[unique_id]['fqn'])}" for unique_id in unique_ids]
