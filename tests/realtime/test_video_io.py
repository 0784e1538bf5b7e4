import wave
from fractions import Fraction

import av
import numpy as np
import pytest

from engines.base import LivePuppetError
from realtime.stages import FrameSource
from realtime.outputs import FAULT_VARIABLE
from realtime.video_io import VideoReader, VideoWriter, count_video_frames


def _frames(count: int, width: int = 96, height: int = 64) -> list[np.ndarray]:
    """Smooth moving gradients (H.264 keeps them close) that differ from frame to frame."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    return [
        np.stack([(x * 2 + 9 * i) % 256, (y * 3 + 5 * i) % 256, np.full_like(x, 40 + 8 * i)], axis=2).astype(
            np.uint8
        )
        for i in range(count)
    ]


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = ((a.astype(np.float64) - b) ** 2).mean()
    return 10 * np.log10(255**2 / max(mse, 1e-9))


def _sine_wav(path, seconds: float, rate: int = 16000) -> None:
    t = np.arange(int(seconds * rate)) / rate
    samples = (0.3 * 32767 * np.sin(2 * np.pi * 440 * t)).astype(np.int16)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.tobytes())


def _streams(path):
    with av.open(str(path)) as container:
        return {stream.type: stream for stream in container.streams}, [
            (stream.type, stream.codec_context.name) for stream in container.streams
        ]


def test_round_trip_keeps_frames_rate_and_audio(tmp_path):
    frames = _frames(30)
    audio = tmp_path / "speech.wav"
    _sine_wav(audio, seconds=2.0)
    path = tmp_path / "out.mp4"
    with VideoWriter(path, (96, 64), 25.0, audio_from=audio) as writer:
        for frame in frames:
            writer.write(frame)
    assert writer.duration == pytest.approx(30 / 25)

    with VideoReader(path) as reader:
        assert isinstance(reader, FrameSource)
        assert reader.fps == pytest.approx(25.0)
        assert reader.size == (96, 64)
        assert reader.frame_count == 30
        decoded = list(reader)
    assert not reader.truncated
    assert len(decoded) == 30
    assert [f.index for f in decoded] == list(range(30))
    assert decoded[0].timestamp == 0.0
    assert decoded[-1].timestamp == pytest.approx(29 / 25, abs=1e-3)
    for index, frame in enumerate(decoded):  # each decoded frame is its own original, in order
        own = _psnr(frames[index], frame.image)
        assert own > 22
        assert own > _psnr(frames[(index + 5) % 30], frame.image) + 5

    with av.open(str(path)) as container:
        video, sound = container.streams.video[0], container.streams.audio[0]
        assert (video.codec_context.name, video.pix_fmt) == ("h264", "yuv420p")
        assert sound.codec_context.name == "aac"
        # The audio is cut to the video's length (2 s of sound, 1.2 s of video).
        samples = sum(frame.samples for frame in container.decode(sound))
    assert samples / sound.codec_context.sample_rate == pytest.approx(1.2, abs=0.1)


def test_odd_sizes_are_padded_to_even(tmp_path):
    frames = _frames(5, width=97, height=63)
    path = tmp_path / "odd.mp4"
    with VideoWriter(path, (97, 63), Fraction(30000, 1001)) as writer:
        for frame in frames:
            writer.write(frame)
    with VideoReader(path) as reader:
        assert reader.size == (98, 64)
        assert reader.fps == pytest.approx(29.97, abs=0.01)
        first = next(iter(reader)).image
    assert _psnr(frames[0], first[:63, :97]) > 30
    with pytest.raises(ValueError):
        VideoWriter(tmp_path / "x.mp4", (10, 10), 25).write(np.zeros((12, 10, 3), np.uint8))


def test_the_same_frames_encode_to_the_same_bitstream_whatever_ran_before(tmp_path):
    """libx264's AVX-512 code read memory it never wrote: once the process had decoded a video, the same
    frames came out as a different bitstream now and then (the batch's killed-worker test failed 3 runs
    in 10). On a CPU without AVX-512 this passes with or without the fix."""
    frames = _frames(40, width=96, height=96)
    bitstreams = set()
    for attempt in range(8):
        path = tmp_path / f"out{attempt % 2}.mp4"
        with VideoWriter(path, (96, 96), 25) as writer:
            for frame in frames:
                writer.write(frame)
        with av.open(str(path)) as container:
            bitstreams.add(b"".join(bytes(packet) for packet in container.demux(video=0)))
        with VideoReader(path) as reader:  # a decode leaves the heap as a batch worker's driving read does
            assert sum(1 for _ in reader) == len(frames)
    assert len(bitstreams) == 1


def test_writer_without_audio_source_audio_writes_video_only(tmp_path):
    silent = tmp_path / "silent.mp4"
    with VideoWriter(silent, (96, 64), 25) as writer:
        for frame in _frames(3):
            writer.write(frame)
    copy = tmp_path / "copy.mp4"
    with VideoWriter(copy, (96, 64), 25, audio_from=silent) as writer:
        writer.write(_frames(1)[0])
    with av.open(str(copy)) as container:
        assert [s.type for s in container.streams] == ["video"]


def test_interrupted_writer_keeps_the_old_file_and_a_playable_partial(tmp_path):
    path = tmp_path / "out.mp4"
    path.write_bytes(b"an older render")
    with pytest.raises(KeyboardInterrupt) as error, VideoWriter(path, (96, 64), 25) as writer:
        for index, frame in enumerate(_frames(20)):
            if index == 12:
                raise KeyboardInterrupt
            writer.write(frame)
    assert path.read_bytes() == b"an older render"
    partial = tmp_path / "out.partial.mp4"
    assert error.value.__notes__ == [f"{path} is untouched; the 12 frames written so far are in {partial}"]
    with VideoReader(partial) as reader:
        assert len(list(reader)) == 12
    assert not reader.truncated
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4", "out.partial.mp4"]


def test_nothing_appears_before_close(tmp_path):
    path = tmp_path / "out.mp4"
    with VideoWriter(path, (96, 64), 25) as writer:
        writer.write(_frames(1)[0])
        assert not path.exists()
    assert count_video_frames(path) == 1


def test_a_full_disk_is_one_line_naming_the_output(tmp_path, monkeypatch):
    monkeypatch.setenv(FAULT_VARIABLE, "5")
    path = tmp_path / "out.mp4"
    with pytest.raises(LivePuppetError) as error, VideoWriter(path, (96, 64), 25) as writer:
        for frame in _frames(10):
            writer.write(frame)
    assert str(error.value) == f"cannot write {path}: no space left on device"
    assert error.value.__notes__ == [
        f"{path} was not written; the 5 frames written so far are in {tmp_path / 'out.partial.mp4'}"
    ]


def test_timestamps_of_a_variable_rate_source_are_kept(tmp_path):
    times = [0.0, 0.04, 0.08, 0.3, 0.34, 0.9, 0.92, 1.5]
    path = tmp_path / "vfr.mp4"
    with VideoWriter(path, (96, 64), 12.5) as writer:
        for time, frame in zip(times, _frames(len(times))):
            writer.write(frame, timestamp=time)
    assert writer.duration == pytest.approx(1.5 + 1 / 12.5)
    with VideoReader(path) as reader:
        assert [frame.timestamp for frame in reader] == pytest.approx(times, abs=1e-4)


def test_gif_output_keeps_size_and_timing(tmp_path):
    path = tmp_path / "loop.gif"
    with VideoWriter(path, (97, 63), 20) as writer:
        for frame in _frames(6, width=97, height=63):
            writer.write(frame)
    with VideoReader(path) as reader:
        assert reader.size == (97, 63)
        assert [frame.timestamp for frame in reader] == pytest.approx([i / 20 for i in range(6)], abs=0.011)


def test_unsupported_suffix_is_refused_before_writing(tmp_path):
    with pytest.raises(LivePuppetError, match=".gif"):
        VideoWriter(tmp_path / "x.webm", (8, 8), 25)
    assert list(tmp_path.iterdir()) == []


def _faststart_video(path, count: int) -> None:
    """An mp4 with its index first (like files from the web), so a cut-off copy still opens."""
    with av.open(str(path), "w", options={"movflags": "+faststart"}) as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 96, 64, "yuv420p"
        for frame in _frames(count):
            container.mux(stream.encode(av.VideoFrame.from_ndarray(frame, format="rgb24")))
        container.mux(stream.encode(None))


def test_truncated_video_reads_what_is_there(tmp_path):
    whole = tmp_path / "whole.mp4"
    _faststart_video(whole, 40)
    data = whole.read_bytes()
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(data[: int(len(data) * 0.6)])
    with VideoReader(cut) as reader:
        frames = list(reader)
    assert reader.truncated
    assert 0 < len(frames) < 40


def test_truncated_video_without_index_is_a_clear_error(tmp_path):
    whole = tmp_path / "whole.mp4"
    with VideoWriter(whole, (96, 64), 25) as writer:  # index at the end: a cut copy cannot be opened
        for frame in _frames(10):
            writer.write(frame)
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(LivePuppetError, match="cut.mp4"):
        VideoReader(cut)


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(LivePuppetError, match="not found"):
        VideoReader(tmp_path / "nothing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 100)
    with pytest.raises(LivePuppetError, match="junk.mp4"):
        VideoReader(junk)
    audio_only = tmp_path / "audio.wav"
    _sine_wav(audio_only, 0.2)
    with pytest.raises(LivePuppetError, match="no video stream"):
        VideoReader(audio_only)
    with pytest.raises(LivePuppetError, match="does not exist"):
        VideoWriter(tmp_path / "no" / "such" / "dir.mp4", (16, 16), 25)
