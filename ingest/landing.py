"""What the landing folder holds: each source's deliveries, what lies where no source reads, and
the copies the night keeps beside them (the archive, and rejected files with their reasons).

A run never changes or deletes a delivered file; it only reads them and writes copies.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

from ingest.contracts import SOURCES, Source
from ingest.sample_region import MANIFEST_NAME

# Not an outcome in audit.loads: a file or folder in the landing folder that is no source's
# folder (Markets/, a file beside the folders); `followup run` names them.
OUTCOME_OUTSIDE_SOURCES = "outside_source_folders"
# What the nightly job itself keeps in the landing folder, and the planted effects of a sample region.
_LANDING_OWN = ("archive", "rejected", MANIFEST_NAME)

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
    files = [
        p for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.name.lower() not in _SYSTEM_FILES
    ]
    return sorted(files, key=lambda p: (p.stat().st_mtime_ns, p.name))


def outside_source_folders(landing_dir: Path) -> list[tuple[Path, str]]:
    """Files and folders in the landing folder that no source reads, with what to do about each."""
    folders = {name for name in SOURCES} | set(_LANDING_OWN)
    entries = []
    for entry in sorted(landing_dir.iterdir()) if landing_dir.is_dir() else []:
        if entry.name in folders or entry.name.startswith((".", "~$")) or entry.name.lower() in _SYSTEM_FILES:
            continue
        like = next((name for name in SOURCES if name == entry.name.casefold()), None)
        where = (f"move its files into landing/{like}/ (folder names are lower case)" if like else
                 f"move each delivery into the folder of its source: {', '.join(f'{n}/' for n in SOURCES)}")
        kind = "folder" if entry.is_dir() else "file"
        entries.append((entry, f"this {kind} is no source's folder, so nothing in it is read; {where}"))
    return entries


def files_in_subfolders(landing_dir: Path, source: Source) -> list[Path]:
    """Files in folders below the source's folder (hidden ones and the system's own left out)."""
    folder = landing_dir / source.name
    if not folder.is_dir():
        return []
    return sorted(
        p for sub in folder.iterdir() if sub.is_dir() and not sub.name.startswith(".")
        for p in sub.rglob("*")
        if p.is_file() and not any(part.startswith((".", "~$")) for part in p.relative_to(folder).parts)
        and p.name.lower() not in _SYSTEM_FILES
    )


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
    """Keep an immutable, content-addressed copy of every delivery."""
    target = landing_dir / "archive" / sha[:2] / f"{sha}{path.suffix.lower()}"
    if target.exists():
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    shutil.copyfile(path, partial)
    os.chmod(partial, 0o444)
    os.replace(partial, target)


def set_aside(landing_dir: Path, path: Path, reason: str) -> None:
    """Put a copy of a rejected file, and why, in landing/rejected/<source>/ for the sender to see.

    One folder per source: two sources' files may share a name (leverans.csv), and neither
    copy nor reason may overwrite the other's."""
    folder = landing_dir / "rejected" / path.parent.name
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / path.name)
    (folder / f"{path.name}.reason.txt").write_text(reason + "\n", encoding="utf-8")
