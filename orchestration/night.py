"""Which night's folder a run writes to: the Stockholm date on which the run started.

Every step of a run asks the run, not the clock, so a run that crosses midnight still writes
its extracts and its report under one date.
"""

from datetime import datetime
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def stockholm_date(timestamp: float) -> str:
    """The date (YYYY-MM-DD) in Stockholm at the POSIX ``timestamp``."""
    return datetime.fromtimestamp(timestamp, STOCKHOLM).date().isoformat()


def today() -> str:
    """Today's date in Stockholm, for a command run by hand outside any Dagster run."""
    return stockholm_date(datetime.now().timestamp())


def run_date(context) -> str:
    """The Stockholm date on which the step's run started (``context``: a Dagster op context)."""
    record = context.instance.get_run_record_by_id(context.run_id)
    started = record.start_time if record and record.start_time else None
    return stockholm_date(started) if started else today()
