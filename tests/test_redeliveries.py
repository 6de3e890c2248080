"""Deliveries over several nights: a list delivered again under its name replaces the earlier
one, an earlier version sent again restores it, and a copy of a rejected file is rejected.

The expected memberships are computed independently (tests/independent.py) from the files in
the landing folder as they stand after each night.
"""

import os
import random
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from ingest.contracts import BISNODE
from ingest.load import load_source
from tests.conftest import run_cli
from tests.independent import memberships

EXPORTBOOST = "exportboost.csv"


def _published_memberships(warehouse) -> set:
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        keyed = con.execute("SELECT firm_key, program, cohort_year FROM marts.fct_cohort_membership").fetchall()
    with duckdb.connect(str(warehouse / "restricted" / "identifiers.duckdb"), read_only=True) as con:
        numbers = dict(con.execute("SELECT firm_key, org_nr FROM restricted.firm_identity").fetchall())
    return {(numbers[key], program, year) for key, program, year in keyed}


def _expected(landing) -> set:
    return {tuple(row) for row in memberships(landing)[["org", "program", "cohort_year"]].itertuples(index=False)}


def test_a_list_delivered_again_replaces_the_earlier_one(small_region, tmp_path):
    landing, good = tmp_path / "landing", tmp_path / "good"  # good: the same files without the rejected ones
    for folder in (landing, good):
        shutil.copytree(small_region, folder, ignore=shutil.ignore_patterns("archive"))
    original = (landing / "participants" / EXPORTBOOST).read_bytes()
    bad = "Organisationsnummer,Program\n5560000001,Exportboost\n"  # no Kohort column: rejected whole
    (landing / "participants" / "utan_kohort.csv").write_text(bad, encoding="utf-8")
    warehouse = tmp_path / "warehouse"

    def night(expected_exit: int) -> None:
        assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == expected_exit
        assert _published_memberships(warehouse) == _expected(good)

    night(3)

    # A supplement repeats a firm of the list, then is delivered again without it: the firm
    # stays in its cohort, which the list still delivers.
    rows = pd.read_csv(landing / "participants" / EXPORTBOOST, dtype=str, keep_default_na=False)
    for folder in (landing, good):
        rows.iloc[[3]].to_csv(folder / "participants" / "tillagg.csv", index=False)
    night(0)
    for folder in (landing, good):
        rows.iloc[[]].to_csv(folder / "participants" / "tillagg.csv", index=False)
    night(0)

    # The operator corrects the list under its name: one firm withdrawn, one moved a cohort on.
    rows = pd.read_csv(landing / "participants" / EXPORTBOOST, dtype=str, keep_default_na=False)
    rows = rows.iloc[1:].copy()
    rows.iloc[0, rows.columns.get_loc("Kohort")] = str(int(rows.iloc[0]["Kohort"]) + 1)
    for folder in (landing, good):
        rows.to_csv(folder / "participants" / EXPORTBOOST, index=False)
    night(0)
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        withdrawn_rows = con.execute(
            "SELECT count(*) FROM audit.superseded_rows WHERE superseded_by_line IS NULL AND file LIKE ?",
            [f"%{EXPORTBOOST}"],
        ).fetchone()[0]
    assert withdrawn_rows == 2  # the withdrawn row, and the moved firm's row under its old cohort

    # The list withdrawn whole: its header alone, under its name.
    header = (landing / "participants" / EXPORTBOOST).read_text(encoding="utf-8").splitlines()[0] + "\n"
    for folder in (landing, good):
        (folder / "participants" / EXPORTBOOST).write_text(header, encoding="utf-8")
    night(0)
    assert not {m for m in _published_memberships(warehouse) if m[1] == "Exportboost"}

    # The original sent again restores it, and a copy of the rejected file is rejected again.
    for folder in (landing, good):
        (folder / "participants" / EXPORTBOOST).write_bytes(original)
    (landing / "participants" / "utan_kohort_igen.csv").write_text(bad, encoding="utf-8")
    night(3)
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        outcome = con.execute("SELECT outcome FROM audit.loads WHERE path LIKE '%utan_kohort_igen.csv'").fetchall()
    assert outcome == [("rejected",)]
    assert (landing / "rejected" / "participants" / "utan_kohort_igen.csv").exists()


BISNODE_HEADER = ("Org.nr;Företagsnamn;Bokslutsår;Nettoomsättning (tkr);Exportomsättning (tkr);Antal anställda;"
                  "Kommunkod;SNI-kod;Registreringsdatum;Bolagsform")
FIRMS = ("556677-8899", "559000-1300")


def _bisnode_bytes(rows: dict) -> bytes:
    """A Bisnode delivery of ``rows``: (firm, fiscal year) -> net turnover."""
    lines = [f"{firm};AB;{year};{turnover};;3;1480;49410;2001-05-02;AB" for (firm, year), turnover in rows.items()]
    return ("\n".join([BISNODE_HEADER, *lines]) + "\n").encode("utf-8")


def _rows_in_effect(con) -> list[tuple[tuple[str, int], float]]:
    """The raw Bisnode rows no entry of audit.superseded_rows names, as ((firm, fiscal year), net turnover)."""
    rows = con.execute(
        "SELECT org_nr, fiscal_year, net_turnover_tkr FROM raw.bisnode AS r WHERE NOT EXISTS (SELECT 1 FROM "
        "audit.superseded_rows AS s WHERE s.delivery_seq = r._delivery_seq AND s.line = r._line)"
    ).fetchall()
    return sorted(((f"{org[:6]}-{org[6:]}", year), turnover) for org, year, turnover in rows)


def test_a_correction_withdrawn_brings_back_the_row_it_had_corrected(tmp_path):
    """A firm-year corrected by one file, then by another: each correction withdrawn (its file
    delivered again without the row) brings back the latest figure still delivered."""
    con = duckdb.connect()
    nights = iter(range(1, 100))

    def deliver(name: str, turnover_by_firm: dict[str, int]) -> None:
        night = next(nights)
        path = tmp_path / "bisnode" / name
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(_bisnode_bytes({(firm, 2019): turnover for firm, turnover in turnover_by_firm.items()}))
        os.utime(path, (night * 86400, night * 86400))  # delivered in this order
        results = load_source(con, BISNODE, tmp_path, f"night-{night}", b"key")
        assert [r.outcome for r in results] == ["loaded"], [r.message for r in results]

    def in_effect() -> dict[str, float]:
        rows = _rows_in_effect(con)
        assert len(rows) == len({key for key, _ in rows}), rows  # one row per firm-year
        return {firm: turnover for (firm, _), turnover in rows}

    deliver("bisnode_2019.csv", {FIRMS[0]: 100, FIRMS[1]: 200})
    deliver("rattelse_1.csv", {FIRMS[0]: 110})
    deliver("rattelse_2.csv", {FIRMS[0]: 120})
    assert in_effect() == {FIRMS[0]: 120, FIRMS[1]: 200}
    deliver("rattelse_2.csv", {})
    assert in_effect() == {FIRMS[0]: 110, FIRMS[1]: 200}
    deliver("rattelse_1.csv", {FIRMS[1]: 210})
    assert in_effect() == {FIRMS[0]: 100, FIRMS[1]: 210}
    deliver("rattelse_1.csv", {FIRMS[0]: 130})
    assert in_effect() == {FIRMS[0]: 130, FIRMS[1]: 200}
    deliver("bisnode_2019.csv", {FIRMS[0]: 105, FIRMS[1]: 205})  # the year delivered anew wins, being latest
    assert in_effect() == {FIRMS[0]: 105, FIRMS[1]: 205}


def test_a_list_corrected_under_its_name_to_what_another_file_holds_withdraws_what_it_no_longer_has(tmp_path):
    """The corrected list was first sent under a new name, then under the list's own: the second
    is no duplicate to pass over, but the list's new version."""
    con = duckdb.connect()
    turnover = {(FIRMS[0], 2019): 100, (FIRMS[1], 2019): 200}
    folder = tmp_path / "bisnode"
    folder.mkdir()
    for night, (name, firms) in enumerate([("lista.csv", FIRMS), ("lista_rattad.csv", FIRMS[:1]),
                                           ("lista.csv", FIRMS[:1])], start=1):
        (folder / name).write_bytes(_bisnode_bytes({(f, 2019): turnover[f, 2019] for f in firms}))
        os.utime(folder / name, (night * 86400, night * 86400))
        results = load_source(con, BISNODE, tmp_path, f"night-{night}", b"key")
        assert [r.outcome for r in results] == ["loaded"], [r.message for r in results]
    assert [key for key, _ in _rows_in_effect(con)] == [(FIRMS[0], 2019)]


def test_a_list_saved_again_on_a_mac_replaces_itself_though_its_name_is_spelt_decomposed(tmp_path):
    """"Bisnode år 2019.csv" as a Mac writes the name (a and a combining ring, NFD) is the list the
    operator sent before (NFC): the new version replaces it, and the row it no longer has goes."""
    con = duckdb.connect()
    folder = tmp_path / "bisnode"
    folder.mkdir()
    for night, (name, firms) in enumerate([("Bisnode \u00e5r 2019.csv", FIRMS), ("Bisnode a\u030ar 2019.csv", FIRMS[:1])],
                                          start=1):
        for earlier in folder.iterdir():
            earlier.unlink()
        (folder / name).write_bytes(_bisnode_bytes({(f, 2019): 100 for f in firms}))
        os.utime(folder / name, (night * 86400, night * 86400))
        results = load_source(con, BISNODE, tmp_path, f"night-{night}", b"key")
        assert [r.outcome for r in results] == ["loaded"], [r.message for r in results]
    assert [key for key, _ in _rows_in_effect(con)] == [(FIRMS[0], 2019)]


def test_a_note_to_the_senders_beside_the_source_folders_is_no_delivery_to_name(tmp_path):
    from ingest.landing import outside_source_folders

    (tmp_path / "participants").mkdir()
    for name in ("README.txt", "La\u0308smig.md", "bisnode_2024.csv"):  # the second as a Mac names it (NFD)
        (tmp_path / name).write_text("x", encoding="utf-8")
    (tmp_path / "readme").mkdir()
    assert sorted(path.name for path, _ in outside_source_folders(tmp_path)) == ["bisnode_2024.csv", "readme"]


def test_a_file_still_being_copied_at_night_is_read_the_night_after(small_region, tmp_path, monkeypatch, capsys):
    """The 02:00 night can find a list half copied to the landing share. A file that changes
    while it is read is neither loaded nor recorded (a cut-off copy was rejected, or, cut at
    a line end, loaded short); the next night reads it whole."""
    from ingest import load

    landing, good = tmp_path / "landing", tmp_path / "good"  # good: the landing folder without the list
    for folder in (landing, good):
        shutil.copytree(small_region, folder, ignore=shutil.ignore_patterns("archive"))
    (good / "participants" / EXPORTBOOST).unlink()
    arriving = landing / "participants" / EXPORTBOOST
    complete = arriving.read_bytes()
    arriving.write_bytes(complete[: len(complete) * 3 // 5])
    real_stage = load._stage_file

    def stage_while_the_copy_goes_on(con, source, path, *args):
        staged = real_stage(con, source, path, *args)
        if path == arriving and path.read_bytes() != complete:
            path.write_bytes(complete)  # the copy to the share finishes while the night reads the file
        return staged

    monkeypatch.setattr(load, "_stage_file", stage_while_the_copy_goes_on)
    warehouse = tmp_path / "warehouse"

    def exportboost_loads() -> list:
        with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
            return con.execute("SELECT outcome, rows_read FROM audit.loads WHERE path = ?", [str(arriving)]).fetchall()

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert f"STILL ARRIVING {arriving}: the file changed while it was read" in capsys.readouterr().out
    assert _published_memberships(warehouse) == _expected(good)
    assert exportboost_loads() == []
    archived = {p.read_bytes() for p in (landing / "archive").rglob("*.csv")}
    assert complete[: len(complete) * 3 // 5] not in archived

    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 0
    assert "STILL ARRIVING" not in capsys.readouterr().out
    assert _published_memberships(warehouse) == _expected(landing)
    assert exportboost_loads() == [("loaded", complete.decode("utf-8").count("\n") - 1)]


def test_files_the_night_cannot_or_does_not_read_are_named_and_the_rest_loads(small_region, tmp_path, monkeypatch, capsys):
    """A delivery held locked (or without read access for the night's account), one in a
    subfolder of its source's folder, a source folder spelt with a capital and a file beside
    the folders: none is read, each is named with what to do, the night exits 3, the rest loads."""
    landing, good = tmp_path / "landing", tmp_path / "good"  # good: only what is read
    for folder in (landing, good):
        shutil.copytree(small_region, folder, ignore=shutil.ignore_patterns("archive"))
    locked = landing / "participants" / EXPORTBOOST
    (good / "participants" / EXPORTBOOST).unlink()
    (landing / "participants" / "2020").mkdir()
    nested = landing / "participants" / "2020" / "nya.csv"
    shutil.copy(small_region / "participants" / EXPORTBOOST, nested)
    markets = landing / "Markets"
    (landing / "markets").rename(markets)
    (good / "markets" / "export_markets.csv").unlink()
    loose = landing / "targets_2021.csv"
    loose.write_text("program;ar;indikator;mal_kvinnor;mal_man;mal_totalt\n", encoding="utf-8")
    # Files named after a sole trader (a personal number): named everywhere as '[redacted]'.
    personal = "800101-1231"
    (landing / f"enkat_{personal}.csv").write_text("organisationsnummer;ar;land\n", encoding="utf-8")
    for targets in (landing / "targets").iterdir():
        shutil.copy(targets, landing / "targets" / f"{personal}_{targets.name}")
    opened = Path.open

    def open_unless_locked(path, *args, **kwargs):
        if path == locked:  # what the share answers while another program holds the file
            raise PermissionError(13, "Permission denied", str(path))
        return opened(path, *args, **kwargs)

    monkeypatch.setattr(Path, "open", open_unless_locked)
    warehouse = tmp_path / "warehouse"
    assert run_cli("run", "--landing", str(landing), "--warehouse", str(warehouse)) == 3
    out = capsys.readouterr().out
    assert f"NOT READ {locked}: cannot be opened (Permission denied)" in out and "read access" in out
    assert f"NOT READ {nested}: is in a subfolder of landing/participants/" in out
    assert f"NOT READ {markets / 'export_markets.csv'}: is in landing/Markets/, which is not read" in out
    assert "move it into landing/markets/" in out and f"NOT READ {markets}:" not in out
    assert f"NOT READ {loose}: this file is no source's folder" in out
    assert _published_memberships(warehouse) == _expected(good)
    with duckdb.connect(str(warehouse / "followup.duckdb"), read_only=True) as con:
        recorded = {p for (p,) in con.execute("SELECT path FROM audit.loads").fetchall()}
    assert not recorded & {str(locked), str(nested), str(loose)}
    assert personal not in out and f"NOT READ {landing / 'enkat_[redacted].csv'}" in out
    assert personal not in " ".join(recorded) and any("[redacted]" in path for path in recorded)
    assert personal not in " ".join(_events_of_last_run())


def _events_of_last_run() -> list[str]:
    """The messages and metadata of the last run's events, as the Dagster UI shows them."""
    import dagster as dg

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_runs(limit=1)
        return [str(record.user_message) + str(record.dagster_event and record.dagster_event.event_specific_data)
                for record in instance.all_logs(run.run_id)]


# --- A randomized check of "Deliveries accumulate" against a model written from the README's rules.

MODEL_FIRMS = (*FIRMS, "556016-0680")
MODEL_KEYS = [(firm, year) for firm in MODEL_FIRMS for year in (2019, 2020)]


def _rows_of(content: bytes) -> dict:
    rows = {}
    for line in content.decode("utf-8").splitlines()[1:]:
        firm, _, year, turnover, *_ = line.split(";")
        rows[(firm, int(year))] = int(turnover)
    return rows


class _DeliveriesModel:
    """The rules of README.md "Deliveries accumulate", kept apart from ingest/load.py:

    - a file is its name; a new content under a name loaded before is its new version (even a
      header alone, which withdraws its rows); only the latest loaded version of a name counts;
    - of those versions' rows, each key's row of the latest delivery is in effect;
    - under a name never loaded: a header alone is rejected, and content identical to a file in
      effect (its name's latest version, every row of it in effect) is a duplicate, not loaded;
    - the same content as last processed under a name is skipped; order is mtime, then name.
    """

    def __init__(self):
        self.processed = {}  # name -> the content last processed under it, whatever the outcome
        self.latest = {}  # name -> (delivery order, content) of its latest loaded version
        self.order = 0

    def _winners(self) -> dict:
        best = {}
        for order, content in self.latest.values():
            for key, turnover in _rows_of(content).items():
                if key not in best or order > best[key][0]:
                    best[key] = (order, turnover)
        return best

    def in_effect(self) -> dict:
        return {key: turnover for key, (_, turnover) in self._winners().items()}

    def _file_in_effect(self, name: str) -> bool:
        order, content = self.latest[name]
        winners = self._winners()
        rows = _rows_of(content)
        return bool(rows) and all(winners[key][0] == order for key in rows)

    def night(self, folder: dict) -> list:
        """folder: name -> (mtime, content). Returns (name, outcome) of each file processed."""
        outcomes = []
        for name, (mtime, content) in sorted(folder.items(), key=lambda item: (item[1][0], item[0])):
            if self.processed.get(name) == content:
                continue
            self.processed[name] = content
            if name in self.latest:
                outcome = "loaded"
            elif not _rows_of(content):
                outcome = "rejected"
            elif any(c == content and self._file_in_effect(n) for n, (_, c) in self.latest.items()):
                outcome = "duplicate"
            else:
                outcome = "loaded"
            if outcome == "loaded":
                self.order += 1
                self.latest[name] = (self.order, content)
            outcomes.append((name, outcome))
        return outcomes


def _random_nights(rng: random.Random) -> list:
    """Nights of actions on the bisnode folder: ("write", name, content, mtime offset) or ("remove", name)."""
    folder, history, names, nights = {}, {}, iter(f"lista_{i}.csv" for i in range(100)), []

    def random_rows(unlike: bytes | None = None) -> bytes:
        while True:
            keys = rng.sample(MODEL_KEYS, rng.randint(1, 3))
            content = _bisnode_bytes({key: rng.choice((100, 200, 300)) for key in keys})
            if content != unlike:
                return content

    for _ in range(rng.randint(8, 12)):
        actions = []
        for _ in range(rng.randint(1, 2)):
            earlier = [n for n, h in history.items() if set(h) - {h[-1]}]
            choices = ["new"] + ["again", "header"] * bool(history) + ["copy", "remove"] * bool(folder)
            choices += ["restore"] * bool(earlier)
            kind = rng.choice(choices)
            if kind == "remove":
                name = rng.choice(sorted(folder))
                del folder[name]
                actions.append(("remove", name))
                continue
            if kind == "new":
                name, content = next(names), random_rows()
            elif kind == "again":
                name = rng.choice(sorted(history))
                content = random_rows(unlike=history[name][-1])
            elif kind == "header":
                name, content = rng.choice(sorted(history)), _bisnode_bytes({})
            elif kind == "copy":
                name, content = next(names), folder[rng.choice(sorted(folder))]
            else:  # restore: an earlier version's bytes, under its name
                name = rng.choice(sorted(earlier))
                content = rng.choice(sorted(set(history[name]) - {history[name][-1]}))
            folder[name] = content
            history.setdefault(name, []).append(content)
            actions.append(("write", name, content, rng.choice((0, 0, 1, 2))))
        nights.append(actions)
    return nights


def _replay(nights: list, landing: Path) -> list | None:
    """Run the nights through load_source and the model; the first night they differ, or None."""
    con = duckdb.connect()
    model, folder = _DeliveriesModel(), {}
    bisnode = landing / "bisnode"
    bisnode.mkdir(parents=True, exist_ok=True)
    for night, actions in enumerate(nights, start=1):
        for action in actions:
            if action[0] == "remove":
                if (bisnode / action[1]).exists():
                    (bisnode / action[1]).unlink()
                    del folder[action[1]]
                continue
            _, name, content, offset = action
            mtime = night * 86400 + offset  # files written the same second are delivered in name order
            (bisnode / name).write_bytes(content)
            os.utime(bisnode / name, (mtime, mtime))
            folder[name] = (mtime, content)
        results = load_source(con, BISNODE, landing, f"night-{night}", b"key")
        actual_outcomes = [(r.path.name, r.outcome) for r in results]
        expected_outcomes = model.night(folder)
        actual = [(key, int(turnover)) for key, turnover in _rows_in_effect(con)]
        expected = sorted(model.in_effect().items())
        if (actual_outcomes, actual) != (expected_outcomes, expected):
            return [night, expected_outcomes, actual_outcomes, expected, actual]
    return None


@pytest.mark.parametrize("seed", range(8))
def test_random_redeliveries_keep_in_effect_what_the_rules_say(seed, tmp_path):
    """Random nights of new lists, lists sent again (changed, header alone, an earlier version),
    copies under new names and files removed: after each night the outcomes and the rows in
    effect are those of a model of the README's rules."""
    nights = _random_nights(random.Random(seed))
    difference = _replay(nights, tmp_path)
    assert difference is None, (
        "night {}: expected outcomes {}, got {}; expected in effect {}, got {}".format(*difference)
        + "\nnights: " + "\n".join(f"  {n}: {a}" for n, a in enumerate(nights, start=1))
    )
