"""What the landing folder holds: each source's deliveries, what lies where no source reads, and
the copies the night keeps beside them (the archive, and rejected files with their reasons).

A run never changes or deletes a delivered file; it only reads them and writes copies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import unicodedata
from pathlib import Path

from ingest.contracts import SOURCES, Source
from ingest.sample_region import MANIFEST_NAME

# Not an outcome in audit.loads: a file or folder in the landing folder that is no source's
# folder (Markets/, a file beside the folders); `followup run` names them.
OUTCOME_OUTSIDE_SOURCES = "outside_source_folders"
# What the nightly job itself keeps in the landing folder, and the planted effects of a sample region.
_LANDING_OWN = ("archive", "rejected", MANIFEST_NAME)

# A note beside the folders for those who deliver (README.txt, LÄSMIG.txt): no delivery, and
# named every night it would keep every night's exit code at 3.
_NOTES_TO_THE_SENDERS = ("readme", "läsmig", "lasmig", "läs mig", "las mig")

# What an operating system leaves in a shared folder: no delivery.
_SYSTEM_FILES = ("thumbs.db", "desktop.ini")


def delivered_files(landing_dir: Path, source: Source) -> list[Path]:
    """The source's files in delivery order (modification time, then name).

    Every file counts, whatever its type: one that cannot be read (an .xls, a .zip) is
    rejected with a reason, not passed over. Hidden files, Office's lock files (~$...) and
    the system's own files are no delivery.
    """
    folder = landing_dir / source.name
    if not folder.is_dir():
        return []
    files = [p for p in _entries(folder) if p.is_file()]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def outside_source_folders(landing_dir: Path) -> list[tuple[Path, str]]:
    """Files and folders in the landing folder that no source reads, with what to do about each.

    A source's folder spelt in other case (Markets/) is left to ``misplaced_files``, which names
    each file in it when that source is loaded."""
    entries = []
    for entry in _entries(landing_dir):
        if entry.name in SOURCES or entry.name in _LANDING_OWN or _source_in_other_case(landing_dir, entry):
            continue
        if entry.is_file() and unicodedata.normalize("NFC", entry.name).casefold().startswith(_NOTES_TO_THE_SENDERS):
            continue
        kind = "folder" if entry.is_dir() else "file"
        entries.append((entry, f"this {kind} is no source's folder, so nothing in it is read; move each delivery "
                               f"into the folder of its source: {', '.join(f'{n}/' for n in SOURCES)}"))
    return entries


def misplaced_files(landing_dir: Path, source: Source) -> list[tuple[Path, str]]:
    """Files meant for the source that it does not read, with what to do about each: those in a
    subfolder of its folder (two subfolders may hold files of one name) and those in its folder
    spelt in other case (Markets/)."""
    folder = landing_dir / source.name
    misplaced = []
    if folder.is_dir():
        misplaced += [(path, f"is in a subfolder of landing/{source.name}/, where no file is read; move it into "
                             f"landing/{source.name}/ itself (under a name no other delivery there has)")
                      for sub in _entries(folder) if sub.is_dir() for path in _files_below(sub)]
    for other in _entries(landing_dir):
        if _source_in_other_case(landing_dir, other) == source.name:
            misplaced += [(path, f"is in landing/{other.name}/, which is not read (folder names are lower case); "
                                 f"move it into landing/{source.name}/") for path in _files_below(other)]
    return misplaced


def _entries(folder: Path) -> list[Path]:
    """The folder's entries, less hidden files, Office's lock files and the system's own."""
    return sorted(entry for entry in folder.iterdir()
                  if not entry.name.startswith((".", "~$")) and entry.name.lower() not in _SYSTEM_FILES)


def _files_below(folder: Path) -> list[Path]:
    return sorted(path for path in folder.rglob("*") if path.is_file()
                  and not any(part.startswith((".", "~$")) for part in path.relative_to(folder).parts)
                  and path.name.lower() not in _SYSTEM_FILES)


def _source_in_other_case(landing_dir: Path, entry: Path) -> str | None:
    """The source whose folder ``entry`` is, spelt in other case, unless the file system takes
    it for that folder anyway (case-insensitive, as on macOS or Windows)."""
    name = entry.name.casefold()
    if not entry.is_dir() or name not in SOURCES or entry.name == name:
        return None
    proper = landing_dir / name
    return None if proper.exists() and proper.samefile(entry) else name


def size_and_mtime(path: Path) -> tuple[int, int]:
    stat = path.stat()
    return stat.st_size, stat.st_mtime_ns


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 24):
            digest.update(chunk)
    return digest.hexdigest()


def with_fallback(copy, landing_dir: Path, fallback_dir: Path | None, *args) -> None:
    """Write a copy under the landing folder, or under the fallback folder if that fails."""
    try:
        copy(landing_dir, *args)
    except OSError:
        if fallback_dir is None:
            raise
        # The copies hold organisation numbers, personal ones among them: the owner's alone.
        fallback_dir.mkdir(parents=True, exist_ok=True)
        os.chmod(fallback_dir, 0o700)
        copy(fallback_dir, *args)


def archive(landing_dir: Path, path: Path, sha: str) -> None:
    """Keep an immutable, content-addressed copy of every delivery, for the nightly job alone.

    The copy is read-only and no more readable than the delivery (a list of sole traders sent
    readable by its owner alone stays so); the archive folder is made the owner's alone."""
    folder = landing_dir / "archive"
    target = folder / sha[:2] / f"{sha}{path.suffix.lower()}"
    if target.exists():
        return
    if not folder.is_dir():
        folder.mkdir(parents=True)
        os.chmod(folder, 0o700)
    target.parent.mkdir(exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    os.chmod(partial, _delivered_mode(path) & 0o444)
    os.replace(partial, target)


def set_aside(landing_dir: Path, path: Path, reason: str) -> None:
    """Put a copy of a rejected file, and why, in landing/rejected/<source>/ for the sender to see.

    One folder per source: two sources' files may share a name (leverans.csv), and neither
    copy nor reason may overwrite the other's."""
    folder = landing_dir / "rejected" / path.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    # The copy, and the reason that may quote its values, no more readable than the delivery.
    mode = _delivered_mode(path) & 0o666
    for written in (folder / path.name, folder / f"{path.name}.reason.txt"):
        written.unlink(missing_ok=True)
    shutil.copyfile(path, folder / path.name)
    os.chmod(folder / path.name, mode)
    reason_file = folder / f"{path.name}.reason.txt"
    reason_file.write_text(reason + "\n", encoding="utf-8")
    os.chmod(reason_file, mode)


def _delivered_mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)
