import argparse
import errno
import os
import stat
from pathlib import Path

import pytest

from engines.base import LivePuppetError
from realtime.outputs import (
    FAULT_VARIABLE,
    VIDEO_SUFFIXES,
    AtomicOutput,
    check_output,
    check_output_folder,
    output_path,
    partial_path,
    same_file,
    write_text_atomic,
)


@pytest.fixture
def clip(tmp_path) -> Path:
    path = tmp_path / "clip.mp4"
    path.write_bytes(b"driving video bytes")
    return path


def _leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(".livepuppet-"))


def test_hard_link_and_symlink_of_an_input_are_refused(tmp_path, clip):
    os.link(clip, tmp_path / "hard.mp4")
    os.symlink(clip, tmp_path / "soft.mp4")
    for name in ("hard.mp4", "soft.mp4", "clip.mp4"):
        with pytest.raises(LivePuppetError, match="would overwrite an input"):
            check_output(tmp_path / name, [None, clip], suffixes=VIDEO_SUFFIXES)
    assert same_file(tmp_path / "hard.mp4", clip) and not same_file(tmp_path / "nope", clip)


def test_folder_shaped_outputs_are_refused(tmp_path):
    (tmp_path / "somedir.mp4").mkdir()
    (tmp_path / "file.webp").write_bytes(b"x")
    cases = {
        str(tmp_path / "o") + "/": "names a folder",
        "": "is empty",
        str(tmp_path / "somedir.mp4"): "is a folder",
        str(tmp_path / "file.webp" / "x.mp4"): "is a file, not a folder",
        str(tmp_path / "missing" / "x.mp4"): "does not exist",
        "/dev/full": "not a regular file",
        "/proc/x.mp4": "cannot create files in /proc",
        str(tmp_path / ("x" * 300 + ".mp4")): "the file name is too long",
    }
    for output, message in cases.items():
        with pytest.raises(LivePuppetError, match=message) as error:
            check_output(output, suffixes=VIDEO_SUFFIXES)
        assert "\n" not in str(error.value)


def test_the_argument_type_keeps_the_trailing_slash():
    assert output_path("a/b.mp4") == Path("a/b.mp4")
    for text in ("o/", "", "  "):
        with pytest.raises(argparse.ArgumentTypeError):
            output_path(text)


def test_unsupported_suffix_lists_the_ones_that_work(tmp_path):
    with pytest.raises(LivePuppetError) as error:
        check_output(tmp_path / "x.webm", suffixes=(".mp4", ".gif"))
    assert "'.webm' files" in str(error.value) and ".mp4 or .gif" in str(error.value)
    assert check_output(tmp_path / "x.GIF", suffixes=(".mp4", ".gif")) == tmp_path / "x.GIF"


def test_a_symlinked_output_is_written_through(tmp_path):
    real = tmp_path / "real.txt"
    real.write_text("old")
    link = tmp_path / "link.txt"
    os.symlink(real, link)
    write_text_atomic(check_output(link), "new")
    assert link.is_symlink() and real.read_text() == "new"


def test_success_replaces_the_target_with_normal_permissions(tmp_path):
    target = tmp_path / "out.txt"
    target.write_text("old")
    with AtomicOutput(target) as output:
        assert output.temporary.parent == tmp_path and output.temporary.suffix == ".txt"
        output.temporary.write_text("new")
        assert target.read_text() == "old"  # nothing visible before the commit
    assert target.read_text() == "new" and _leftovers(tmp_path) == []
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask  # as any new file, not mkstemp's 0600


def test_failure_keeps_the_old_file_and_notes_it(tmp_path):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    with pytest.raises(KeyboardInterrupt) as error:
        with AtomicOutput(target) as output:
            output.temporary.write_bytes(b"half")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"precious" and _leftovers(tmp_path) == []
    assert error.value.__notes__ == [f"{target} is untouched"]
    assert not partial_path(target).exists()


def test_a_playable_partial_is_kept_with_its_frame_count(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(LivePuppetError) as error:
        with AtomicOutput(target, count_frames=lambda path: len(path.read_bytes())) as output:
            output.temporary.write_bytes(b"1234567")
            raise LivePuppetError("stopped")
    kept = tmp_path / "out.partial.mp4"
    assert kept.read_bytes() == b"1234567" and not target.exists()
    assert "7 frames" in error.value.__notes__[0] and str(kept) in error.value.__notes__[0]


def test_an_unplayable_partial_is_removed(tmp_path):
    target = tmp_path / "out.mp4"
    with pytest.raises(RuntimeError):
        with AtomicOutput(target, count_frames=lambda path: 0) as output:
            output.temporary.write_bytes(b"junk")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_write_errors_become_one_line_naming_the_target(tmp_path, monkeypatch):
    target = tmp_path / "out.mp4"
    target.write_bytes(b"precious")
    monkeypatch.setenv(FAULT_VARIABLE, "2")
    with pytest.raises(LivePuppetError) as error:
        with AtomicOutput(target) as output:
            for _ in range(5):
                output.check_fault()
    assert str(error.value) == f"cannot write {target}: no space left on device"
    assert isinstance(error.value.__cause__, OSError) and error.value.__cause__.errno == errno.ENOSPC
    assert target.read_bytes() == b"precious" and _leftovers(tmp_path) == []


def test_output_folder_is_created_or_refused(tmp_path, clip):
    assert check_output_folder(tmp_path / "new").is_dir()
    with pytest.raises(LivePuppetError, match="is a file"):
        check_output_folder(clip)
    with pytest.raises(LivePuppetError, match="does not exist"):
        check_output_folder(tmp_path / "a" / "b")
