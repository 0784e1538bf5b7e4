"""The face-mesh conditioning image against the published annotator's drawing rules.

The oracle is MediaPipe's own ``drawing_utils.draw_landmarks`` called the way the MediaPipe-face ControlNet
annotator calls it (its BGR DrawingSpec tuples, thickness 2, contour connection sets, then a channel flip).
"""

import numpy as np
import pytest

from engines.offline.conditioning import GROUP_COLOURS, PUPIL_COLOURS, draw_face_mesh, edge_groups

# The annotator's DrawingSpec colours as published (BGR, MediaPipe's convention).
ANNOTATOR_BGR = {
    "FACEMESH_FACE_OVAL": (10, 200, 10),
    "FACEMESH_LEFT_EYE": (180, 200, 10),
    "FACEMESH_LEFT_EYEBROW": (180, 220, 10),
    "FACEMESH_RIGHT_EYE": (10, 200, 180),
    "FACEMESH_RIGHT_EYEBROW": (10, 220, 180),
    "FACEMESH_LIPS": (10, 180, 10),
}
ANNOTATOR_PUPILS_BGR = {468: (10, 200, 250), 473: (250, 200, 10)}


def _annotator_reference(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """Lines drawn by MediaPipe's drawing_utils exactly as the annotator does (pupils excluded), RGB."""
    from mediapipe.framework.formats import landmark_pb2
    from mediapipe.python.solutions import drawing_utils, face_mesh_connections

    proto = landmark_pb2.NormalizedLandmarkList()
    for x, y, z in landmarks:
        proto.landmark.add(x=float(x) / width, y=float(y) / height, z=float(z) / width)
    spec = {}
    for name, bgr in ANNOTATOR_BGR.items():
        for edge in getattr(face_mesh_connections, name):
            spec[edge] = drawing_utils.DrawingSpec(color=bgr, thickness=2, circle_radius=1)
    canvas = np.zeros((height, width, 3), np.uint8)
    drawing_utils.draw_landmarks(
        canvas, proto, connections=spec.keys(), landmark_drawing_spec=None, connection_drawing_spec=spec
    )
    return canvas[:, :, ::-1]


@pytest.fixture(scope="module")
def real_face(portrait):
    from realtime.offline import load_portrait

    image, face = load_portrait(portrait, 512)
    return image, face


def test_rgb_colours_are_the_annotators_bgr_specs_reversed():
    for name, bgr in ANNOTATOR_BGR.items():
        assert GROUP_COLOURS[name] == bgr[::-1]
    for index, bgr in ANNOTATOR_PUPILS_BGR.items():
        assert PUPIL_COLOURS[index] == bgr[::-1]


def test_edge_sets_are_the_contours_without_tessellation_or_iris():
    from mediapipe.python.solutions import face_mesh_connections as connections

    drawn = {tuple(edge) for group in edge_groups() for edge in group.edges}
    expected = set()
    for name in ANNOTATOR_BGR:
        expected |= set(getattr(connections, name))
    assert drawn == expected
    assert not drawn & set(connections.FACEMESH_LEFT_IRIS)
    assert not drawn & set(connections.FACEMESH_RIGHT_IRIS)
    assert len(drawn) < len(connections.FACEMESH_TESSELATION) / 10


def test_real_face_matches_mediapipe_drawing_of_the_annotator(real_face):
    image, face = real_face
    height, width = image.shape[:2]
    ours = draw_face_mesh(face.landmarks, (width, height))
    reference = _annotator_reference(face.landmarks, width, height)
    # Pupils are the annotator's own squares (not drawing_utils): mask them out of the line comparison.
    outside_pupils = np.ones((height, width), bool)
    for index in PUPIL_COLOURS:
        x, y = face.landmarks[index, :2].astype(int)
        outside_pupils[y - 3 : y + 3, x - 3 : x + 3] = False
    same = np.all(ours == reference, axis=2)[outside_pupils]
    assert same.mean() > 0.9995
    assert (reference.any(axis=2) & outside_pupils).sum() > 1000  # the comparison saw real lines


def test_real_face_colours_edges_and_pupils(real_face):
    image, face = real_face
    height, width = image.shape[:2]
    drawn = draw_face_mesh(face.landmarks, (width, height))
    allowed = {(0, 0, 0), *GROUP_COLOURS.values(), *PUPIL_COLOURS.values()}
    colours = {tuple(c) for c in np.unique(drawn.reshape(-1, 3), axis=0)}
    assert colours <= allowed  # no anti-aliasing, no other colours
    for group in edge_groups():
        start, end = face.landmarks[group.edges[:, 0], :2], face.landmarks[group.edges[:, 1], :2]
        middle = np.floor((start + end) / 2).astype(int)
        own = np.all(drawn[middle[:, 1], middle[:, 0]] == group.colour, axis=1)
        assert own.mean() > 0.8, group.name
    # Pupils: filled 4x4 squares at floor(landmark), nothing drawn at the nose tip (no tessellation).
    for index, colour in PUPIL_COLOURS.items():
        x, y = face.landmarks[index, :2].astype(int)
        assert np.all(drawn[y - 2 : y + 2, x - 2 : x + 2] == colour)
    nose_x, nose_y = face.landmarks[4, :2].astype(int)
    assert not drawn[nose_y - 1 : nose_y + 2, nose_x - 1 : nose_x + 2].any()
    # Black background, thin lines.
    assert 0.002 < drawn.any(axis=2).mean() < 0.1


def test_points_outside_the_image_drop_their_edges():
    groups = edge_groups()
    landmarks = np.zeros((478, 3), np.float32)
    rng = np.random.default_rng(0)
    landmarks[:, :2] = rng.uniform(10, 90, size=(478, 2))
    oval = groups[0]
    assert oval.name == "FACEMESH_FACE_OVAL"
    inside = draw_face_mesh(landmarks, (100, 100))
    landmarks[oval.edges[:, 0], 0] = -50.0  # every oval edge now has one end outside
    moved = draw_face_mesh(landmarks, (100, 100))
    oval_colour = np.array(GROUP_COLOURS["FACEMESH_FACE_OVAL"])
    assert np.all(inside == oval_colour, axis=2).sum() > 0
    assert np.all(moved == oval_colour, axis=2).sum() == 0
