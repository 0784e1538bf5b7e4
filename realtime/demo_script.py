"""The built-in motion script of `livepuppet demo`: nod, turn left and right, blink, talk, smile (~9.6 s),
and with the body on a shrug while talking and a lean into the smile.

The script is a pure function of time, :func:`pose_at`, giving head angles and expression strengths as
:class:`~engines.expressions.ExpressionParams`; it becomes a :class:`~engines.base.Motion` with the head pose
as ``Motion.rotation`` and the rest applied by :func:`engines.expressions.apply_expression`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import numpy as np

from engines.base import BodyMotion, Motion
from engines.expressions import ExpressionParams, apply_expression
from engines.landmarks import euler_to_rotation

DURATION = 9.6  # seconds


def _window(t: float, start: float, end: float, fade: float) -> float:
    """1 inside [start, end], easing in and out over ``fade`` seconds at each end, 0 outside."""
    if t <= start or t >= end:
        return 0.0
    rise = min(1.0, (t - start) / fade, (end - t) / fade)
    return 0.5 - 0.5 * np.cos(np.pi * rise)


def _bump(t: float, centre: float, width: float) -> float:
    """A smooth 0 -> 1 -> 0 pulse of ``width`` seconds centred on ``centre``."""
    x = (t - centre) / width
    return float(np.cos(np.pi * x) ** 2) if abs(x) < 0.5 else 0.0


BLINKS = (1.9, 4.9, 7.3, 9.1)  # seconds


def pose_at(t: float) -> ExpressionParams:
    """The scripted pose at ``t`` seconds (wrapped into the script's duration)."""
    t = float(t) % DURATION
    # 0.6-2.4 s: two nods.
    pitch = 12.0 * np.sin(2 * np.pi * (t - 0.6) / 0.9) * _window(t, 0.6, 2.4, 0.2)
    # 2.4-4.8 s: turn to one side, then the other, back to the front.
    yaw = -28.0 * np.sin(2 * np.pi * (t - 2.4) / 2.4) * (2.4 < t < 4.8)
    # 5.0-7.0 s: talking: syllables at ~4 Hz with varying loudness and a little head motion.
    talking = _window(t, 5.0, 7.0, 0.15)
    loudness = 0.45 + 0.15 * np.sin(2 * np.pi * 0.9 * t)  # speech, not shouting: aaa 0.3..0.6
    aaa = talking * loudness * np.sin(np.pi * 4.0 * (t - 5.0)) ** 2
    pitch += talking * 3.0 * np.sin(2 * np.pi * 1.7 * t)
    # 7.0-9.2 s: a smile with the head tilted and the brows a little raised.
    smiling = _window(t, 7.0, 9.2, 0.5)
    roll = 8.0 * smiling
    blink = max(_bump(t, centre, 0.28) for centre in BLINKS)
    return ExpressionParams(
        pitch=float(pitch), yaw=float(yaw), roll=float(roll), blink=blink, aaa=float(aaa),
        smile=float(smiling), eyebrow=float(0.4 * smiling),
    )  # fmt: skip


# The body's part: a shrug (both shoulders up by this many shoulder widths) while talking, and a lean to
# the side (shoulder centre shift, shoulder line turning) into the smile; the head goes along with the lean.
SHRUG_HEIGHT = 0.12
LEAN_SHIFT = 0.12
LEAN_ROLL = 6.0  # degrees
LEAN_HEAD = 0.4  # head translation, inter-ocular distances, at full lean


def body_at(t: float) -> BodyMotion:
    """The scripted upper-body motion at ``t`` seconds (wrapped into the script's duration)."""
    t = float(t) % DURATION
    shrug = _bump(t, 5.6, 0.9)
    lean = _window(t, 7.0, 9.2, 0.6)
    return BodyMotion(
        roll=float(np.radians(LEAN_ROLL) * lean),
        shift=np.array([LEAN_SHIFT * lean, -SHRUG_HEIGHT * shrug], np.float32),
    )


def motion_at(neutral: np.ndarray, pose: ExpressionParams) -> Motion:
    """The Motion for ``pose`` on a face whose neutral landmarks (face frame, (478, 3)) are ``neutral``."""
    motion = Motion(
        rotation=euler_to_rotation(pose.pitch, pose.yaw, pose.roll),
        scale=1.0,
        translation=np.zeros(2, np.float32),
        expression=np.zeros_like(neutral, dtype=np.float32),
        neutral=neutral,
    )
    return apply_expression(motion, dataclasses.replace(pose, pitch=0.0, yaw=0.0, roll=0.0))


def with_body(motion: Motion, body: BodyMotion) -> Motion:
    """``motion`` with the scripted ``body`` motion, the head carried along by the lean."""
    head_shift = np.array([LEAN_HEAD * body.shift[0] / LEAN_SHIFT, 0.0], np.float32)
    return dataclasses.replace(motion, body=body, translation=motion.translation + head_shift)


def script_motions(
    neutral: np.ndarray, fps: float, seconds: float = DURATION, body: bool = False
) -> Iterator[tuple[float, Motion]]:
    """``(timestamp, Motion)`` for every frame of ``seconds`` of the script (longer than the script loops);
    ``body`` adds the shrug and the lean."""
    for index in range(max(1, round(seconds * fps))):
        timestamp = index / fps
        motion = motion_at(neutral, pose_at(timestamp))
        yield timestamp, with_body(motion, body_at(timestamp)) if body else motion
