"""Atomic file writes and content hashes."""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

from research.errors import ParameterError


@contextlib.contextmanager
def atomic_path(path: Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it over ``path`` only on success.

    A failure inside the block removes the temporary file, so nothing
    half-written is ever left at ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temporary, 0o666 & ~umask)  # mkstemp creates 0600; use the usual mode
        os.replace(temporary, path)
    finally:
        if temporary.exists():
            temporary.unlink()


def current_umask() -> int:
    """The process umask, read without changing it where Linux allows (``/proc``), so
    threads that create files meanwhile are not affected; elsewhere set and restored."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


def make_temp_dir(parent: Path, prefix: str, suffix: str = "") -> Path:
    """A new, uniquely named folder in ``parent`` with the mode a plain ``mkdir`` gives
    (``0o777`` less the umask), not the ``0o700`` of :func:`tempfile.mkdtemp`: a folder
    later renamed into place (a report run, an updated-data folder) must be readable by
    whoever the user's umask lets read it."""
    folder = Path(tempfile.mkdtemp(prefix=prefix, suffix=suffix, dir=parent))
    os.chmod(folder, 0o777 & ~current_umask())
    return folder


def write_atomic(path: Path, writer: Callable[[Path], object]) -> Path:
    """Call ``writer(temporary_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as temporary:
        writer(temporary)
    return Path(path)


def write_text_atomic(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return write_atomic(path, lambda p: Path(p).write_text(text, encoding="utf-8"))


def sha256_file(path: Path) -> str:
    """Hex SHA-256 of a file's bytes.

    Examples
    --------
    The FIPS 180-2 test vector: SHA-256 of ``abc``.

    >>> import tempfile
    >>> path = write_text_atomic(Path(tempfile.mkdtemp()) / "abc.txt", "abc")
    >>> path.read_text(encoding="utf-8")
    'abc'
    >>> sha256_file(path)
    'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad'
    """
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# Spreadsheet programs run a cell that starts with one of these as a formula (CSV
# injection, OWASP); a text cell that does gets a leading single quote
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?%?")


def spreadsheet_text(value: object) -> object:
    """``value`` safe for a spreadsheet cell: text starting with ``= + - @`` (or a tab
    or carriage return) gets a leading ``'``, unless it is a plain number such as
    ``-1.5``; anything that is not text is returned unchanged.

    Examples
    --------
    >>> spreadsheet_text("=cmd|' /C calc'!A0")
    "'=cmd|' /C calc'!A0"
    >>> spreadsheet_text("-1.5"), spreadsheet_text(-1.5), spreadsheet_text("Japan")
    ('-1.5', -1.5, 'Japan')
    """
    if (isinstance(value, str) and value.startswith(FORMULA_STARTS)
            and not _PLAIN_NUMBER.fullmatch(value)):
        return "'" + value
    return value


def spreadsheet_safe(frame):
    """A copy of DataFrame ``frame`` whose text cells and column names pass through
    :func:`spreadsheet_text`; numeric, boolean and date columns are left as they are."""
    import pandas as pd

    safe = frame.copy()
    for column in safe.columns:
        values = safe[column]
        if isinstance(values.dtype, pd.CategoricalDtype):
            values = values.astype(object)
        if pd.api.types.is_object_dtype(values) or pd.api.types.is_string_dtype(values):
            safe[column] = values.map(spreadsheet_text, na_action="ignore")
    safe.columns = [spreadsheet_text(c) for c in safe.columns]
    return safe


def write_csv(frame, path: Path, **to_csv) -> Path:
    """Write DataFrame ``frame`` as CSV for spreadsheets, atomically, with its text
    cells neutralised by :func:`spreadsheet_safe` (``to_csv`` goes to
    ``DataFrame.to_csv``; ``index`` defaults to False)."""
    safe = spreadsheet_safe(frame)
    to_csv.setdefault("index", False)
    return write_atomic(Path(path), lambda p: safe.to_csv(p, **to_csv))


def check_output(out: Path, inputs: Iterable[Path] = ()) -> Path:
    """``out`` when a command may write a file there; ParameterError otherwise.

    Refused: a folder (or a path ending in a separator), and any of ``inputs`` (the
    same file by resolved path or by :func:`os.path.samefile`, so a link or a second
    name of the input counts too), so that writing never destroys what was read.
    """
    out = Path(out)
    if out.is_dir() or str(out).endswith(("/", os.sep)):
        raise ParameterError(f"--out {str(out)!r} is a folder; give a file name such as "
                             f"{Path(out, 'table.csv')}")
    for given in inputs:
        given = Path(given)
        same = out.resolve() == given.resolve()
        if not same and out.exists() and given.exists():
            try:
                same = os.path.samefile(out, given)
            except OSError:
                same = False
        if same:
            raise ParameterError(f"--out {str(out)!r} is the input file {str(given)!r}; "
                                 "writing there would overwrite it: give another file")
    return out
