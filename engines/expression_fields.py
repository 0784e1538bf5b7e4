"""Landmark displacement fields for expression edits, derived from the geometry of one neutral face.

Everything is in the roll-free face frame of :class:`engines.landmarks.FaceFrame` (inter-ocular distance 1,
x right, y down, z away). A :class:`FaceRig` is built once per neutral face: it measures the eyes, brows
and mouth and precomputes smooth spreading weights, so each frame only computes a few anchor displacements
and a couple of small matrix products.

How the fields are built (no per-vertex tables; every amount is a fraction of a measured size):

* **spreading**: a feature moves a few *anchor* points (e.g. the upper lid); every other point follows
  the Gaussian-weighted average of the anchors' displacements, faded by its closeness to the nearest
  anchor. Anchors that must stay (eye corners, brows, nose) are anchors with zero displacement.
* **eyes** (closure -1..1 per eye): the upper lid travels 80 % of the *current* lid gap at its x, the lower
  lid 20 %, so the lids meet whatever the eye was doing; the iris is squashed onto the meeting line.
  Negative closure widens the eye (upper lid up 40 % of the gap).
* **smile squint**: the lower lids rise by a fraction of the lid gap (the cheeks push them up).
* **brows**: brow points rise by a fraction of the brow-to-lid distance (lower and draw together when
  negative); forehead and lid skin follow by spreading, the eye contour stays.
* **jaw**: a rotation about the jaw hinge (the face-oval points beside the ears, at their depth): each
  point below the lip line moves down by its distance from the hinge axis, normalised so the inner lower
  lip centre moves 1; the upper lip stays.
* **mouth corners / lips**: lip points move with the mouth corners in proportion to their squared
  distance from the mouth's centre line (centre 0, corners 1); cheeks follow by spreading.
"""

from __future__ import annotations

import numpy as np

from engines.landmarks import (
    FACE_OVAL,
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    LEFT_BROW,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LEFT_IRIS,
    LIPS,
    MOUTH_CORNERS,
    RIGHT_BROW,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_IRIS,
)  # fmt: skip

NOSE = np.array([1, 2, 4, 5, 6, 98, 327, 195, 197, 168])  # bridge, tip, nostril wings (stay put)
CHIN = 152
EAR_SIDES = (234, 454)  # face-oval points beside the ears: the jaw hinge is about there
LOWER_FACE_HOLDS = np.concatenate([NOSE, np.array([CHIN]), FACE_OVAL])  # still while the mouth moves


def spread_weights(points: np.ndarray, anchors: np.ndarray, sigma: float) -> np.ndarray:
    """(N, A) weights so that ``weights @ anchor_displacements`` spreads anchor motion to all N points.

    Each row is the Gaussian-weighted mean over anchors, scaled by the kernel of the nearest anchor (so
    motion fades out about ``sigma`` away from every anchor); anchor rows are exact one-hot rows.
    """
    distance2 = ((points[:, None, :2] - points[None, anchors, :2]) ** 2).sum(-1)  # (N, A)
    kernel = np.exp(-0.5 * distance2 / sigma**2)
    weights = (
        kernel / np.maximum(kernel.sum(axis=1, keepdims=True), 1e-12) * kernel.max(axis=1, keepdims=True)
    )
    weights[anchors] = np.eye(len(anchors))
    return weights.astype(np.float32)


def _profile(points: np.ndarray, indices: np.ndarray, corners: tuple[int, int]):
    """(xs, ys) of a lid line through ``indices`` with both corners, sorted by x, for np.interp."""
    line = points[np.concatenate([indices, np.array(corners)])]
    order = np.argsort(line[:, 0])
    return line[order, 0], line[order, 1]


class _Eye:
    """One eye's geometry and spreading weights."""

    def __init__(self, neutral: np.ndarray, upper, lower, corners, iris, brow):
        self.upper, self.lower, self.corners, self.iris, self.brow = upper, lower, corners, iris, brow
        self.width = float(np.linalg.norm(neutral[corners[0], :2] - neutral[corners[1], :2]))
        self.iris_radius = float(np.linalg.norm(neutral[iris[1:], :2] - neutral[iris[0], :2], axis=1).mean())
        lid = neutral[upper, 1].mean()
        self.brow_height = float(max(lid - neutral[brow, 1].mean(), 0.3 * self.width))  # brow above the lid
        # lids: moving anchors are the lids and iris; eye corners and brow hold
        self.lid_anchors = np.concatenate([upper, lower, iris, np.array(corners), brow])
        self.lid_weights = spread_weights(neutral, self.lid_anchors, 0.3 * self.width)
        # brows: the brow moves, the eye contour holds
        self.brow_anchors = np.concatenate([brow, upper, lower, np.array(corners)])
        self.brow_weights = spread_weights(neutral, self.brow_anchors, 0.6 * self.brow_height)
        self.midline_x = float(neutral[:, 0].mean())
        self.centre_x = float(neutral[list(corners), 0].mean())

    def lids(self, current: np.ndarray, closure: float) -> np.ndarray:
        """(478, 3) displacement closing (> 0) or widening (< 0) the lids of ``current`` (478, 3)."""
        ux, uy = _profile(current, self.upper, self.corners)
        lx, ly = _profile(current, self.lower, self.corners)

        def gap(x):
            return np.maximum(np.interp(x, lx, ly) - np.interp(x, ux, uy), 0.0)

        anchors = np.zeros((len(self.lid_anchors), 3), np.float32)
        n_upper, n_lower, n_iris = len(self.upper), len(self.lower), len(self.iris)
        upper_share, lower_share = (0.8, 0.2) if closure > 0 else (0.4, 0.1)
        anchors[:n_upper, 1] = closure * upper_share * gap(current[self.upper, 0])
        anchors[n_upper : n_upper + n_lower, 1] = -closure * lower_share * gap(current[self.lower, 0])
        if closure > 0:  # squash the iris onto the line where the lids meet
            x, y = current[self.iris, 0], current[self.iris, 1]
            meet = np.interp(x, ux, uy) + upper_share * gap(x)
            anchors[n_upper + n_lower : n_upper + n_lower + n_iris, 1] = closure * (meet - y)
        return self.lid_weights @ anchors

    def squint(self, current: np.ndarray, amount: float) -> np.ndarray:
        """(478, 3): the lower lid rises by ``amount`` x 30 % of the lid gap (the cheek push of a smile)."""
        lx, ly = _profile(current, self.lower, self.corners)
        ux, uy = _profile(current, self.upper, self.corners)
        x = current[self.lower, 0]
        gap = np.maximum(np.interp(x, lx, ly) - np.interp(x, ux, uy), 0.0)
        anchors = np.zeros((len(self.lid_anchors), 3), np.float32)
        n_upper = len(self.upper)
        anchors[n_upper : n_upper + len(self.lower), 1] = -amount * 0.3 * gap
        return self.lid_weights @ anchors

    def raise_brow(self, amount: float) -> np.ndarray:
        """(478, 3) displacement: brow up by 50 % of the brow height (> 0), down 30 % and inwards (< 0)."""
        anchors = np.zeros((len(self.brow_anchors), 3), np.float32)
        n_brow = len(self.brow)
        anchors[:n_brow, 1] = -amount * (0.5 if amount > 0 else 0.3) * self.brow_height
        if amount < 0:  # frown: draw the brows towards the midline
            toward = np.sign(self.midline_x - self.centre_x)
            anchors[:n_brow, 0] = -amount * 0.15 * self.brow_height * toward
        return self.brow_weights @ anchors

    def centre(self, current: np.ndarray) -> np.ndarray:
        """(2,) centre of the eye opening: mid-corners in x, mid-lids there in y."""
        ux, uy = _profile(current, self.upper, self.corners)
        lx, ly = _profile(current, self.lower, self.corners)
        x = current[list(self.corners), 0].mean()
        return np.array([x, 0.5 * (np.interp(x, ux, uy) + np.interp(x, lx, ly))], np.float32)


class FaceRig:
    """Expression fields of one neutral face (478, 3) in its face frame. Read-only after construction,
    so one rig may be shared between threads."""

    def __init__(self, neutral: np.ndarray):
        neutral = np.asarray(neutral, np.float32)
        self.neutral = neutral
        self.right_eye = _Eye(
            neutral, RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_CORNERS, RIGHT_IRIS, RIGHT_BROW
        )
        self.left_eye = _Eye(neutral, LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_CORNERS, LEFT_IRIS, LEFT_BROW)
        corners = neutral[list(MOUTH_CORNERS)]
        self.mouth_centre = corners.mean(axis=0)
        self.mouth_width = float(np.linalg.norm(corners[1, :2] - corners[0, :2]))
        self.jaw = self._jaw_field(neutral)  # (478, 3): inner lower lip centre moves 1 down
        self.corner_weight = self._corner_weights(neutral)  # (478,) lips and cheeks following the corners
        self.lip_raise = self._upper_lip_field(neutral)  # (478, 3): upper lip centre moves 1 up
        self.pucker = self._pucker_field(neutral)  # (478, 3): lips to the centre line, 1 = fully
        # How much each point belongs to the mouth (0..1): used to replace the camera's mouth motion.
        self.mouth_region = np.clip(np.maximum(np.abs(self.jaw[:, 1]), self.corner_weight), 0.0, 1.0).astype(
            np.float32
        )

    # ---- mouth -------------------------------------------------------------------------------------
    def _lip_line(self, neutral: np.ndarray, x: np.ndarray) -> np.ndarray:
        """y of the line between the lips at x (the inner lip contour's midline, flat beyond corners)."""
        # both index lists run from the right corner to the left one, so they pair up in order
        mid = 0.5 * (neutral[INNER_LIP_UPPER, :2] + neutral[INNER_LIP_LOWER, :2])  # (11, 2)
        order = np.argsort(mid[:, 0])
        return np.interp(x, mid[order, 0], mid[order, 1])

    def _jaw_field(self, neutral: np.ndarray) -> np.ndarray:
        width = self.mouth_width
        hinge_y = float(neutral[list(EAR_SIDES), 1].mean())
        hinge_z = float(neutral[list(EAR_SIDES), 2].mean())
        below = neutral[:, 1] - self._lip_line(neutral, neutral[:, 0])  # > 0 under the lip line
        band = 0.15 * width
        t = np.clip(below / band * 0.5 + 0.5, 0.0, 1.0)
        weight = t * t * (3 - 2 * t)  # smoothstep across the lip line
        # lip points: decided by which lip they belong to, fading to one half at the corners
        lips = LIPS
        lip_lower = (neutral[lips, 1] > self._lip_line(neutral, neutral[lips, 0])).astype(np.float32)
        lip_lower[np.isin(lips, INNER_LIP_LOWER)] = 1.0
        lip_lower[np.isin(lips, INNER_LIP_UPPER)] = 0.0
        from_corner = np.clip(np.abs(neutral[lips, 0] - self.mouth_centre[0]) / (0.5 * width), 0, 1)
        near_corner = np.clip((from_corner - 0.75) / 0.25, 0.0, 1.0)  # 1 at the corners
        weight[lips] = lip_lower + (0.5 - lip_lower) * near_corner
        # beyond the face oval nothing moves; further up the face, nothing either
        weight[neutral[:, 1] < hinge_y] = 0.0
        arm = np.hypot(neutral[:, 1] - hinge_y, neutral[:, 2] - hinge_z)  # distance from the hinge axis
        lower_lip_centre = INNER_LIP_LOWER[len(INNER_LIP_LOWER) // 2]
        field = np.zeros_like(neutral)
        field[:, 1] = weight * arm / max(arm[lower_lip_centre], 1e-6)
        field[:, 2] = 0.3 * field[:, 1]  # the chin also swings back a little
        return field.astype(np.float32)

    def _corner_weights(self, neutral: np.ndarray) -> np.ndarray:
        lips = LIPS
        half = 0.5 * self.mouth_width
        lip_weight = np.clip(np.abs(neutral[lips, 0] - self.mouth_centre[0]) / half, 0, 1) ** 2
        holds = LOWER_FACE_HOLDS
        anchors = np.concatenate([lips, holds])
        weights = spread_weights(neutral, anchors, 0.35 * self.mouth_width)
        values = np.concatenate([lip_weight, np.zeros(len(holds))])
        return (weights @ values).astype(np.float32)

    def _upper_lip_field(self, neutral: np.ndarray) -> np.ndarray:
        lips = LIPS
        upper = lips[
            (neutral[lips, 1] < self._lip_line(neutral, neutral[lips, 0])) & ~np.isin(lips, INNER_LIP_LOWER)
        ]
        upper = np.union1d(upper, INNER_LIP_UPPER)
        centred = 1 - np.clip(
            np.abs(neutral[upper, 0] - self.mouth_centre[0]) / (0.5 * self.mouth_width), 0, 1
        )
        holds = np.concatenate([NOSE, np.array(MOUTH_CORNERS)])
        holds = np.setdiff1d(holds, upper)
        anchors = np.concatenate([upper, holds])
        values = np.zeros((len(anchors), 3), np.float32)
        values[: len(upper), 1] = -np.sqrt(centred)
        return spread_weights(neutral, anchors, 0.25 * self.mouth_width) @ values

    def _pucker_field(self, neutral: np.ndarray) -> np.ndarray:
        lips = LIPS
        holds = LOWER_FACE_HOLDS
        anchors = np.concatenate([lips, holds])
        values = np.zeros((len(anchors), 3), np.float32)
        values[: len(lips), 0] = self.mouth_centre[0] - neutral[lips, 0]
        values[: len(lips), 2] = -0.15 * self.mouth_width  # lips push forward
        return spread_weights(neutral, anchors, 0.3 * self.mouth_width) @ values

    def corners(self, outward: float, up: float) -> np.ndarray:
        """(478, 3): corners move ``outward`` and ``up`` (face-frame units); lips and cheeks follow."""
        field = np.zeros_like(self.neutral)
        side = np.sign(self.neutral[:, 0] - self.mouth_centre[0])
        field[:, 0] = outward * side * self.corner_weight
        field[:, 1] = -up * self.corner_weight
        return field

    # ---- gaze ---------------------------------------------------------------------------------------
    def iris_shift(self, current: np.ndarray, shift: np.ndarray) -> np.ndarray:
        """(478, 3) moving both irises by ``shift`` ((2,) or per eye (2, 2)), nothing else."""
        shift = np.broadcast_to(np.asarray(shift, np.float32), (2, 2))
        field = np.zeros_like(self.neutral)
        field[RIGHT_IRIS, :2] = shift[0]
        field[LEFT_IRIS, :2] = shift[1]
        return field

    def gaze_range(self) -> tuple[float, float]:
        """Largest (x, y) iris shift that keeps the iris inside the eye, in face-frame units."""
        eyes = (self.right_eye, self.left_eye)
        half_width = min(e.width for e in eyes) * 0.5
        radius = min(e.iris_radius for e in eyes)
        return max(0.7 * (half_width - radius), 0.0), 0.8 * radius

    def eye_centres(self, current: np.ndarray) -> np.ndarray:
        """(2, 2) (right, left) centres of the eye openings of ``current``."""
        return np.stack([self.right_eye.centre(current), self.left_eye.centre(current)])

    def iris_centres(self, current: np.ndarray) -> np.ndarray:
        return np.stack([current[RIGHT_IRIS[0], :2], current[LEFT_IRIS[0], :2]])

    def eyeball_radius(self) -> float:
        """About 12 mm for a 28 mm wide eye: the iris moves this far per radian of gaze."""
        return 0.42 * 0.5 * (self.right_eye.width + self.left_eye.width)
