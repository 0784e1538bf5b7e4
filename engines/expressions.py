"""Expression edits: one documented parameter set for every engine, added to a driven motion or applied to
a still portrait.

The landmark engines (warp) get the edit through :class:`~engines.base.Motion`: head angles compose with
``motion.rotation`` and the features become landmark displacement fields in the face frame, added to
``motion.expression`` (see :mod:`engines.expression_fields` for how the fields follow the face's own
proportions). The neural engine maps the same parameters onto its implicit keypoints
(:mod:`engines.liveportrait_expressions`).

Parameters (all neutral at 0; values outside the range are clipped):

=============  ===========  ==============================================================================
name           range        meaning
=============  ===========  ==============================================================================
pitch          -30..30 deg  head nod; > 0 turns the nose down (the convention of
                            :func:`engines.landmarks.euler_to_rotation`)
yaw            -45..45 deg  head turn; > 0 turns the nose towards the image's left
roll           -30..30 deg  head tilt; > 0 turns the face clockwise on screen
blink          -1..1        1 closes both eyes, < 0 opens them wider (-1: lid gap +50 %)
wink           -1..1        closes one eye: > 0 the eye on the image's right (the subject's left),
                            < 0 the eye on the image's left
eyebrow        -1..1        > 0 raises the brows (surprise), < 0 lowers and draws them together (frown)
pupil_x        -1..1        gaze; > 0 looks towards the image's right, 1 = as far as the eye allows
pupil_y        -1..1        gaze; > 0 looks down
aaa            0..1         jaw open, "aah" (1: lip gap of about half the mouth width)
eee            0..1         wide flat mouth, "eee"
woo            0..1         rounded, pushed-forward lips, "ooh"
smile          -1..1        mouth corners out and up; < 0 corners down (sad)
look_at_camera 0..1         re-targets the gaze to the camera (irises to the eye centres, corrected for the
                            head's rotation); 1 = fully, blended with pupil_x/y otherwise
=============  ===========  ==============================================================================
"""

from __future__ import annotations

import dataclasses
import threading
from dataclasses import dataclass

import numpy as np

from engines.base import Motion
from engines.expression_fields import FaceRig
from engines.landmarks import euler_to_rotation

RANGES: dict[str, tuple[float, float]] = {
    "pitch": (-30.0, 30.0),
    "yaw": (-45.0, 45.0),
    "roll": (-30.0, 30.0),
    "blink": (-1.0, 1.0),
    "wink": (-1.0, 1.0),
    "eyebrow": (-1.0, 1.0),
    "pupil_x": (-1.0, 1.0),
    "pupil_y": (-1.0, 1.0),
    "aaa": (0.0, 1.0),
    "eee": (0.0, 1.0),
    "woo": (0.0, 1.0),
    "smile": (-1.0, 1.0),
    "look_at_camera": (0.0, 1.0),
}


@dataclass(frozen=True, slots=True)
class ExpressionParams:
    """An expression edit; see the module docstring for ranges and signs. All zero = no edit."""

    pitch: float = 0.0
    yaw: float = 0.0
    roll: float = 0.0
    blink: float = 0.0
    wink: float = 0.0
    eyebrow: float = 0.0
    pupil_x: float = 0.0
    pupil_y: float = 0.0
    aaa: float = 0.0
    eee: float = 0.0
    woo: float = 0.0
    smile: float = 0.0
    look_at_camera: float = 0.0

    @staticmethod
    def names() -> tuple[str, ...]:
        return tuple(f.name for f in dataclasses.fields(ExpressionParams))

    def as_dict(self) -> dict[str, float]:
        return {name: getattr(self, name) for name in self.names()}

    def clipped(self) -> ExpressionParams:
        return ExpressionParams(**{k: float(np.clip(v, *RANGES[k])) for k, v in self.as_dict().items()})

    def is_neutral(self) -> bool:
        return not any(self.as_dict().values())

    def __add__(self, other: ExpressionParams) -> ExpressionParams:
        return ExpressionParams(**{k: getattr(self, k) + getattr(other, k) for k in self.names()})

    def scaled(self, weight: float) -> ExpressionParams:
        return ExpressionParams(**{k: v * weight for k, v in self.as_dict().items()})

    @staticmethod
    def lerp(a: ExpressionParams, b: ExpressionParams, t: float) -> ExpressionParams:
        return ExpressionParams(**{k: (1 - t) * getattr(a, k) + t * getattr(b, k) for k in a.names()})


# One rig per neutral face: motions of one calibration share the same neutral array object.
_rig_lock = threading.Lock()
_rig_cache: tuple[np.ndarray, FaceRig] | None = None


def rig_for(neutral: np.ndarray) -> FaceRig:
    """The :class:`FaceRig` of ``neutral`` (cached for the last neutral array seen, by identity)."""
    global _rig_cache
    cached = _rig_cache
    if cached is not None and cached[0] is neutral:
        return cached[1]
    rig = FaceRig(neutral)
    with _rig_lock:
        _rig_cache = (neutral, rig)
    return rig


def expression_field(
    rig: FaceRig, current: np.ndarray, params: ExpressionParams, rotation: np.ndarray
) -> np.ndarray:
    """(478, 3) displacement in the face frame for ``params`` on the face ``current`` (neutral + the
    expression so far, (478, 3)); ``rotation`` (3, 3) is the head rotation used to aim the gaze."""
    p = params.clipped()
    field = np.zeros_like(rig.neutral)
    # 1. eyes: closure per eye (the subject's right eye is on the image's left)
    right_closure = float(np.clip(p.blink + max(-p.wink, 0.0), -1.0, 1.0))
    left_closure = float(np.clip(p.blink + max(p.wink, 0.0), -1.0, 1.0))
    if right_closure:
        field += rig.right_eye.lids(current, right_closure)
    if left_closure:
        field += rig.left_eye.lids(current, left_closure)
    if p.eyebrow:
        field += rig.right_eye.raise_brow(p.eyebrow) + rig.left_eye.raise_brow(p.eyebrow)
    if p.smile > 0:
        field += rig.right_eye.squint(current, p.smile) + rig.left_eye.squint(current, p.smile)
    # 2. gaze: slider offset, blended towards the camera-facing iris position
    if p.pupil_x or p.pupil_y or p.look_at_camera:
        range_x, range_y = rig.gaze_range()
        shift = np.broadcast_to(np.array([p.pupil_x * range_x, p.pupil_y * range_y], np.float32), (2, 2))
        if p.look_at_camera:
            # the camera's direction (towards the viewer, -z) seen from the face frame
            towards_camera = rotation.T @ np.array([0.0, 0.0, -1.0], np.float32)
            target = rig.eye_centres(current) + rig.eyeball_radius() * towards_camera[:2]
            to_camera = target - rig.iris_centres(current)
            shift = (1 - p.look_at_camera) * shift + p.look_at_camera * to_camera
        field += rig.iris_shift(current, shift)
    # 3. mouth: jaw opening, corner motion, upper lip and lip rounding, in mouth-width units
    width = rig.mouth_width
    jaw = 0.5 * p.aaa + 0.12 * p.eee + 0.15 * p.woo
    if jaw:
        field += jaw * width * rig.jaw
    outward = width * (-0.04 * p.aaa + 0.09 * p.eee + 0.10 * max(p.smile, 0.0) - 0.02 * max(-p.smile, 0.0))
    up = width * (0.01 * p.eee + 0.16 * p.smile)
    if outward or up:
        field += rig.corners(outward, up)
    lip_raise = width * (0.04 * p.aaa + 0.05 * p.eee + 0.03 * max(p.smile, 0.0))
    if lip_raise:
        field += lip_raise * rig.lip_raise
    if p.woo:
        field += 0.35 * p.woo * rig.pucker
    return field


def _posed_rotation(params: ExpressionParams) -> np.ndarray | None:
    p = params.clipped()
    if not (p.pitch or p.yaw or p.roll):
        return None
    return euler_to_rotation(p.pitch, p.yaw, p.roll)


def apply_expression(motion: Motion, params: ExpressionParams) -> Motion:
    """``motion`` with the edit added: head angles composed after the motion's rotation, feature fields
    added to its expression (never mutates ``motion``)."""
    if params.is_neutral():
        return motion
    rotation = motion.rotation
    edit_rotation = _posed_rotation(params)
    if edit_rotation is not None:
        rotation = (edit_rotation @ rotation).astype(np.float32)
    rig = rig_for(motion.neutral)
    current = motion.neutral + motion.expression
    expression = motion.expression + expression_field(rig, current, params, rotation)
    # Engines that do not read landmarks (the neural one) read the accumulated parameters instead.
    return dataclasses.replace(
        motion,
        rotation=rotation,
        expression=expression.astype(np.float32),
        edit=(edit_of(motion) + params).as_dict(),
    )


def edit_of(motion: Motion) -> ExpressionParams:
    """The expression parameters applied to ``motion`` so far (neutral when Motion carries none)."""
    return ExpressionParams(**motion.edit) if motion.edit else ExpressionParams()


class ExpressionModifier:
    """A motion modifier (``modify(motion, timestamp)``) adding fixed ``params`` to every frame."""

    def __init__(self, params: ExpressionParams):
        self.params = params

    def modify(self, motion: Motion, timestamp: float) -> Motion:
        return apply_expression(motion, self.params)
