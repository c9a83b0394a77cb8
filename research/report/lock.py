"""One writer at a time on a reports folder: a lock file, and cleaning what dead runs left.

``reports/.research.lock`` is created atomically (``O_CREAT | O_EXCL``) and holds the
process id, host, start time and command of the run that holds it. A second run waits
up to ``wait`` seconds (``--wait``, default :data:`LOCK_WAIT_VARIABLE` or 0), then
stops with :class:`ReportsLockedError` naming who holds the folder. A lock whose
process is gone (same host, no such pid) is stale: the next run takes it over. A lock
from another host is never taken over, since its process cannot be checked from here.

A run writes into a temporary folder ``.<name>.<host>-<pid>.<random>`` (see
:func:`temporary_prefix`) and renames it into place. A run killed before the rename
leaves that folder behind; :func:`remove_leftovers` removes such folders, but only those
whose owner (host and pid in the name) is this host and no longer running.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from research.errors import ParameterError, ReportError

LOCK_FILE = ".research.lock"
LOCK_WAIT_VARIABLE = "RESEARCH_LOCK_WAIT"
POLL_SECONDS = 0.2
# a lock file with no readable content (its writer between create and write, or killed
# there) counts as held for this long after its last change, then as stale
UNREADABLE_GRACE_SECONDS = 10.0
TEMPORARY = re.compile(r"\.(?P<name>[A-Za-z0-9][A-Za-z0-9_.-]{0,99})\."
                       r"(?P<host>[0-9a-f]{8})-(?P<pid>[0-9]{1,10})\.[a-z0-9_]{8}")

# lock files held, by (path, thread), with their nesting depth: a nested call in the same
# thread holds the one lock; another thread of this process waits like another process
_held: dict[tuple[Path, int], int] = {}
_held_guard = threading.Lock()


class ReportsLockedError(ReportError):
    """Another live run holds the reports folder; ``holder`` says who."""

    def __init__(self, message: str, holder: LockHolder | None) -> None:
        super().__init__(message)
        self.holder = holder


@dataclass(frozen=True)
class LockHolder:
    """Who holds a reports folder: process id, host, start time (UTC) and command."""

    pid: int
    host: str
    started: str
    command: str = ""
    token: str = ""

    def describe(self) -> str:
        """``process 123 on host since 2024-01-01T00:00:00+00:00 (research report run)``."""
        return (f"process {self.pid} on {self.host} since {self.started}"
                + (f" ({self.command})" if self.command else ""))


def host_name() -> str:
    """This machine's host name."""
    return socket.gethostname() or "localhost"


def host_id(host: str | None = None) -> str:
    """Eight hex digits naming ``host`` (default this one) in temporary folder names."""
    return hashlib.sha256((host or host_name()).encode("utf-8")).hexdigest()[:8]


def temporary_prefix(name: str) -> str:
    """Prefix of a temporary run folder of run ``name`` owned by this process:
    ``.<name>.<host id>-<pid>.`` (:func:`tempfile.mkdtemp` adds 8 random characters)."""
    return f".{name}.{host_id()}-{os.getpid()}."


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` runs on this host (signal 0 probes without signalling)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # it exists, under another user
    except OSError:
        return False
    return True


def _command() -> str:
    return " ".join(os.path.basename(a) if i == 0 else a
                    for i, a in enumerate(sys.argv))[:300]


def read_holder(path: Path) -> LockHolder | None:
    """The holder recorded in lock file ``path``; None when it is unreadable or garbled."""
    try:
        record = json.loads(Path(path).read_text(encoding="utf-8"))
        return LockHolder(pid=int(record["pid"]), host=str(record["host"]),
                          started=str(record["started"]), command=str(record.get("command", "")),
                          token=str(record.get("token", "")))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _stale(path: Path, holder: LockHolder | None) -> bool:
    """Whether the lock at ``path`` can be taken over: its process is gone from this
    host, or it has been unreadable for longer than the grace period."""
    if holder is None:
        try:
            age = time.time() - path.stat().st_mtime
        except FileNotFoundError:
            return False  # released meanwhile: just try again
        return age > UNREADABLE_GRACE_SECONDS
    return holder.host == host_name() and not pid_alive(holder.pid)


def _take_over(path: Path, holder: LockHolder | None) -> None:
    """Remove the stale lock ``path`` unless another run replaced it meanwhile.

    The lock is renamed aside first (atomic), then checked: when what was renamed is not
    the stale lock seen (another run took over and locked in between), it is linked
    back (``os.link`` fails rather than overwrite a newer lock)."""
    aside = path.with_name(f"{path.name}.stale.{os.getpid()}.{uuid.uuid4().hex[:8]}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return
    moved = read_holder(aside)
    if holder is not None and (moved is None or moved.token != holder.token):
        with contextlib.suppress(OSError):
            os.link(aside, path)
    aside.unlink(missing_ok=True)


def _create(path: Path, holder: LockHolder) -> bool:
    """Create lock file ``path`` for ``holder``; False when it exists already."""
    try:
        handle = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    try:
        record = {"pid": holder.pid, "host": holder.host, "started": holder.started,
                  "command": holder.command, "token": holder.token}
        os.write(handle, (json.dumps(record) + "\n").encode("utf-8"))
        os.fsync(handle)
    finally:
        os.close(handle)
    return True


def lock_wait(wait: float | None = None) -> float:
    """Seconds to wait for a held lock: ``wait``, else :data:`LOCK_WAIT_VARIABLE`, else 0."""
    if wait is None:
        text = os.environ.get(LOCK_WAIT_VARIABLE, "").strip()
        try:
            wait = float(text) if text else 0.0
        except ValueError as error:
            raise ParameterError(f"{LOCK_WAIT_VARIABLE}={text!r} is not a number of "
                                 "seconds") from error
    if not wait >= 0:
        raise ParameterError(f"--wait {wait!r}: give a number of seconds, 0 or more")
    return float(wait)


def _prepare_folder(reports_dir: Path) -> None:
    """Create ``reports_dir`` if needed; ReportError naming it when it cannot hold runs
    (a file, a read-only folder)."""
    if reports_dir.exists() and not reports_dir.is_dir():
        raise ReportError(f"{reports_dir}: the reports folder is a file, not a folder; "
                          "give a folder (--out)")
    try:
        reports_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ReportError(f"{reports_dir}: cannot create the reports folder: "
                          f"{error.strerror or error}") from error
    if not _writable(reports_dir):
        raise ReportError(f"{reports_dir}: the reports folder is not writable (permission "
                          "denied); give another folder (--out) or change its permissions")


def _writable(folder: Path) -> bool:
    """Whether this process may create entries in ``folder``."""
    return os.access(folder, os.W_OK | os.X_OK)


@contextlib.contextmanager
def reports_lock(reports_dir: Path, wait: float | None = None) -> Iterator[LockHolder]:
    """Hold ``reports_dir``'s lock for the block; yields this run's :class:`LockHolder`.

    Parameters
    ----------
    reports_dir : the reports folder (created if missing).
    wait : seconds to wait while another live run holds it (default
        :func:`lock_wait`); then :class:`ReportsLockedError` names the holder.

    Nested use in one thread (a regenerate inside an update) holds the one lock; another
    thread waits as another process would. A stale
    lock (its process gone from this host) is taken over; the lock is removed on exit
    only while it is still this run's.
    """
    reports_dir = Path(reports_dir).absolute()
    wait = lock_wait(wait)
    _prepare_folder(reports_dir)
    path = reports_dir / LOCK_FILE
    key = (path, threading.get_ident())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield read_holder(path) or LockHolder(os.getpid(), host_name(), "")
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    me = LockHolder(pid=os.getpid(), host=host_name(),
                    started=datetime.now(UTC).isoformat(timespec="seconds"),
                    command=_command(), token=uuid.uuid4().hex)
    deadline = time.monotonic() + wait
    while True:
        try:
            if _create(path, me):
                break
        except OSError as error:
            raise ReportError(f"{path}: cannot create the lock file of the reports "
                              f"folder: {error.strerror or error}") from error
        holder = read_holder(path)
        if _stale(path, holder):
            _take_over(path, holder)
            continue
        if time.monotonic() >= deadline:
            who = holder.describe() if holder else "a run whose lock file is being written"
            raise ReportsLockedError(
                f"{reports_dir}: the reports folder is in use by {who}"
                + (f"; waited {wait:g} s" if wait else "")
                + f". Wait for it to finish, or pass --wait SECONDS; if that process is "
                f"gone, remove {path}", holder)
        time.sleep(min(POLL_SECONDS, max(0.0, deadline - time.monotonic())))
    with _held_guard:
        _held[key] = 1
    try:
        yield me
    finally:
        with _held_guard:
            del _held[key]
        current = read_holder(path)
        if current is not None and current.token == me.token:
            path.unlink(missing_ok=True)


def remove_leftovers(reports_dir: Path) -> list[Path]:
    """Remove temporary run folders of dead runs in ``reports_dir``; returns them.

    Only direct children named like :data:`TEMPORARY` (``.<run>.<host id>-<pid>.<random>``)
    whose host is this one and whose pid no longer runs; folders of live runs, of other
    hosts and anything else are kept. Call it while holding :func:`reports_lock`.
    """
    import shutil

    here = host_id()
    removed = []
    try:
        entries = list(Path(reports_dir).iterdir())
    except OSError:
        return removed
    for entry in entries:
        found = TEMPORARY.fullmatch(entry.name)
        if (found is None or found["host"] != here or pid_alive(int(found["pid"]))
                or entry.is_symlink() or not entry.is_dir()):
            continue
        shutil.rmtree(entry, ignore_errors=True)
        removed.append(entry)
    return removed
