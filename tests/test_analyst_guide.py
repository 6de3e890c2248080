"""Every worked question in docs/analyst_guide.md gives the answer the guide prints."""

import re
from pathlib import Path

import duckdb
import pytest

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "analyst_guide.md"
PAIRS = re.findall(r"```sql\n(.*?)\n```.*?```answer\n(.*?)\n```", GUIDE.read_text(encoding="utf-8"), re.S)


def test_guide_has_ten_worked_questions():
    assert len(PAIRS) == 10


@pytest.mark.parametrize("sql, answer", PAIRS, ids=[f"question_{i}" for i in range(1, len(PAIRS) + 1)])
def test_worked_question(sql, answer, default_region_run):
    assert default_region_run["exit_code"] == 0
    with duckdb.connect(str(default_region_run["warehouse"] / "followup.duckdb"), read_only=True) as con:
        result = con.execute(sql).df()
    assert result.to_csv(index=False).strip() == answer.strip()
