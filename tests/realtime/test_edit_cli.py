"""`livepuppet edit` end to end: arguments, range checks, the fake engine's motion, the warp engine's pixels."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from engines.base import ENGINES, Face, SourceState, register_engine
from engines.landmarks import rotation_to_euler
from realtime.cli import main


class RecordingEngine:
    """Renders the portrait unchanged and remembers the motion it was asked for."""

    name = "edit-test"
    last = None

    def prepare(self, portrait: np.ndarray, face: Face) -> SourceState:
        return SourceState(image=portrait, face=face)

    def render(self, state: SourceState, motion) -> np.ndarray:
        RecordingEngine.last = motion
        return state.image

    def close(self) -> None:
        pass


@pytest.fixture
def recording_engine():
    register_engine("edit-test")(lambda options: RecordingEngine())
    yield RecordingEngine
    ENGINES.pop("edit-test", None)


@pytest.fixture
def source(data_dir):
    return data_dir / "source" / "s42.jpg"


def test_edit_passes_the_parameters_to_the_engine(recording_engine, source, tmp_path):
    out = tmp_path / "out.png"
    code = main(["edit", "--source", str(source), "--engine", "edit-test", "--yaw", "10", "--smile", "0.6",
                 "--out", str(out)])  # fmt: skip
    assert code == 0 and out.is_file()
    motion = recording_engine.last
    assert rotation_to_euler(motion.rotation)[1] == pytest.approx(10, abs=0.1)
    assert np.all(motion.expression[[61, 291], 1] < -0.01)  # corners up (face frame, y down)
    written = cv2.imread(str(out))
    assert written.shape[:2] == (512, 512)


def test_out_of_range_and_bad_names_are_one_line_errors(recording_engine, source, tmp_path, capsys):
    assert main(["edit", "--source", str(source), "--engine", "edit-test", "--blink", "2",
                 "--out", str(tmp_path / "a.png")]) == 2  # fmt: skip
    assert "--blink 2 is outside its range -1..1" in capsys.readouterr().err
    assert main(["edit", "--source", str(source), "--out", str(tmp_path / "a.txt")]) == 2
    assert "cannot write '.txt' files; use .png" in capsys.readouterr().err
    assert main(["edit", "--source", str(tmp_path / "none.jpg"), "--out", str(tmp_path / "a.png")]) == 2
    assert "not found" in capsys.readouterr().err


def test_warp_engine_closes_the_eyes_in_pixels(source, tmp_path):
    """Blink on the real warp engine: the eye regions change, the rest of the image barely does."""
    from realtime.offline import load_portrait
    from realtime.tracker import find_portrait_face

    out = tmp_path / "blink.png"
    assert main(["edit", "--source", str(source), "--blink", "1", "--out", str(out)]) == 0
    image, face = load_portrait(source, None)
    edited = cv2.cvtColor(cv2.imread(str(out)), cv2.COLOR_BGR2RGB)
    assert edited.shape == image.shape
    difference = np.abs(edited.astype(int) - image.astype(int)).sum(axis=2)
    eyes = face.landmarks[[33, 133, 263, 362], :2]
    x0, y0 = eyes.min(axis=0) - 15
    x1, y1 = eyes.max(axis=0) + 15
    inside = np.zeros_like(difference, bool)
    inside[int(y0) : int(y1), int(x0) : int(x1)] = True
    assert difference[inside].mean() > 5 * max(difference[~inside].mean(), 0.5)
    # and the tracker sees the eyes closed on the edited image
    from engines.landmarks import eye_openings

    edited_face = find_portrait_face(edited)
    assert np.all(eye_openings(edited_face.landmarks) < 0.6 * eye_openings(face.landmarks))
