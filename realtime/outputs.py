"""Output files that never destroy a user's file: one guard before any work, one atomic writer after.

**The guard** runs before anything slow happens and raises :class:`engines.base.LivePuppetError` with one
line naming the path and what to do:

* :func:`check_output` ``(output, inputs=(), *, suffixes=None, option="--out") -> Path`` refuses an output
  that is empty or ends in a path separator, that is the same file as any input (same device and inode, so
  hard links and symlinks are caught, not only equal paths), that exists but is a folder or not a regular
  file (``/dev/full``, ``/proc/self/status``), whose folder is missing, not a folder, or not writable (a real
  probe file is created and removed, so read-only mounts and ``/proc`` are caught even for root), or whose
  suffix is not in ``suffixes`` (the message lists those that work). It returns the path to write to:
  symlinks resolved, so a link keeps pointing at the new content.
* :func:`check_output_folder` ``(folder, inputs=(), *, option="--out") -> Path``: the same for a command
  that writes several files into a folder (created when missing, if its parent is writable).
* :func:`check_inputs` ``(named: Mapping[str, Path | None]) -> list[Path]``: every given input is an
  existing file ("source image not found: x.jpg"); feed the result to ``check_output``.
* :func:`output_path` ``(text) -> Path`` is the argparse ``type=`` for ``--out``: it refuses an empty name and
  a trailing separator (``Path("o/")`` would silently drop it) with argparse's own one-line usage error.
* :func:`same_file` ``(a, b) -> bool``: whether two paths name one file (False when either is missing).

**The writer**, :class:`AtomicOutput` ``(target, *, count_frames=None)``, is a context manager yielding
itself; write to ``.temporary`` (a hidden file in the target's folder with the target's suffix, so FFmpeg
and OpenCV pick the format from it). On a clean exit the temporary is fsynced and renamed over the target
(``os.replace``: readers see the old file or the new one, never a mix), and the folder is fsynced. On any
exception, KeyboardInterrupt and signals included, the target is untouched; when ``count_frames`` is given
and reports frames in the temporary (``count_frames(path) -> int``, 0 for unplayable), it is kept as
``NAME.partial.SUFFIX`` (:func:`partial_path`), else removed, and the exception gets a note saying which
(``exc.__notes__``, printed on the same line by the CLI). An :class:`OSError` (ENOSPC, EIO...) escaping the
block becomes a LivePuppetError naming the target: "cannot write out.mp4: no space left on device".
:func:`one_line` ``(exc) -> str`` is its message and notes on one line;
:func:`write_error` ``(target, exc) -> LivePuppetError`` builds that line (notes copied) for other writers.
``commit()`` / ``abandon(exc, *, keep_partial=True)`` do the same by hand for writers that are not a ``with`` block.

Small files: :func:`write_bytes_atomic` ``(target, data: bytes) -> Path`` and :func:`write_text_atomic`
``(target, text: str) -> Path`` (same guarantees, same errors).

Tests can inject a write failure: ``LIVEPUPPET_FAULT_ENOSPC_AFTER=N`` in the environment makes
:meth:`AtomicOutput.check_fault` (called by writers once per frame/chunk) raise ENOSPC on call N+1.
"""

from __future__ import annotations

import argparse
import errno
import os
import secrets
import tempfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from engines.base import LivePuppetError

VIDEO_SUFFIXES = (".mp4", ".mov", ".mkv", ".m4v", ".gif")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff")
FAULT_VARIABLE = "LIVEPUPPET_FAULT_ENOSPC_AFTER"
_TEMPORARY_PREFIX = ".livepuppet-"

PathLike = str | os.PathLike


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` are one file (same device and inode, symlinks followed)."""
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):
        return False


def _suffix_list(suffixes: Sequence[str]) -> str:
    return ", ".join(suffixes[:-1]) + f" or {suffixes[-1]}" if len(suffixes) > 1 else suffixes[0]


def _probe_writable(folder: Path, option: str, output: PathLike) -> None:
    """Create and remove a file in ``folder``: the only test that holds for root, read-only mounts and /proc."""
    try:
        handle, probe = tempfile.mkstemp(prefix=_TEMPORARY_PREFIX, suffix=".probe", dir=folder)
    except OSError as exc:
        raise LivePuppetError(
            f"{option} {output}: cannot create files in {folder} ({_reason(exc)})"
        ) from None
    os.close(handle)
    os.unlink(probe)


def _check_inputs(output: Path, inputs: Iterable[PathLike | None], option: str, shown: PathLike) -> None:
    for path in inputs:
        if path is not None and same_file(output, path):
            extra = "" if Path(path) == Path(shown) else f" (the same file as {path})"
            raise LivePuppetError(
                f"{option} {shown} would overwrite an input{extra}; choose another name"
            )


def check_inputs(named: Mapping[str, PathLike | None]) -> list[Path]:
    """Each given input (``{"source image": path, "--audio": None, ...}``) is an existing file; returns
    them (None skipped) for :func:`check_output`'s ``inputs``."""
    paths = []
    for what, path in named.items():
        if path is None:
            continue
        path = Path(path)
        if not path.is_file():
            raise LivePuppetError(f"{what} {path} is a folder" if path.is_dir() else f"{what} not found: {path}")
        paths.append(path)
    return paths


def output_path(text: str) -> Path:
    """argparse ``type=`` for an output file option: the raw text is checked before Path() drops a slash."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give a file name")
    if text.endswith(("/", os.sep)):
        raise argparse.ArgumentTypeError(f"{text} names a folder; give a file name inside it")
    return Path(text)


def check_output(
    output: PathLike,
    inputs: Iterable[PathLike | None] = (),
    *,
    suffixes: Sequence[str] | None = None,
    option: str = "--out",
) -> Path:
    """The file path to write ``output`` to, after refusing anything that would lose a file or fail late
    (see the module docstring). ``inputs`` may contain None (an option not given)."""
    text = os.fspath(output)
    if not text.strip():
        raise LivePuppetError(f"{option} is empty; give a file name such as out{(suffixes or ('.mp4',))[0]}")
    if text.endswith(("/", os.sep)):
        raise LivePuppetError(f"{option} {text} names a folder; give a file name inside it")
    try:
        path = Path(os.path.realpath(text))  # a symlink is written through: it keeps pointing at the output
    except OSError as exc:
        raise LivePuppetError(f"{option} {text}: {_reason(exc)}") from None
    _check_name_length(path, option)
    _check_inputs(path, list(inputs), option, text)
    if path.is_dir():
        raise LivePuppetError(f"{option} {text} is a folder; give a file name inside it")
    if path.exists() and not path.is_file():
        raise LivePuppetError(f"{option} {text} is not a regular file (a device or special file)")
    folder = path.parent
    if not folder.exists():
        raise LivePuppetError(f"{option} {text}: the folder {folder} does not exist; create it first")
    if not folder.is_dir():
        raise LivePuppetError(f"{option} {text}: {_first_file_in(folder)} is a file, not a folder")
    _probe_writable(folder, option, text)
    if suffixes is not None and path.suffix.lower() not in suffixes:
        got = f"'{path.suffix}' files" if path.suffix else "a file without a suffix"
        raise LivePuppetError(f"{option} {text}: cannot write {got}; use {_suffix_list(suffixes)}")
    return path


def _check_name_length(path: Path, option: str) -> None:
    """A file name the file system cannot hold (most take 255 bytes) is refused before any work."""
    longest = 255
    try:
        longest = os.pathconf(_first_file_in(path.parent), "PC_NAME_MAX")
    except (OSError, ValueError):
        pass
    size = len(os.fsencode(path.name))
    if size > longest:
        raise LivePuppetError(f"{option}: the file name is too long ({size} bytes, at most {longest})")


def check_output_folder(
    folder: PathLike, inputs: Iterable[PathLike | None] = (), *, option: str = "--out"
) -> Path:
    """The folder to write several files into, created when missing; refuses a folder that is (or holds) an
    input file's place, a path that is a file, and an unwritable place."""
    text = os.fspath(folder)
    if not text.strip():
        raise LivePuppetError(f"{option} is empty; give a folder name")
    path = Path(os.path.realpath(text))
    _check_inputs(path, list(inputs), option, text)
    if path.exists() and not path.is_dir():
        raise LivePuppetError(f"{option} {text} is a file; give a folder")
    if not path.exists():
        parent = path.parent
        if not parent.is_dir():
            raise LivePuppetError(f"{option} {text}: the folder {parent} does not exist; create it first")
        try:
            path.mkdir()
        except OSError as exc:
            raise LivePuppetError(f"{option} {text}: cannot create it ({_reason(exc)})") from None
    _probe_writable(path, option, text)
    return path


def _first_file_in(folder: Path) -> Path:
    """The part of ``folder`` that exists but is a file (``file.webp`` in ``file.webp/x/y``)."""
    for parent in (folder, *folder.parents):
        if parent.exists():
            return parent
    return folder


def _reason(exc: OSError) -> str:
    """'no space left on device' for an OSError (its strerror, lower-cased, without the path)."""
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]


def write_error(target: PathLike, exc: BaseException) -> LivePuppetError:
    """One line for a failed write: "cannot write TARGET: no space left on device", with ``exc``'s notes."""
    reason = _reason(exc) if isinstance(exc, OSError) else str(exc)
    error = LivePuppetError(f"cannot write {target}: {reason}")
    for note in getattr(exc, "__notes__", ()):
        error.add_note(note)
    return error


def one_line(exc: BaseException) -> str:
    """An exception's message followed by its notes, on one line ("cannot write o.mp4: no space left on
    device; o.mp4 is untouched; the 40 frames written so far are in o.partial.mp4")."""
    return "; ".join([str(exc) or type(exc).__name__, *map(str, getattr(exc, "__notes__", ()))]).replace("\n", " ")


def partial_path(target: PathLike) -> Path:
    """Where a cut-short output is kept: ``out.mp4`` -> ``out.partial.mp4``."""
    target = Path(target)
    return target.with_name(f"{target.stem}.partial{target.suffix}")


def _create_beside(target: Path) -> Path:
    """A new empty hidden file in ``target``'s folder with its suffix; mode 0666 less the umask, like any
    file the user creates (mkstemp's 0600 would leave the output unreadable to others)."""
    for _ in range(100):
        name = f"{_TEMPORARY_PREFIX}{target.stem[:40]}-{secrets.token_hex(4)}{target.suffix}"
        path = target.parent / name
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return path
    raise OSError(errno.EEXIST, "cannot find a free temporary name", str(target.parent))


def _fsync_folder(folder: Path) -> None:
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass  # some file systems cannot sync folders; the rename itself is still atomic
    finally:
        os.close(handle)


class AtomicOutput:
    """A temporary file beside ``target`` that replaces it only on success (see the module docstring).

    ``count_frames(path) -> int`` tells how many playable frames a cut-short temporary holds; with it, a
    failed write keeps them as :func:`partial_path`. ``target`` should come from :func:`check_output`.
    """

    def __init__(self, target: PathLike, *, count_frames: Callable[[Path], int] | None = None):
        self.target = Path(target)
        self.count_frames = count_frames
        self.kept: Path | None = None  # the partial file kept by abandon(), if any
        self.done = False
        if not self.target.parent.is_dir():
            raise LivePuppetError(f"cannot write {self.target}: the folder {self.target.parent} does not exist")
        try:
            self.temporary = _create_beside(self.target)
        except OSError as exc:
            raise LivePuppetError(f"cannot write {self.target}: {_reason(exc)}") from None
        self._fault_after = _fault_budget()

    def check_fault(self) -> None:
        """Raise ENOSPC when the test fault (``LIVEPUPPET_FAULT_ENOSPC_AFTER``) says this call fails."""
        if self._fault_after is None:
            return
        if self._fault_after <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(self.temporary))
        self._fault_after -= 1

    def commit(self) -> Path:
        """fsync the temporary and rename it over the target; returns the target."""
        if self.done:
            return self.target
        try:
            with open(self.temporary, "rb+") as handle:
                os.fsync(handle.fileno())
            os.replace(self.temporary, self.target)
        except OSError as exc:
            self._remove_temporary()
            self.done = True
            raise LivePuppetError(f"cannot write {self.target}: {_reason(exc)}") from None
        except BaseException as exc:  # Ctrl-C or SIGTERM in the middle: the old file stays, or the new one
            if self.temporary.exists():
                self.abandon(exc)
            self.done = True
            raise
        self.done = True
        _fsync_folder(self.target.parent)
        return self.target

    def abandon(self, exc: BaseException | None = None, *, keep_partial: bool = True) -> Path | None:
        """Leave the target untouched; keep the playable part as NAME.partial.SUFFIX (returned) when
        ``keep_partial``, else remove it. With ``exc``, a note on it says what happened to the output."""
        if self.done:
            return self.kept
        self.done = True
        frames = 0
        if keep_partial and self.count_frames is not None and self.temporary.exists():
            try:
                frames = int(self.count_frames(self.temporary))
            except Exception:  # an unreadable partial is simply not kept
                frames = 0
        untouched = f"{self.target} is untouched" if self.target.exists() else f"{self.target} was not written"
        if frames > 0:
            kept = partial_path(self.target)
            try:
                os.replace(self.temporary, kept)
                self.kept = kept
            except OSError:
                self._remove_temporary()
        else:
            self._remove_temporary()
        if exc is not None:
            if self.kept is not None:
                exc.add_note(f"{untouched}; the {frames} frames written so far are in {self.kept}")
            else:
                exc.add_note(untouched)
        return self.kept

    def _remove_temporary(self) -> None:
        try:
            self.temporary.unlink()
        except OSError:
            pass

    def __enter__(self) -> AtomicOutput:
        return self

    def __exit__(self, kind, exc, traceback) -> bool:
        if exc is None:
            self.commit()
            return False
        self.abandon(exc)
        if isinstance(exc, OSError):
            raise write_error(self.target, exc) from exc
        return False


def _fault_budget() -> int | None:
    value = os.environ.get(FAULT_VARIABLE)
    return int(value) if value and value.strip().lstrip("-").isdigit() else None


def write_bytes_atomic(target: PathLike, data: bytes) -> Path:
    """Write ``data`` to ``target`` atomically (the old file survives any failure)."""
    with AtomicOutput(target) as output:
        with open(output.temporary, "wb") as handle:
            handle.write(data)
    return output.target


def write_text_atomic(target: PathLike, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``target`` atomically."""
    return write_bytes_atomic(target, text.encode("utf-8"))
