"""The built-in motion script of `livepuppet demo`: nod, turn left and right, blink, talk, smile (~9.6 s).

The script is a pure function of time, :func:`pose_at`, giving head angles and expression strengths; it
becomes a :class:`~engines.base.Motion` with the head pose as ``Motion.rotation`` and the expression applied
by :func:`engines.expressions.apply_expression`. Without that module (an older build) the demo still moves
the head, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np

from engines.base import Motion
from engines.landmarks import euler_to_rotation

log = logging.getLogger(__name__)

DURATION = 9.6  # seconds


@dataclass(frozen=True, slots=True)
class ScriptPose:
    """One instant of the script: head angles in degrees, expression strengths 0..1."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    blink: float = 0.0
    aaa: float = 0.0  # open mouth (speech)
    smile: float = 0.0
    eyebrow: float = 0.0


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


def pose_at(t: float) -> ScriptPose:
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
    return ScriptPose(
        pitch=float(pitch), yaw=float(yaw), roll=float(roll), blink=blink, aaa=float(aaa),
        smile=float(smiling), eyebrow=float(0.4 * smiling),
    )  # fmt: skip


def _expression_editor():
    """``(apply_expression, ExpressionParams)`` or None when the expressions module is not there."""
    try:
        from engines.expressions import ExpressionParams, apply_expression
    except ImportError as exc:
        log.warning("expressions are not available (%s): the demo moves the head only", exc)
        return None
    return apply_expression, ExpressionParams


def motion_at(neutral: np.ndarray, pose: ScriptPose, editor=None) -> Motion:
    """The Motion for ``pose`` on a face whose neutral landmarks (face frame, (478, 3)) are ``neutral``;
    ``editor`` is what :func:`_expression_editor` returned (None: head pose only)."""
    motion = Motion(
        rotation=euler_to_rotation(pose.pitch, pose.yaw, pose.roll),
        scale=1.0,
        translation=np.zeros(2, np.float32),
        expression=np.zeros_like(neutral, dtype=np.float32),
        neutral=neutral,
    )
    if editor is None:
        return motion
    apply_expression, params_type = editor
    params = params_type(blink=pose.blink, aaa=pose.aaa, smile=pose.smile, eyebrow=pose.eyebrow)
    return apply_expression(motion, params)


def script_motions(
    neutral: np.ndarray, fps: float, seconds: float = DURATION
) -> Iterator[tuple[float, Motion]]:
    """``(timestamp, Motion)`` for every frame of ``seconds`` of the script (longer than the script loops)."""
    editor = _expression_editor()
    for index in range(max(1, round(seconds * fps))):
        timestamp = index / fps
        yield timestamp, motion_at(neutral, pose_at(timestamp), editor)
