"""Keyframed expression edits over time: a JSON or YAML file of times -> parameter values, interpolated.

File format (JSON; the same structure in YAML when the file ends in .yaml/.yml, or is not JSON)::

    {
      "keyframes": [
        {"t": 2.0, "smile": 0},
        {"t": 2.5, "smile": 0.8},
        {"t": 3.0, "smile": 0.8, "yaw": 10},
        {"t": 3.5, "smile": 0, "yaw": 0}
      ],
      "look_at_camera": true,
      "interpolation": "smoothstep"
    }

Each parameter (any name of :class:`engines.expressions.ExpressionParams`) is its own track made of the
keyframes that mention it: before its first keyframe it holds the first value, after the last it holds the
last, in between it eases from one value to the next (``smoothstep``, the default, or ``linear``). A
parameter no keyframe mentions stays 0. ``"look_at_camera": true`` keeps the gaze on the camera throughout
(a ``look_at_camera`` track, 0..1, overrides it). Times are seconds from the start of the clip.

The same in YAML::

    keyframes:
      - {t: 2.0, smile: 0}
      - {t: 2.5, smile: 0.8}
    look_at_camera: true
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from engines.base import LivePuppetError, Motion
from engines.expressions import ExpressionParams, apply_expression

INTERPOLATIONS = ("smoothstep", "linear")
YAML_SUFFIXES = (".yaml", ".yml")


def _parse_yaml(text: str, path: Path, json_error: json.JSONDecodeError | None = None):
    """``text`` as YAML (a clear one-line error when it is neither YAML nor, given ``json_error``, JSON)."""
    try:
        import yaml
    except ImportError:
        if json_error is not None:
            raise LivePuppetError(f"{path} is not valid JSON: {json_error}") from json_error
        raise LivePuppetError(f"{path}: reading YAML needs PyYAML (`pip install pyyaml`), or use JSON") from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        where = getattr(exc, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        kind = "JSON or YAML" if json_error is not None else "YAML"
        raise LivePuppetError(f"{path} is not valid {kind}{line}") from None


@dataclass(frozen=True, slots=True)
class Track:
    """One parameter's keyframes: ``times`` (K,) increasing seconds, ``values`` (K,)."""

    times: np.ndarray
    values: np.ndarray

    def at(self, t: float, smooth: bool) -> float:
        k = int(np.searchsorted(self.times, t, side="right"))
        if k == 0:
            return float(self.values[0])
        if k == len(self.times):
            return float(self.values[-1])
        t0, t1 = self.times[k - 1], self.times[k]
        u = (t - t0) / max(t1 - t0, 1e-9)
        if smooth:
            u = u * u * (3 - 2 * u)
        return float(self.values[k - 1] + u * (self.values[k] - self.values[k - 1]))


class Timeline:
    """A motion modifier (``modify(motion, timestamp)``): the expression edit at each frame's timestamp."""

    def __init__(
        self, tracks: dict[str, Track], look_at_camera: bool = False, interpolation: str = "smoothstep"
    ):
        if interpolation not in INTERPOLATIONS:
            raise LivePuppetError(
                f"unknown interpolation {interpolation!r}; use one of {', '.join(INTERPOLATIONS)}"
            )
        self.tracks = tracks
        self.look_at_camera = look_at_camera
        self.smooth = interpolation == "smoothstep"

    @staticmethod
    def from_dict(data: dict, name: str = "the timeline") -> Timeline:
        if not isinstance(data, dict) or not isinstance(data.get("keyframes", []), list):
            raise LivePuppetError(f"{name}: expected an object with a list of 'keyframes'")
        known = set(ExpressionParams.names())
        points: dict[str, list[tuple[float, float]]] = {}
        for i, keyframe in enumerate(data.get("keyframes", [])):
            if not isinstance(keyframe, dict) or not isinstance(keyframe.get("t"), (int, float)):
                raise LivePuppetError(f"{name}: keyframe {i} needs a time 't' in seconds")
            for key, value in keyframe.items():
                if key == "t":
                    continue
                if key not in known:
                    raise LivePuppetError(
                        f"{name}: keyframe {i} has unknown parameter {key!r}; known: {', '.join(sorted(known))}"
                    )
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise LivePuppetError(f"{name}: keyframe {i}: {key} must be a number")
                points.setdefault(key, []).append((float(keyframe["t"]), float(value)))
        tracks = {}
        for key, pairs in points.items():
            pairs.sort(key=lambda pair: pair[0])  # stable: equal times keep file order (a step)
            times, values = zip(*pairs)
            tracks[key] = Track(np.array(times, np.float64), np.array(values, np.float64))
        return Timeline(
            tracks,
            look_at_camera=bool(data.get("look_at_camera", False)),
            interpolation=str(data.get("interpolation", "smoothstep")),
        )

    @staticmethod
    def load(path: str | Path) -> Timeline:
        """The timeline in ``path``: YAML when it ends in .yaml/.yml, else JSON (YAML as a fallback)."""
        path = Path(path)
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise LivePuppetError(f"cannot read the timeline {path}: {exc.strerror or exc}") from exc
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = "\x00"
        if "\x00" in text:
            raise LivePuppetError(f"{path} is not a text file (a binary file?); a timeline is JSON or YAML text")
        if path.suffix.lower() in YAML_SUFFIXES:
            return Timeline.from_dict(_parse_yaml(text, path), name=str(path))
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            data = _parse_yaml(text, path, json_error=exc)
        return Timeline.from_dict(data, name=str(path))

    def params_at(self, t: float) -> ExpressionParams:
        values = {key: track.at(t, self.smooth) for key, track in self.tracks.items()}
        if self.look_at_camera and "look_at_camera" not in values:
            values["look_at_camera"] = 1.0
        return ExpressionParams(**values)

    def modify(self, motion: Motion, timestamp: float) -> Motion:
        return apply_expression(motion, self.params_at(timestamp))
