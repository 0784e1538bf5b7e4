"""MediaPipe face-mesh landmark groups and the face-frame geometry shared by the motion stage, the
retargeting and the engines.

Index sets follow the public MediaPipe face-mesh topology (478 points with the iris refinement). "Right"
and "left" are the subject's: the subject's right eye is on the image's left in an unmirrored photo.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Points that move little with expression: forehead, temples, nose bridge and tip, cheekbones, eye corners.
RIGID = np.array(
    [10, 109, 338, 67, 297, 103, 332, 54, 284, 21, 251, 151, 9, 8, 168, 6, 197, 195, 5, 4, 1,
     234, 454, 127, 356, 93, 323, 33, 263, 133, 362, 98, 327, 129, 358]
)  # fmt: skip

RIGHT_EYE_CORNERS = (33, 133)  # outer, inner
LEFT_EYE_CORNERS = (263, 362)
RIGHT_EYE_UPPER = np.array([246, 161, 160, 159, 158, 157, 173])
RIGHT_EYE_LOWER = np.array([7, 163, 144, 145, 153, 154, 155])
LEFT_EYE_UPPER = np.array([466, 388, 387, 386, 385, 384, 398])
LEFT_EYE_LOWER = np.array([249, 390, 373, 374, 380, 381, 382])
RIGHT_EYE_CONTOUR = np.array([33, 246, 161, 160, 159, 158, 157, 173, 133, 155, 154, 153, 145, 144, 163, 7])
LEFT_EYE_CONTOUR = np.array([263, 466, 388, 387, 386, 385, 384, 398, 362, 382, 381, 380, 374, 373, 390, 249])
RIGHT_IRIS = np.arange(468, 473)  # centre first, then 4 rim points
LEFT_IRIS = np.arange(473, 478)
RIGHT_BROW = np.array([70, 63, 105, 66, 107, 55, 65, 52, 53, 46])
LEFT_BROW = np.array([300, 293, 334, 296, 336, 285, 295, 282, 283, 276])

MOUTH_CORNERS = (61, 291)  # subject's right, left
INNER_LIP_UPPER = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308])
INNER_LIP_LOWER = np.array([78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308])
INNER_LIP_CONTOUR = np.array([78, 191, 80, 81, 82, 13, 312, 311, 310, 415, 308, 324, 318, 402, 317, 14, 87, 178, 88, 95])
OUTER_LIP_CONTOUR = np.array([61, 185, 40, 39, 37, 0, 267, 269, 270, 409, 291, 375, 321, 405, 314, 17, 84, 181, 91, 146])
# Every lip point (outer and inner rings and the points between them).
LIPS = np.array(sorted({
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
    76, 77, 90, 180, 85, 16, 315, 404, 320, 307, 306, 184, 74, 73, 72, 11, 302, 303, 304, 408,
    62, 96, 89, 179, 86, 15, 316, 403, 319, 325, 292, 183, 42, 41, 38, 12, 268, 271, 272, 407,
}))  # fmt: skip
INNER_LIP_PAIRS = np.array([[13, 14], [82, 87], [312, 317], [81, 178], [311, 402]])  # upper, lower

FACE_OVAL = np.array(
    [10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377, 152,
     148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109]
)  # fmt: skip


def eye_centres(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(right, left) eye centres from the eye corners; ``points`` is (478, D)."""
    right = points[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left = points[list(LEFT_EYE_CORNERS)].mean(axis=0)
    return right, left


def inter_ocular(points: np.ndarray) -> float:
    right, left = eye_centres(points[:, :2])
    return float(np.linalg.norm(left - right))


def _gap_across(points: np.ndarray, upper, lower, corners) -> tuple[float, float]:
    """Mean distance from ``upper`` to ``lower`` points measured across the line through ``corners``
    (so pairs that are not vertically aligned still measure 0 when closed), and that line's length."""
    axis = points[corners[1], :2] - points[corners[0], :2]
    width = float(np.linalg.norm(axis))
    normal = np.array([-axis[1], axis[0]]) / max(width, 1e-6)
    gap = float(np.abs((points[lower, :2] - points[upper, :2]) @ normal).mean())
    return gap, width


def eye_openings(points: np.ndarray) -> np.ndarray:
    """(right, left) lid gap divided by eye width, from (478, >=2) points: ~0.25-0.35 open, 0 closed."""
    out = np.empty(2, np.float32)
    for k, (upper, lower, corners) in enumerate(
        ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_CORNERS), (LEFT_EYE_UPPER, LEFT_EYE_LOWER, LEFT_EYE_CORNERS))
    ):
        gap, width = _gap_across(points, upper[2:5], lower[2:5], corners)
        out[k] = gap / max(width, 1e-6)
    return out


def mouth_opening(points: np.ndarray) -> float:
    """Inner-lip gap divided by mouth width: 0 closed, ~0.5-0.8 wide open."""
    gap, width = _gap_across(points, INNER_LIP_PAIRS[:, 0], INNER_LIP_PAIRS[:, 1], MOUTH_CORNERS)
    return gap / max(width, 1e-6)


@dataclass(frozen=True, slots=True)
class FaceFrame:
    """Similarity frame of a face: ``normalised = rotation.T @ (p - centre) / size`` for each point p.

    ``rotation`` removes the in-plane roll (eye line horizontal); ``size`` is the inter-ocular distance.
    """

    centre: np.ndarray  # (3,)
    size: float
    rotation: np.ndarray  # (3, 3), a rotation about the z axis

    @staticmethod
    def of(points: np.ndarray) -> "FaceFrame":
        right, left = eye_centres(points[:, :2])
        dx, dy = left - right
        roll = np.arctan2(dy, dx)
        c, s = np.cos(roll), np.sin(roll)
        rotation = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]], np.float32)
        centre = points[RIGID].mean(axis=0).astype(np.float32)
        return FaceFrame(centre=centre, size=float(np.hypot(dx, dy)), rotation=rotation)

    def normalise(self, points: np.ndarray) -> np.ndarray:
        return ((points - self.centre) @ self.rotation) / self.size

    def denormalise(self, normalised: np.ndarray) -> np.ndarray:
        return (normalised * self.size) @ self.rotation.T + self.centre


def neutral_points(landmarks: np.ndarray) -> np.ndarray:
    """A face's own landmarks (478, 3) in its face frame: the neutral for motion that has no driver."""
    return FaceFrame.of(landmarks).normalise(landmarks).astype(np.float32)


def similarity_fit(reference: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """Least-squares ``target ≈ scale * reference @ rotation.T + offset`` (Umeyama) for (N, D) point sets,
    D = 2 or 3; float64 ``rotation`` (D, D) and ``offset`` (D,)."""
    mean_ref = reference.mean(axis=0)
    mean_tgt = target.mean(axis=0)
    ref = reference - mean_ref
    tgt = target - mean_tgt
    covariance = tgt.T @ ref / len(ref)
    u, singular, vt = np.linalg.svd(covariance)
    sign = np.ones(reference.shape[1])
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        sign[-1] = -1.0
    rotation = (u * sign) @ vt
    variance = (ref**2).sum() / len(ref)
    scale = float((singular * sign).sum() / max(variance, 1e-12))
    offset = mean_tgt - scale * mean_ref @ rotation.T
    return scale, rotation, offset


def similarity_3d(reference: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """:func:`similarity_fit` of (N, 3) point sets, rotation and offset as float32."""
    scale, rotation, offset = similarity_fit(reference, target)
    return scale, rotation.astype(np.float32), offset.astype(np.float32)


def rotation_to_euler(rotation: np.ndarray) -> tuple[float, float, float]:
    """(pitch, yaw, roll) in degrees for ``rotation = Rz(roll) @ Ry(yaw) @ Rx(pitch)`` (image axes)."""
    yaw = np.degrees(np.arcsin(np.clip(-rotation[2, 0], -1.0, 1.0)))
    pitch = np.degrees(np.arctan2(rotation[2, 1], rotation[2, 2]))
    roll = np.degrees(np.arctan2(rotation[1, 0], rotation[0, 0]))
    return float(pitch), float(yaw), float(roll)


def euler_to_rotation(pitch: float, yaw: float, roll: float) -> np.ndarray:
    """Inverse of :func:`rotation_to_euler` (degrees in, (3, 3) float32 out)."""
    p, y, r = np.radians([pitch, yaw, roll])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rz = np.array([[np.cos(r), -np.sin(r), 0], [np.sin(r), np.cos(r), 0], [0, 0, 1]])
    return (rz @ ry @ rx).astype(np.float32)
