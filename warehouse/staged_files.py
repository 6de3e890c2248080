"""Files that appear under their final names only once all of them are complete.

A night that fails while writing its extract or report must leave no half-written workbook
under the name people open, nor a file the next night would take for tonight's output
(``build_state.publication_is_current`` looks for them). Each file is written to a hidden name
in its own folder, so the rename into place cannot cross file systems and is atomic.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


class StagedFiles:
    def __init__(self) -> None:
        self.renames: list[tuple[Path, Path]] = []

    def path(self, final: Path) -> Path:
        """Where to write the file that is to become ``final``. The suffix is kept, since
        openpyxl opens a workbook only under a name ending in .xlsx. What a killed writer left
        of the same file goes first."""
        _remove_leftovers(final)
        partial = final.with_name(f".{final.stem}.{os.getpid()}.partial{final.suffix}")
        self.renames.append((partial, final))
        return partial


def _remove_leftovers(final: Path) -> None:
    """Remove the partial files of ``final`` whose writer no longer runs: a process killed
    outright (kill -9, the out-of-memory killer) removes nothing, and a participant list's
    partial copy holds organisation numbers. A writer still running keeps its own."""
    prefix, suffix = f".{final.stem}.", f".partial{final.suffix}"
    for leftover in final.parent.glob(f"{glob.escape(prefix)}*{glob.escape(suffix)}"):
        writer = leftover.name[len(prefix):-len(suffix)]
        if writer.isdigit() and not _runs(int(writer)):
            leftover.unlink(missing_ok=True)


def _runs(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


@contextmanager
def staged_files() -> Iterator[StagedFiles]:
    """Write each file to ``staged.path(final)`` within the block. When the block completes,
    every file is renamed to its final name, in the order staged (stage last the file whose
    presence says the set is complete); when it fails, nothing is renamed and the partial files
    are removed."""
    staged = StagedFiles()
    try:
        yield staged
        for partial, final in staged.renames:
            os.replace(partial, final)
    finally:
        for partial, _ in staged.renames:  # none is left once all were renamed
            partial.unlink(missing_ok=True)
