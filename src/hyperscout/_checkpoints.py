"""Trial checkpoints on disk, beside the storage: ``<root>/study-<id>/trial-<number>/``.

A paused trial resumes from its checkpoint; PBT's exploit step copies a better trial's
checkpoint into a new trial. The root is, in order: the ``checkpoint_dir`` given to
create_study (remembered in the study, so load_study and worker processes find it), the
directory ``<file>.checkpoints`` next to a SQLite file, or a temporary directory (in-memory
storage, PostgreSQL without ``checkpoint_dir``). Workers on several machines need a
``checkpoint_dir`` on a shared filesystem.

Writes are atomic (a temporary file renamed over the old one), so a worker killed while saving
leaves the previous checkpoint readable.
"""

from __future__ import annotations

import os
import pickle
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Any

__all__ = ["CheckpointStore", "default_root"]

_FILE = "checkpoint.pkl"


def default_root(url: str | None) -> Path | None:
    """``<file>.checkpoints`` for a SQLite file URL, else None (a temporary directory)."""
    if url is None or not url.startswith("sqlite"):
        return None
    path = url.split(":///", 1)[1] if ":///" in url else ""
    path = path.split("?", 1)[0]
    if not path or path == ":memory:":
        return None
    return Path(path).expanduser().resolve().with_name(Path(path).name + ".checkpoints")


class CheckpointStore:
    """The checkpoints of one study."""

    def __init__(self, root: Path | None, study_id: int) -> None:
        self._root = root
        self._study_id = study_id
        self._lock = threading.Lock()

    def _base(self) -> Path:
        with self._lock:
            if self._root is None:  # created on first use only
                self._root = Path(tempfile.mkdtemp(prefix="hyperscout-checkpoints-"))
            return self._root / f"study-{self._study_id}"

    def trial_dir(self, number: int, *, create: bool) -> Path:
        """The directory of trial ``number``."""
        path = self._base() / f"trial-{number}"
        if create:
            path.mkdir(parents=True, exist_ok=True)
        return path

    def save(self, number: int, obj: Any, step: int | None = None) -> None:
        """Pickle ``obj`` atomically as the trial's checkpoint, with the ``step`` it was
        taken at (a trial whose worker died goes on from there)."""
        folder = self.trial_dir(number, create=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-", suffix=".pkl")
        try:
            with os.fdopen(fd, "wb") as fh:
                pickle.dump(step, fh, protocol=pickle.HIGHEST_PROTOCOL)
                pickle.dump(obj, fh, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(tmp, folder / _FILE)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def _read(self, number: int, *, whole: bool) -> tuple[int | None, Any] | None:
        path = self.trial_dir(number, create=False) / _FILE
        if not path.exists():
            return None
        with open(path, "rb") as fh:
            step = pickle.load(fh)  # the step header, then the object
            return step, (pickle.load(fh) if whole else None)

    def load(self, number: int) -> Any:
        """The pickled checkpoint of trial ``number``, or None."""
        found = self._read(number, whole=True)
        return None if found is None else found[1]

    def saved_step(self, number: int) -> int | None:
        """The step trial ``number``'s checkpoint was saved at (None: no checkpoint, or saved
        outside a reported step)."""
        found = self._read(number, whole=False)
        return None if found is None or found[0] is None else int(found[0])

    def has_files(self, number: int) -> bool:
        """Whether trial ``number`` wrote anything in its checkpoint directory."""
        if self._root is None:
            return False
        folder = self.trial_dir(number, create=False)
        return folder.is_dir() and any(not p.name.startswith(".tmp-") for p in folder.iterdir())

    def stage(self, source: int) -> Path | None:
        """A private copy of trial ``source``'s checkpoint directory, to hand to a new trial
        with :meth:`adopt`; None when the source has none or it vanished while being copied
        (the source trial finished meanwhile)."""
        src = self.trial_dir(source, create=False)
        if not src.exists():
            return None
        staged = Path(tempfile.mkdtemp(prefix=".stage-", dir=self._base()))
        try:
            shutil.copytree(src, staged / "copy", ignore=shutil.ignore_patterns(".tmp-*"))
        except (OSError, shutil.Error):
            shutil.rmtree(staged, ignore_errors=True)
            return None
        return staged

    def adopt(self, staged: Path, target: int) -> None:
        """Make a :meth:`stage` d copy trial ``target``'s checkpoint directory."""
        dst = self.trial_dir(target, create=False)
        shutil.rmtree(dst, ignore_errors=True)
        os.replace(staged / "copy", dst)
        shutil.rmtree(staged, ignore_errors=True)

    def discard(self, staged: Path) -> None:
        """Drop a staged copy that no trial adopted."""
        shutil.rmtree(staged, ignore_errors=True)

    def remove(self, number: int) -> None:
        """Delete trial ``number``'s checkpoints (when it finished)."""
        if self._root is None:
            return
        shutil.rmtree(self.trial_dir(number, create=False), ignore_errors=True)
