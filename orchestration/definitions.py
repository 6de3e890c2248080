"""The code location: every module under defs/ contributes its piece through its ``defs()``."""

import importlib
import pkgutil

import dagster as dg

from orchestration import defs as defs_package


def load_defs_modules() -> dg.Definitions:
    """Merge ``defs()`` of each module in ``orchestration/defs``, so a new module needs no wiring here."""
    modules = [importlib.import_module(f"{defs_package.__name__}.{info.name}")
               for info in pkgutil.iter_modules(defs_package.__path__)]
    return dg.Definitions.merge(*(module.defs() for module in modules if hasattr(module, "defs")))


defs = load_defs_modules()
