"""The jobs file of ``livepuppet batch``: a JSON list of objects, or a CSV with the same columns.

Each job has ``source``, ``driving``, ``out`` and any option of ``livepuppet render`` under its long name
with ``_`` for ``-`` (``"engine": "warp"``, ``"mode": "diffusion"``, ``"max_frames": 60``, ``"keep_work":
true``), plus ``segment_frames`` (frames per unit of work). Every job is checked by the render command's own
parser, so options, types and defaults are exactly the command's. Relative paths are relative to the jobs
file's folder and are made absolute (workers on other machines see the same absolute paths).

A job that cannot be read becomes a :class:`BadJob` with its one-line reason; the others still run.
"""

from __future__ import annotations

import argparse
import csv
import json
from dataclasses import dataclass
from pathlib import Path

from engines.base import LivePuppetError

TRUE, FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off", ""}
BATCH_KEYS = ("segment_frames",)  # job keys the batch runner reads itself (not render options)


@dataclass(frozen=True, slots=True)
class BatchJob:
    number: int  # 1-based position in the jobs file
    args: argparse.Namespace  # the render command's arguments
    segment_frames: int | None = None  # None: the runner's default for the job's mode

    @property
    def name(self) -> str:
        return f"job {self.number} ({Path(self.args.out).name})"


@dataclass(frozen=True, slots=True)
class BadJob:
    number: int
    reason: str

    @property
    def name(self) -> str:
        return f"job {self.number}"


class _RaisingParser(argparse.ArgumentParser):
    """A parser that raises instead of printing usage and exiting."""

    def error(self, message: str):
        raise LivePuppetError(message)


def render_parser() -> argparse.ArgumentParser:
    """The ``livepuppet render`` parser, raising LivePuppetError on bad arguments."""
    from realtime.commands import render

    root = _RaisingParser(prog="livepuppet", add_help=False)
    subparsers = root.add_subparsers(dest="command")
    render.register(subparsers)
    return subparsers.choices["render"]


def read_rows(path: Path) -> list[dict]:
    """The job objects of a .json or .csv file (CSV cells are strings; empty cells are left out)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise LivePuppetError(f"cannot read the jobs file {path}: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".csv":
        return [
            {k.strip(): v.strip() for k, v in row.items() if k and v and v.strip()}
            for row in csv.DictReader(text.splitlines())
        ]
    try:
        rows = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LivePuppetError(f"{path} is not valid JSON (line {exc.lineno}: {exc.msg})") from None
    if not isinstance(rows, list):
        raise LivePuppetError(f"{path} must hold a JSON list of job objects")
    return rows


def load_jobs(path: Path) -> list[BatchJob | BadJob]:
    """The jobs of ``path``, in order; an unreadable job is a BadJob, not an error for the whole file."""
    parser = render_parser()
    jobs: list[BatchJob | BadJob] = []
    for number, row in enumerate(read_rows(Path(path)), start=1):
        try:
            jobs.append(parse_job(number, row, parser, Path(path).resolve().parent))
        except LivePuppetError as exc:
            jobs.append(BadJob(number, str(exc)))
    if not jobs:
        raise LivePuppetError(f"{path} holds no jobs")
    return jobs


def parse_job(number: int, row: object, parser: argparse.ArgumentParser, folder: Path) -> BatchJob:
    if not isinstance(row, dict):
        raise LivePuppetError(
            f"a job must be an object with source, driving and out, got {type(row).__name__}"
        )
    row = dict(row)
    if "driving" not in row and "audio" in row:
        raise LivePuppetError(
            "audio-only jobs are not supported: give a driving video (audio then drives the mouth)"
        )
    segment_frames = row.pop("segment_frames", None)
    args = parser.parse_args(_argv(row, parser))
    for action in parser._actions:
        value = getattr(args, action.dest, None)
        if isinstance(value, Path) and not value.is_absolute():
            setattr(args, action.dest, folder / value)
    args.progress = False  # the batch has its own progress bar
    return BatchJob(number, args, _positive_int(segment_frames, "segment_frames"))


def _argv(row: dict, parser: argparse.ArgumentParser) -> list[str]:
    """``{"max_frames": 60, "keep_work": true}`` -> ``["--max-frames", "60", "--keep-work"]``."""
    options = parser._option_string_actions
    argv: list[str] = []
    for key, value in row.items():
        option = "--" + str(key).replace("_", "-")
        action = options.get(option)
        if action is None or option in ("--help", "-h"):
            raise LivePuppetError(f"unknown option {key!r} (the options of livepuppet render, '_' for '-')")
        if value is None:
            continue
        if action.nargs == 0:  # a flag: true adds it, false leaves it out
            text = str(value).strip().lower()
            if text not in TRUE | FALSE:
                raise LivePuppetError(f"{key} must be true or false, got {value!r}")
            argv += [option] if text in TRUE else []
        elif isinstance(value, (list, dict)):
            raise LivePuppetError(f"{key} must be a single value, got {value!r}")
        else:
            argv += [option, str(value)]
    return argv


def _positive_int(value, name: str) -> int | None:
    if value is None:
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if number <= 0 or str(number) != str(value).strip():
        raise LivePuppetError(f"{name} must be a positive whole number, got {value!r}")
    return number
