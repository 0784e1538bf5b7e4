"""Windows, overlaps, resume and the final video, with a fake renderer (no models)."""

import numpy as np
import pytest

from realtime.rerender.job import OfflineJob, crossfade, run_job
from realtime.video_io import VideoReader


class FakeRenderer:
    """Each window's frames are filled with a grey level unique to the window; records what it was asked."""

    def __init__(self, window: int, overlap: int):
        self.window, self.overlap = window, overlap
        self.calls: list[list[int]] = []

    def settings(self):
        return {"fake": [self.window, self.overlap]}

    def prepare(self, portrait, face):
        self.shape = portrait.shape
        self.face = face

    def render(self, frames):
        self.calls.append([f.index for f in frames])
        for frame in frames:
            assert frame.target.shape == (478, 3) and np.isfinite(frame.target).all()
        level = 40 * len(self.calls)
        return [np.full(self.shape, level, np.uint8) for _ in frames]

    def close(self):
        pass


class Interrupt(Exception):
    pass


def _job(tmp_path, portrait, driving, frames):
    return OfflineJob(
        source=portrait,
        driving=driving,
        output=tmp_path / "out.mp4",
        work=tmp_path / "work",
        size=128,
        max_frames=frames,
        progress=False,
        keep_work=True,
    )


def test_crossfade():
    a, b = np.zeros((2, 2, 3), np.uint8), np.full((2, 2, 3), 200, np.uint8)
    assert crossfade(a, b, 0.25)[0, 0, 0] == 50


def test_windows_overlap_and_crossfade(tmp_path, portrait, driving_with_audio):
    renderer = FakeRenderer(window=4, overlap=2)
    summary = run_job(_job(tmp_path, portrait, driving_with_audio, 7), renderer)
    assert renderer.calls == [[0, 1, 2, 3], [2, 3, 4, 5], [4, 5, 6]]
    assert summary.frames == 7 and summary.computed == 7
    with VideoReader(tmp_path / "out.mp4") as reader:
        levels = [float(frame.image.mean()) for frame in reader]
    # window 1 = 40, window 2 = 80, window 3 = 120; shared frames fade 1/3, 2/3 of the way to the later one.
    expected = [40, 40, 40 + 40 / 3, 40 + 80 / 3, 80 + 40 / 3, 80 + 80 / 3, 120]
    assert np.allclose(levels, expected, atol=2.5)


def test_interrupted_render_resumes_with_only_the_rest(tmp_path, portrait, driving_with_audio):
    job = _job(tmp_path, portrait, driving_with_audio, 5)
    first = FakeRenderer(window=1, overlap=0)
    seen = []

    def stop_after_two(index):
        seen.append(index)
        if len(seen) == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        run_job(job, first, on_frame=stop_after_two)
    assert not job.output.exists()
    second = FakeRenderer(window=1, overlap=0)
    computed = []
    summary = run_job(job, second, on_frame=computed.append)
    assert computed == [2, 3, 4] and second.calls == [[2], [3], [4]]
    assert summary.frames == 5 and summary.computed == 3
    with VideoReader(job.output) as reader:
        assert sum(1 for _ in reader) == 5
    # Changed settings do not reuse the frames.
    third = FakeRenderer(window=2, overlap=0)
    assert run_job(job, third).computed == 5


def test_output_keeps_the_driving_audio_and_work_is_removed(tmp_path, portrait, driving_with_audio):
    import av

    job = _job(tmp_path, portrait, driving_with_audio, 4)
    job = type(job)(**{**{f: getattr(job, f) for f in job.__dataclass_fields__}, "keep_work": False})
    run_job(job, FakeRenderer(window=1, overlap=0))
    with av.open(str(job.output)) as container:
        assert {stream.type for stream in container.streams} == {"video", "audio"}
    assert not any((tmp_path / "work").glob("*/frame_*.png"))
