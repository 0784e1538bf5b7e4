"""Replay what a careless user does to `livepuppet` and print one line per case.

    python -m bench.careless [--data ../shared/data] [--only NAME] [--json out.json]

Each case runs the real CLI in a subprocess, in a fresh folder holding copies of small media
(:mod:`bench.careless_media`), and is judged on: the exit code; for a refusal, exactly one line on stderr
saying the expected thing; never a Python traceback nor a MediaPipe/TFLite log line; the bytes (sha256) of
every file that was there before, inputs and older outputs, unchanged unless the case expects a new
output; no temporary file left behind. A full disk is simulated by the writers' injectable fault
(``LIVEPUPPET_FAULT_ENOSPC_AFTER``, see :mod:`realtime.outputs`). The test suite runs the same cases
(tests/realtime/test_careless_cli.py); this script prints, writes JSON with --json, and asserts nothing.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from bench.careless_media import frame_times, has_sound, make_media
from realtime.native_logs import CHATTER

REPO = Path(__file__).resolve().parents[1]
FAULT = "LIVEPUPPET_FAULT_ENOSPC_AFTER"


@dataclass(frozen=True)
class Case:
    """One careless command. ``argv`` names media by file name ({clip.mp4}); ``setup(folder)`` adds links,
    folders or older outputs; ``says`` is in the single stderr line of a refusal; ``changes`` are the
    files the command may (and must) write; ``check(folder, output)`` (stdout and stderr) returns extra problems."""

    name: str
    argv: tuple[str, ...]
    code: int
    says: str = ""
    setup: Callable[[Path], None] | None = None
    changes: tuple[str, ...] = ()
    env: dict = field(default_factory=dict)
    stop: tuple[int, float | str] | None = None  # (signal, when): seconds after the start, or "writing"
    check: Callable[[Path, str], list[str]] | None = None
    ran: bool = False  # the command did run (live): its INFO/ERROR log lines may precede the final line
    own: bool = False  # one of the ten added to the issue's list


def _render(
    *extra: str, out: str = "out.mp4", source: str = "{portrait.png}", driving: str = "{clip.mp4}", frames: int | None = 4
) -> tuple[str, ...]:
    """A render of a few small frames (``frames=None``: the whole driving video)."""
    limit = ("--max-frames", str(frames)) if frames else ()
    return ("render", "--source", source, "--driving", driving, "--out", out, "--size", "160", "--no-progress", *limit, *extra)


def _old(*names: str) -> Callable[[Path], None]:
    def setup(folder: Path) -> None:
        for name in names:
            (folder / name).write_bytes(b"an older render the user wants to keep " * 100)

    return setup


def _link(kind: str, target: str, name: str) -> Callable[[Path], None]:
    return lambda folder: (os.link if kind == "hard" else os.symlink)(folder / target, folder / name)


def _partial_kept(name: str) -> Callable[[Path, str], list[str]]:
    def check(folder: Path, stderr: str) -> list[str]:
        partial = folder / name
        if not partial.is_file():
            return [f"no {name}"]
        count = len(frame_times(partial))
        return [] if f"the {count} frames written so far are in" in stderr else [f"{name} has {count} frames, stderr does not say so"]

    return check


def _same_times(output: str, source: str) -> Callable[[Path, str], list[str]]:
    """Every output frame at its source frame's time (within 2 ms), and the sound kept: picture and sound
    stay in sync (the sound is copied from its start)."""

    def check(folder: Path, stderr: str) -> list[str]:
        got = frame_times(folder / output)
        want = frame_times(folder / source)[: len(got)]
        worst = max((abs(a - b) for a, b in zip(got, want)), default=1.0)
        problems = [] if len(got) >= 4 and worst < 0.002 else [f"frame times {got[:6]}... differ from {want[:6]}..."]
        return problems + ([] if has_sound(folder / output) else [f"{output} has no sound"])

    return check


def _says(text: str) -> Callable[[Path, str], list[str]]:
    return lambda folder, stderr: [] if text in stderr else [f"stderr does not mention {text!r}"]


def _folder(name: str) -> Callable[[Path], None]:
    return lambda folder: (folder / name).mkdir()


ISSUE_CASES = [
    Case("out-hard-link-of-driving", _render(out="hard.mp4"), 2, "would overwrite an input", _link("hard", "clip.mp4", "hard.mp4")),
    Case("live-record-over-driving", ("live", "--source", "{portrait.png}", "--driving", "{clip.mp4}", "--record", "{clip.mp4}", "--duration", "3"), 2, "would overwrite an input"),
    Case("out-over-audio", _render("--audio", "{speech.m4a}", out="{speech.m4a}"), 2, "would overwrite an input"),
    Case("sigterm-keeps-old-out", _render(out="old.mp4", driving="{long.mp4}", frames=None), 143, "stopped by SIGTERM",
         _old("old.mp4"), stop=(signal.SIGTERM, "writing"), check=_partial_kept("old.partial.mp4")),  # fmt: skip
    Case("sighup-keeps-old-out", _render(out="old.mp4", driving="{long.mp4}", frames=None), 129, "stopped by SIGHUP",
         _old("old.mp4"), stop=(signal.SIGHUP, "writing"), check=_partial_kept("old.partial.mp4")),  # fmt: skip
    Case("full-disk-keeps-old-out", _render(out="old.mp4"), 2, "no space left on device", _old("old.mp4"), env={FAULT: "2"},
         check=_partial_kept("old.partial.mp4")),  # fmt: skip
    Case("vfr-driving-keeps-times", _render(out="vfr_out.mp4", driving="{vfr.mp4}", frames=None), 0,
         changes=("vfr_out.mp4",), check=_same_times("vfr_out.mp4", "vfr.mp4")),  # fmt: skip
    Case("dev-vfr-clip-keeps-times", _render(out="dev_out.mp4", driving="{dev_vfr.mp4}", frames=30), 0,
         changes=("dev_out.mp4",), check=_same_times("dev_out.mp4", "dev_vfr.mp4")),  # fmt: skip
    Case("out-dev-full", _render(out="/dev/full"), 2, "not a regular file"),
    Case("out-proc-status", _render(out="/proc/self/status"), 2, "cannot create files in /proc"),
    Case("out-trailing-slash", _render(out="o/"), 2, "names a folder"),
    Case("out-empty", _render(out=""), 2, "is empty"),
    Case("out-is-a-folder", _render(out="somedir.mp4/"), 2, "names a folder", _folder("somedir.mp4")),
    Case("out-is-a-folder-no-slash", _render(out="somedir.mp4"), 2, "is a folder", _folder("somedir.mp4")),
    Case("out-under-a-file", _render(out="{portrait.png}/x.mp4"), 2, "is a file, not a folder"),
    Case("out-in-proc", _render(out="/proc/x.mp4"), 2, "cannot create files in /proc"),
    Case("out-gif-works", _render(out="x.gif"), 0, changes=("x.gif",)),
    Case("out-webm-refused", _render(out="x.webm"), 2, "use .mp4, .mov, .mkv, .m4v or .gif"),
    Case("out-png-refused", _render(out="x.png"), 2, "use .mp4"),
    Case("live-record-full-disk", ("live", "--source", "{portrait.png}", "--driving", "{long.mp4}", "--record", "rec.mp4",
         "--duration", "2", "--render-size", "160"), 2, "the recording failed: cannot write", env={FAULT: "3"},
         check=_partial_kept("rec.partial.mp4"), ran=True),  # fmt: skip
    Case("live-render-size-40000", ("live", "--source", "{portrait.png}", "--record", "r.mp4", "--render-size", "40000"), 2, "between 1 and 8192"),
    Case("timeline-binary", _render("--timeline", "{moves.bin.json}"), 2, "not a text file"),
    Case("timeline-yaml-works", _render("--timeline", "{moves.yaml}"), 0, changes=("out.mp4",)),
    Case("live-help-says-yaml", ("live", "--help"), 0, check=_says("JSON/YAML")),
    Case("edit-size-50000", ("edit", "--source", "{portrait.png}", "--out", "e.png", "--size", "50000"), 2, "between 1 and 8192"),
    Case("render-size-50000", _render("--size", "50000"), 2, "between 1 and 8192"),
    Case("demo-size-50000", ("demo", "--out", "d.mp4", "--size", "50000"), 2, "between 1 and 8192"),
    Case("demo-seconds-nan", ("demo", "--out", "d.mp4", "--seconds", "nan"), 2, "must be a finite number"),
    Case("driving-without-any-face", _render(driving="{noface.mp4}"), 2, "no face found in any of the"),
    Case("ctrl-c-at-start", _render(driving="{long.mp4}", frames=None), 130, "interrupted", stop=(signal.SIGINT, 0.4)),
    Case("ctrl-c-during-set-up", _render(driving="{long.mp4}", frames=None), 130, "interrupted", stop=(signal.SIGINT, 1.2)),
    Case("sigterm-during-set-up", _render(driving="{long.mp4}", frames=None), 143, "stopped by SIGTERM",
         stop=(signal.SIGTERM, 2.0)),  # fmt: skip
    Case("version", ("--version",), 0),
    Case("portrait-with-two-faces-named", _render("--size", "448", source="{two_faces.png}"), 0, changes=("out.mp4",),
         check=_says("shows 2 faces; animating the largest, centred at x=")),  # fmt: skip
]

OWN_CASES = [
    Case("out-same-as-source", _render(out="{portrait.png}"), 2, "would overwrite an input", own=True),
    Case("out-symlink-to-driving", _render(out="soft.mp4"), 2, "would overwrite an input", _link("soft", "clip.mp4", "soft.mp4"), own=True),
    Case("render-replaces-old-out", _render(out="old.mp4"), 0, setup=_old("old.mp4"), changes=("old.mp4",), own=True),
    Case("source-is-a-folder", _render(source="pics"), 2, "source image pics is a folder", _folder("pics"), own=True),
    Case("source-is-a-video", _render(source="{clip.mp4}"), 2, "clip.mp4", own=True),
    Case("max-frames-zero", _render("--max-frames", "0"), 2, "must be a positive number", own=True),
    Case("smooth-nan", _render("--smooth", "nan"), 2, "must be a finite number", own=True),
    Case("edit-out-mp4", ("edit", "--source", "{portrait.png}", "--out", "e.mp4"), 2, "use .png", own=True),
    Case("live-fps-inf", ("live", "--source", "{portrait.png}", "--record", "r.mp4", "--fps", "inf"), 2, "finite", own=True),
    Case("live-camera-negative", ("live", "--source", "{portrait.png}", "--camera", "-1"), 2, "must be 0 or more", own=True),
    Case("out-folder-missing", _render(out="renders/today/out.mp4"), 2, "does not exist; create it first", own=True),
    Case("out-name-too-long", _render(out="x" * 300 + ".mp4"), 2, "the file name is too long", own=True),
    Case("audio-without-sound", _render("--audio", "{noface.mp4}"), 2, "has no audio track", own=True),
    Case("timeline-is-the-driving-video", _render("--timeline", "{clip.mp4}"), 2, "not a text file", own=True),
]

CASES = ISSUE_CASES + OWN_CASES


@dataclass
class Outcome:
    case: Case
    code: int | None
    stderr: str
    seconds: float
    problems: list[str]

    def line(self) -> str:
        status = "ok  " if not self.problems else "FAIL"
        shown = self.stderr.strip().splitlines()[-1] if self.stderr.strip() else "(nothing on stderr)"
        tag = "own  " if self.case.own else "issue"
        extra = f"  PROBLEMS: {'; '.join(self.problems)}" if self.problems else ""
        return f"{status} {tag} {self.case.name:32s} exit {self.code!s:>4} {self.seconds:4.1f}s  {shown[:150]}{extra}"


def needs_met(case: Case, media: dict[str, Path]) -> bool:
    """Whether every medium ``case`` names was made (the dev clip is optional)."""
    return all(name in media for arg in case.argv for name in re.findall(r"\{([^}]+)\}", arg))


def _hashes(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()}


def _expand(argv: tuple[str, ...], folder: Path) -> list[str]:
    return [arg.replace("{", str(folder) + "/").replace("}", "") if arg.startswith("{") else arg for arg in argv]


def _wait_and_signal(process: subprocess.Popen, folder: Path, stop: tuple[int, str]) -> None:
    signum, when = stop
    if when != "writing":
        time.sleep(float(when))
    else:  # mid-render: the temporary output exists (the writer is open), then a few frames later
        deadline = time.monotonic() + 60
        while process.poll() is None and time.monotonic() < deadline and not any(folder.glob(".livepuppet-*.mp4")):
            time.sleep(0.05)
        time.sleep(1.5)
    if process.poll() is None:
        process.send_signal(signum)


def run_case(case: Case, media: dict[str, Path], work: Path) -> Outcome:
    folder = work / case.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    for name, path in media.items():
        if any("{" + name + "}" in arg for arg in case.argv):
            shutil.copyfile(path, folder / name)
    if case.setup is not None:
        case.setup(folder)
    before = _hashes(folder)
    env = {**os.environ, "PYTHONPATH": str(REPO), **case.env}
    env.pop(FAULT, None) if FAULT not in case.env else None
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "realtime.cli", *_expand(case.argv, folder)], cwd=folder,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    if case.stop is not None:
        _wait_and_signal(process, folder, case.stop)
    try:
        stdout, stderr = process.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        process.kill()
        stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    return Outcome(case, process.returncode, stderr, seconds, _judge(case, process.returncode, stdout, stderr, folder, before))


def _judge(case: Case, code: int, stdout: str, stderr: str, folder: Path, before: dict[str, str]) -> list[str]:
    problems = []
    # A Ctrl-C that lands in code CPython runs through exec() (dataclass and namedtuple builders, during the
    # imports) makes the interpreter end itself by SIGINT after our handler printed its line and returned
    # 130; a shell shows both as 130.
    accepted = {case.code, -signal.SIGINT} if case.code == 130 else {case.code}
    if code not in accepted:
        problems.append(f"exit {code}, expected {case.code}")
    if "Traceback" in stderr or "Traceback" in stdout:
        problems.append("a Python traceback")
    if any(CHATTER.match(line.encode()) for line in stderr.splitlines()):
        problems.append("a MediaPipe/TFLite log line")
    lines = [line for line in stderr.splitlines() if line.strip()]
    if case.ran:
        lines = [line for line in lines if line.startswith("livepuppet")]
    if case.code != 0 and len(lines) != 1:
        problems.append(f"{len(lines)} lines on stderr, expected one")
    if case.says and case.says not in stderr:
        problems.append(f"stderr does not say {case.says!r}")
    after = _hashes(folder)
    for name, digest in before.items():
        if name not in case.changes and after.get(name) != digest:
            problems.append(f"{name} was {'changed' if name in after else 'removed'}")
    for name in case.changes:
        if after.get(name) is None or after.get(name) == before.get(name):
            problems.append(f"{name} was not written")
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".livepuppet-")]
    if leftovers:
        problems.append(f"temporary files left: {leftovers}")
    if case.check is not None:
        problems += case.check(folder, stdout + stderr)
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data", help="the shared data folder")
    parser.add_argument("--only", action="append", help="run only this case (repeatable)")
    parser.add_argument("--json", type=Path, help="also write the outcomes here")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="careless-") as scratch:
        media = make_media(args.data, Path(scratch) / "media")
        outcomes = []
        for case in CASES:
            if (args.only and case.name not in args.only) or not needs_met(case, media):
                continue
            outcomes.append(run_case(case, media, Path(scratch) / "cases"))
            print(outcomes[-1].line(), flush=True)
    failed = sum(bool(o.problems) for o in outcomes)
    print(f"{len(outcomes) - failed}/{len(outcomes)} cases behave ({sum(o.case.own for o in outcomes)} of them added)")
    if args.json:
        args.json.write_text(json.dumps([{"case": o.case.name, "own": o.case.own, "exit": o.code, "seconds": round(o.seconds, 2),
                                          "stderr": o.stderr.strip(), "problems": o.problems} for o in outcomes], indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
