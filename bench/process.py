"""Run a command and measure it: wall time, exit code, peak resident memory of its process tree.

Memory is sampled from /proc every ``SAMPLE_SECONDS``: the sum of the resident set of the
process and every descendant (dbt's subprocess included). Shared pages count once per
process, so the sum is an upper bound; a spike shorter than the interval can be missed,
which is why the kernel's own peak of the largest single process is reported beside it.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SAMPLE_SECONDS = 0.2
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measured:
    exit_code: int
    seconds: float
    peak_tree_rss_bytes: int
    largest_process_rss_bytes: int
    stdout_path: Path
    stderr_path: Path

    def stderr_tail(self, lines: int = 15) -> str:
        text = self.stderr_path.read_text(errors="replace").strip().splitlines()
        return "\n".join(text[-lines:])


def parent_of(pid: str) -> int | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # the process ended between listing and reading
        return None
    # The command name in parentheses may contain spaces; the fields after it do not.
    return int(stat.rsplit(")", 1)[1].split()[1])


def process_tree(root: int, parents: dict[int, int]) -> set[int]:
    """``root`` and all its descendants, given each process's parent."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    tree, frontier = {root}, [root]
    while frontier:
        for child in children.get(frontier.pop(), []):
            if child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def resident_bytes(pid: int) -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * PAGE_BYTES
    except OSError:
        return 0


def tree_rss(root: int) -> int:
    parents = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            ppid = parent_of(entry.name)
            if ppid is not None:
                parents[int(entry.name)] = ppid
    return sum(resident_bytes(pid) for pid in process_tree(root, parents))


def run_measured(command: list[str], log_dir: Path, name: str, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> Measured:
    """Run ``command`` to completion, its output in ``log_dir/name.{out,err}``."""
    log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = log_dir / f"{name}.out", log_dir / f"{name}.err"
    peak = 0
    with out_path.open("wb") as out, err_path.open("wb") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, cwd=cwd)
        while True:
            # wait4 rather than Popen.wait: it also returns the kernel's peak RSS of the child.
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            peak = max(peak, tree_rss(process.pid))
            time.sleep(SAMPLE_SECONDS)
        seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    return Measured(process.returncode, seconds, peak, usage.ru_maxrss * 1024, out_path, err_path)
