import wave
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from skimage import data

from engines.base import LivePuppetError, Motion, SourceState
from engines.retarget import Retargeter
from realtime.offline import FrameRenderer, RenderRequest, render_video
from realtime.video_io import VideoReader, VideoWriter

BLANK_FRAMES = 3
SHIFTS = [0, 0, 0, 0, 4, 8, 12, 16, 20, 24]  # px to the right, per driving frame with a face


class SimilarityEngine:
    """A stand-in engine: the portrait moved by the similarity that best follows the retargeted landmarks.
    ``fail_at`` lists the render calls (0-based) that raise."""

    name = "fake-similarity"

    def __init__(self, fail_at=()):
        self.fail_at = set(fail_at)
        self.calls = 0
        self.motions: list[Motion] = []

    def prepare(self, portrait, face):
        state = SourceState(image=portrait, face=face)
        state.extras["retargeter"] = Retargeter(face)
        return state

    def render(self, state, motion):
        call, self.calls = self.calls, self.calls + 1
        self.motions.append(motion)
        if call in self.fail_at or "all" in self.fail_at:
            raise RuntimeError(f"boom at {call}")
        target = state.extras["retargeter"].retarget(motion)
        source = np.ascontiguousarray(state.face.landmarks[:, :2])
        matrix, _ = cv2.estimateAffinePartial2D(source, np.ascontiguousarray(target[:, :2]))
        height, width = state.image.shape[:2]
        return cv2.warpAffine(state.image, matrix, (width, height), borderMode=cv2.BORDER_REPLICATE)

    def close(self):
        pass


def _shift(image, dx):
    return cv2.warpAffine(
        image, np.float32([[1, 0, dx], [0, 1, 0]]), image.shape[1::-1], borderMode=cv2.BORDER_REPLICATE
    )


@pytest.fixture(scope="module")
def media(tmp_path_factory):
    """A portrait PNG and a driving video: 3 faceless frames, then the same face moving right, with sound."""
    folder = tmp_path_factory.mktemp("media")
    portrait = data.astronaut()
    source = folder / "portrait.png"
    cv2.imwrite(str(source), portrait[:, :, ::-1])
    sound = folder / "sound.wav"
    rate = 16000
    with wave.open(str(sound), "wb") as out:
        out.setnchannels(1), out.setsampwidth(2), out.setframerate(rate)
        out.writeframes((3000 * np.sin(np.arange(rate) * 0.1)).astype(np.int16).tobytes())
    driving = folder / "driving.mp4"
    with VideoWriter(driving, (512, 512), 25, audio_from=sound) as writer:
        for _ in range(BLANK_FRAMES):
            writer.write(np.full_like(portrait, 128))
        for dx in SHIFTS:
            writer.write(_shift(portrait, dx))
    return {"source": source, "driving": driving, "portrait": portrait, "folder": folder}


def _read(path: Path) -> list[np.ndarray]:
    with VideoReader(path) as reader:
        return [frame.image for frame in reader]


def _offset(a, b) -> float:
    """Horizontal shift of ``b`` relative to ``a`` in px (phase correlation on grey images)."""
    grey = [cv2.cvtColor(x, cv2.COLOR_RGB2GRAY).astype(np.float32) for x in (a, b)]
    (dx, _), _ = cv2.phaseCorrelate(grey[0], grey[1])
    return dx


def _psnr(a, b) -> float:
    mse = ((a.astype(np.float64) - b) ** 2).mean()
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def test_render_follows_the_driving_motion(media, tmp_path):
    engine = SimilarityEngine()
    timestamps = []

    class Recorder:
        def modify(self, motion, timestamp):
            timestamps.append(timestamp)
            return motion

    output = tmp_path / "out.mp4"
    request = RenderRequest(source=media["source"], driving=media["driving"], output=output, progress=False)
    summary = render_video(request, modifiers=[Recorder()], engine=engine)

    total = BLANK_FRAMES + len(SHIFTS)
    assert (summary.frames, summary.frames_without_face, summary.frames_failed) == (total, BLANK_FRAMES, 0)
    assert timestamps == pytest.approx([i / 25 for i in range(total)], abs=1e-3)
    # Before the first face: the neutral source (identity motion, flagged as no face).
    assert not engine.motions[0].face_found and engine.motions[BLANK_FRAMES].face_found
    frames = _read(output)
    assert len(frames) == total
    for frame in frames[:BLANK_FRAMES]:
        assert _psnr(media["portrait"], frame) > 35
    # Then the portrait moves as the driving face moves (relative to the first face frame).
    for frame, dx in zip(frames[BLANK_FRAMES:], SHIFTS):
        assert _offset(media["portrait"], frame) == pytest.approx(dx, abs=1.5)
    with av.open(str(output)) as container:
        assert [s.type for s in container.streams] == ["video", "audio"]
    assert summary.lines()[0] == f"wrote {output}"


def test_a_failing_frame_repeats_the_previous_one(media, tmp_path):
    output = tmp_path / "out.mp4"
    fail_at = BLANK_FRAMES + 6
    request = RenderRequest(source=media["source"], driving=media["driving"], output=output, progress=False)
    summary = render_video(request, engine=SimilarityEngine(fail_at=[fail_at]))
    assert summary.frames_failed == 1
    frames = _read(output)
    assert len(frames) == BLANK_FRAMES + len(SHIFTS)
    assert _psnr(frames[fail_at - 1], frames[fail_at]) > 40
    assert _offset(frames[fail_at], frames[fail_at + 1]) == pytest.approx(8, abs=1.5)


def test_an_engine_failing_everywhere_stops_with_a_valid_partial_file(media, tmp_path):
    output = tmp_path / "out.mp4"
    request = RenderRequest(source=media["source"], driving=media["driving"], output=output, progress=False)
    with pytest.raises(LivePuppetError, match="fails on every frame") as error:
        render_video(request, engine=SimilarityEngine(fail_at=["all"]))
    assert not output.exists()
    partial = tmp_path / "out.partial.mp4"
    assert str(partial) in error.value.__notes__[0]
    frames = _read(partial)
    assert 0 < len(frames) < BLANK_FRAMES + len(SHIFTS)
    assert _psnr(media["portrait"], frames[0]) > 35  # what was written is the untouched source


def test_frame_renderer_returns_its_own_buffer(media):
    engine = SimilarityEngine()
    from realtime.tracker import find_portrait_face

    state = engine.prepare(media["portrait"], find_portrait_face(media["portrait"]))
    renderer = FrameRenderer(engine, state)
    first = renderer.render(None, 0.0)
    assert first is renderer.render(None, 0.04)
    assert first is not state.image


def test_source_without_a_face_is_a_one_line_error(media, tmp_path):
    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((200, 300, 3), 90, np.uint8))
    request = RenderRequest(source=blank, driving=media["driving"], output=tmp_path / "o.mp4", progress=False)
    with pytest.raises(LivePuppetError, match="wall.png") as error:
        render_video(request, engine=SimilarityEngine())
    assert "frontal" in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "o.mp4").exists()


def test_output_may_not_overwrite_an_input(media):
    request = RenderRequest(source=media["source"], driving=media["driving"], output=media["driving"])
    with pytest.raises(LivePuppetError, match="overwrite"):
        render_video(request, engine=SimilarityEngine())


def test_size_sets_the_output_resolution(media, tmp_path):
    output = tmp_path / "small.mp4"
    request = RenderRequest(
        source=media["source"],
        driving=media["driving"],
        output=output,
        size=256,
        max_frames=5,
        progress=False,
    )
    summary = render_video(request, engine=SimilarityEngine())
    assert summary.frames == 5
    with VideoReader(output) as reader:
        assert reader.size == (256, 256)


def test_warp_engine_renders_real_data(data_dir, tmp_path):
    output = tmp_path / "s1_d0.mp4"
    request = RenderRequest(
        source=data_dir / "source" / "s1.jpg",
        driving=data_dir / "driving" / "d0.mp4",
        output=output,
        engine="warp",
        size=320,
        max_frames=8,
        progress=False,
    )
    summary = render_video(request)
    assert (summary.frames, summary.frames_failed) == (8, 0)
    with VideoReader(output) as reader:
        assert reader.fps == pytest.approx(25)
        assert max(reader.size) == 320
        frames = [frame.image for frame in reader]
    assert len(frames) == 8
    assert all(frame.std() > 10 for frame in frames)  # real pictures, not blank frames
