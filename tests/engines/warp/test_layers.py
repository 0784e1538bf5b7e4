import numpy as np

from engines.landmarks import FACE_OVAL, FaceFrame
from engines.warp.layers import composite, split_layers


def _face_axes(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray, float, float]:
    points = landmarks[:, :2]
    down = FaceFrame.of(landmarks).rotation[:2, 1].astype(np.float32)
    right = np.array([-down[1], down[0]], np.float32)
    face_height = float((points[152] - points[10]) @ down)
    face_width = float(np.ptp(points[FACE_OVAL] @ right))
    return down, right, face_height, face_width


def test_shoulders_as_high_as_the_chin_leave_the_head_layer(astronaut):
    """A webcam sees the shoulders about as high as the chin: given the shoulder joints, the person beside
    the neck at the chin's height belongs to the body layer, the face stays in the head layer, and the
    layers still composite back to the portrait."""
    image, face = astronaut
    height, width = image.shape[:2]
    down, right, face_height, face_width = _face_axes(face.landmarks)
    chin = face.landmarks[152, :2]
    shoulders = np.stack([chin + 1.3 * face_width * right, chin - 1.3 * face_width * right]).astype(np.float32)
    person = np.ones((height, width), np.float32)  # everything counts as person: only the split decides
    plain = split_layers(image, face.landmarks, person)
    moving = split_layers(image, face.landmarks, person, shoulders=shoulders)
    beside = [np.round(chin + side * 0.9 * face_width * right - 0.05 * face_height * down).astype(int) for side in (1, -1)]
    for x, y in beside:
        assert plain.head[1][y, x] > 0.9  # the plain split puts them in the head layer...
        assert moving.head[1][y, x] < 0.05  # ...the body's split does not
        assert moving.body[1][y, x] > 0.95
    nose = np.round(face.landmarks[1, :2]).astype(int)
    assert moving.head[1][nose[1], nose[0]] == plain.head[1][nose[1], nose[0]]
    rebuilt = composite(moving.head, composite(moving.body, moving.plate)).astype(int)
    assert np.abs(rebuilt - image.astype(int)).max() <= 2


def test_the_neck_stops_following_the_head_by_the_frame_edge_of_a_tight_crop():
    import numpy as np

    from engines.warp.layers import MIN_NECK_LENGTH, LayerConfig, _neck_length

    config = LayerConfig()
    ys, xs = np.mgrid[0:100, 0:80].astype(np.float32)
    sideways = (xs - 40) / 40  # face widths from the neck's axis
    cut = 0.1
    tall = ys / 20 - 2.0  # the frame's bottom edge 2.85 face heights below the chin: the full fade fits
    assert _neck_length(tall, sideways, cut, config) == config.neck_length
    tight = ys / 400  # the frame ends 0.25 face heights below the chin: the fade ends at the edge
    assert abs(_neck_length(tight, sideways, cut, config) - (99 / 400 - cut)) < 1e-6
    cropped = ys / 900  # the frame ends just below the cut: the shortest fade
    assert _neck_length(cropped, sideways, cut, config) == MIN_NECK_LENGTH


def test_the_frames_bottom_edge_never_follows_the_head(astronaut):
    """Cropped at the chest, the neck reaches the frame's bottom edge; its share of the head's motion ends
    before it, so the edge row (whatever it shows: shirt, a border line) is never dragged into view."""
    import numpy as np

    from engines.warp.layers import EDGE_HOLD, PersonSegmenter, split_layers

    image, face = astronaut
    chin = int(face.landmarks[152, 1])
    face_height = chin - int(face.landmarks[10, 1])
    # The frame ends 0.08 face heights below the chin, just below the head layer's cut: the neck's fade
    # towards the edge is as short as it gets.
    crop = np.ascontiguousarray(image[: chin + int(0.08 * face_height)])
    landmarks = face.landmarks.copy()
    segmenter = PersonSegmenter()
    try:
        layers = split_layers(crop, landmarks, segmenter(crop))
    finally:
        segmenter.close()
    height = crop.shape[0]
    assert layers.neck[-int(0.5 * EDGE_HOLD * height) :].max() < 0.2  # near the edge: hardly any share
    assert layers.neck[-1].max() == 0.0  # the edge row: none
    assert layers.neck[: height - int(EDGE_HOLD * height)].max() > 0.5  # above it the neck still follows
