"""Video files in and out, with PyAV (FFmpeg): the offline frame source and the file sink's writer.

* :class:`VideoReader` decodes any video FFmpeg reads (mp4, mov, webm, mkv, avi, ...) to RGB frames, upright
  (the rotation metadata of phone videos is applied). A file that stops decoding midway (truncated or
  damaged) ends the iteration early with ``truncated`` set instead of raising, so what was rendered stays.
* :class:`VideoWriter` writes H.264 ``yuv420p`` mp4 (libx264), the format every player and site accepts, or
  an animated GIF, keeping each frame's timestamp (variable frame rates stay in sync with the sound), and
  carries over the audio of another file (re-encoded to AAC, cut to the video's length). Odd frame sizes
  are padded by one pixel (yuv420p needs even sizes). The file appears only when complete (atomic rename);
  an exception or Ctrl-C through the context manager leaves an existing file untouched and keeps the frames
  written so far as ``NAME.partial.mp4``.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from engines.base import LivePuppetError
from realtime.images import load_image  # noqa: F401  (part of this module's public API, see contracts)
from realtime.outputs import VIDEO_SUFFIXES, AtomicOutput, write_error
from realtime.stages import TimedFrame

log = logging.getLogger(__name__)

DEFAULT_FPS = 25.0
VIDEO_TIME_BASE = Fraction(1, 90000)  # the MPEG clock: exact for 24, 25, 30, 50, 60 and the NTSC rates
GIF_TIME_BASE = Fraction(1, 100)  # GIF delays are in hundredths of a second


def _open_input(path: Path, what: str) -> av.container.InputContainer:
    if not path.is_file():
        raise LivePuppetError(f"{what} not found: {path}")
    try:
        return av.open(str(path), mode="r")
    except (av.FFmpegError, OSError, ValueError) as exc:
        raise LivePuppetError(
            f"cannot read {what} {path}: not a video FFmpeg can open, or damaged ({exc})"
        ) from exc


class VideoReader:
    """RGB frames of a video file: ``for frame in reader`` yields :class:`TimedFrame` (timestamps in seconds
    from the first frame). Also a :class:`~realtime.stages.FrameSource` (``frames()``)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._container = _open_input(self.path, "video")
        if not self._container.streams.video:
            self._container.close()
            raise LivePuppetError(f"{self.path} has no video stream")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.fps = float(rate) if rate else DEFAULT_FPS
        self.frame_count = int(self._stream.frames or 0)  # 0 when the container does not say
        self.truncated = False
        self._rotation: int | None = None  # from the first frame's display matrix
        # Seconds from the start of the file's sound to its first picture (0 without sound): timestamps are
        # counted from the first picture, so a writer copying this sound places frames this much later.
        self.audio_lead = 0.0
        self.size = self._upright_size(self._stream.codec_context.width, self._stream.codec_context.height)

    def _upright_size(self, width: int, height: int) -> tuple[int, int]:
        rotation = 0
        try:
            first = next(self._container.decode(self._stream), None)
        except av.FFmpegError:
            first = None
        if first is not None:
            rotation = int(getattr(first, "rotation", 0) or 0)
            width, height = first.width, first.height
            self.audio_lead = self._audio_lead(first.time)
        self._rotation = rotation
        # Back to the start for iteration: reopening works for every container (seeking does not).
        self._container.close()
        self._container = _open_input(self.path, "video")
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        if rotation % 180 != 0:
            width, height = height, width
        return width, height

    def _audio_lead(self, first_time: float | None) -> float:
        audio = self._container.streams.audio
        if first_time is None or not audio or audio[0].start_time is None or audio[0].time_base is None:
            return 0.0
        return max(0.0, float(first_time - audio[0].start_time * audio[0].time_base))

    def __iter__(self) -> Iterator[TimedFrame]:
        return self.frames()

    def frames(self) -> Iterator[TimedFrame]:
        quarter_turns = (self._rotation or 0) // 90
        start: float | None = None
        index = 0
        try:
            for frame in self._container.decode(self._stream):
                image = frame.to_ndarray(format="rgb24")  # (H, W, 3) uint8
                if quarter_turns % 4:
                    image = np.ascontiguousarray(np.rot90(image, k=quarter_turns))
                time = frame.time if frame.time is not None else index / self.fps
                start = time if start is None else start
                yield TimedFrame(image=image, timestamp=float(time - start), index=index)
                index += 1
        except av.FFmpegError as exc:
            self.truncated = True
            log.warning(
                "%s: decoding stopped after %d frames (%s); the file looks truncated or damaged",
                self.path,
                index,
                exc,
            )
        if self.frame_count and index < self.frame_count - 1 and not self.truncated:
            # FFmpeg skips over a cut-off tail quietly; the container's own frame count gives it away.
            self.truncated = True
            log.warning(
                "%s: only %d of %d frames could be decoded; the file looks truncated",
                self.path,
                index,
                self.frame_count,
            )

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _AudioCopy:
    """Re-encodes the first audio stream of a file into ``output`` as AAC, lazily and in step with the
    video (``pump(until)``), so a render cut short still has audio up to where the video ends."""

    def __init__(self, source: av.container.InputContainer, output: av.container.OutputContainer):
        self._input = source
        stream = self._input.streams.audio[0]
        layout = "mono" if stream.codec_context.channels == 1 else "stereo"
        rate = stream.codec_context.sample_rate or 44100
        self._stream = output.add_stream("aac", rate=rate, layout=layout)
        self._resampler = av.AudioResampler(format="fltp", layout=layout, rate=rate, frame_size=1024)
        self._frames = self._input.decode(stream)
        self._output = output
        self._samples = 0
        self._rate = rate
        self._done = False

    @classmethod
    def open(cls, path: Path, output: av.container.OutputContainer) -> "_AudioCopy | None":
        """The copy of ``path``'s sound into ``output``, or None when ``path`` has no audio stream."""
        source = _open_input(path, "audio source")
        if not source.streams.audio:
            source.close()
            return None
        return cls(source, output)

    def pump(self, until: float) -> None:
        """Encode audio up to ``until`` seconds."""
        while not self._done and self._samples < until * self._rate:
            try:
                frame = next(self._frames, None)
            except av.FFmpegError as exc:
                log.warning("audio decoding stopped (%s); the rest of the output has no sound", exc)
                frame = None
            if frame is None:
                self._done = True
                self._encode_resampled(None)
                break
            frame.pts = None  # let the resampler and encoder count samples from zero
            self._encode_resampled(frame)

    def _encode_resampled(self, frame: av.AudioFrame | None) -> None:
        for chunk in self._resampler.resample(frame):
            chunk.pts = self._samples
            chunk.time_base = Fraction(1, self._rate)
            self._samples += chunk.samples
            self._output.mux(self._stream.encode(chunk))

    def finish(self, duration: float) -> None:
        """Audio up to the video's ``duration``, then flush the encoder."""
        self.pump(duration)
        self._output.mux(self._stream.encode(None))
        self._input.close()


def count_video_frames(path: str | Path) -> int:
    """How many video frames ``path`` holds if its first frame decodes (0 for an unplayable file)."""
    try:
        with av.open(str(path), mode="r") as container:
            if not container.streams.video:
                return 0
            stream = container.streams.video[0]
            packets = [packet for packet in container.demux(stream) if packet.size]
            if not packets:
                return 0
            with av.open(str(path), mode="r") as again:
                if next(again.decode(video=0), None) is None:
                    return 0
            return len(packets)
    except (av.FFmpegError, OSError, ValueError):
        return 0


def x264_options(crf: int) -> dict[str, str]:
    """libx264's options for ``crf``: the same frames always give the same bitstream.

    On a CPU with AVX-512, libx264's AVX-512 code (in its macroblock tree with adaptive quantisation, both
    on by default) depends on memory it never wrote: once the process has decoded a video, the same frames
    now and then encode differently (a frame's last macroblocks a few grey levels off, carried on by the
    frames that reference them). Its AVX2 code, which AVX2-only CPUs run too, gives one bitstream every
    time, so AVX-512 is left out; other CPUs keep x264's own choice."""
    options = {"crf": str(crf), "preset": "veryfast"}
    if _cpu_has_avx512():
        options["x264-params"] = "asm=AVX2"  # x264's flag set up to AVX2 (FMA3, BMI1/2, LZCNT included)
    return options


@functools.cache
def _cpu_has_avx512() -> bool:
    """Whether this CPU and OS run AVX-512 (numpy's run-time CPU dispatch has already asked)."""
    try:
        from numpy._core._multiarray_umath import __cpu_features__
    except ImportError:  # older numpy
        try:
            from numpy.core._multiarray_umath import __cpu_features__
        except ImportError:
            return False
    return bool(__cpu_features__.get("AVX512F")) and bool(__cpu_features__.get("AVX2"))


class VideoWriter:
    """Video file writer: ``write(rgb, timestamp=None)`` per frame (RGB uint8 of ``size`` = (w, h)),
    ``close()`` once. The format follows the suffix (:data:`realtime.outputs.VIDEO_SUFFIXES`): H.264
    yuv420p in .mp4/.mov/.mkv/.m4v, an animated .gif (no sound, 256 colours).

    The file is written atomically (:class:`realtime.outputs.AtomicOutput`): nothing appears at ``path``
    until ``close()`` succeeds. Leaving the ``with`` block on an exception (Ctrl-C, SIGTERM, a full disk)
    leaves an existing ``path`` untouched and keeps the frames written so far as ``NAME.partial.mp4``, which
    the exception's note names; a write error becomes a one-line LivePuppetError naming ``path``.

    ``timestamp`` (seconds from the first frame) keeps a variable-frame-rate source's timing, so the copied
    sound stays in sync; None places the frame 1/``fps`` after the previous one. ``audio_from`` is a video
    or audio file whose first audio track is copied (re-encoded to AAC, cut to the video's length); it is
    ignored when it has no audio. ``crf`` is x264's quality (lower = better, 18 is visually lossless for
    most content).
    """

    def __init__(
        self,
        path: str | Path,
        size: tuple[int, int],
        fps: float,
        audio_from: str | Path | None = None,
        crf: int = 18,  # x264 quality: lower is better; 18 looks lossless on most content
    ):
        self.path = Path(path)
        self.size = (int(size[0]), int(size[1]))
        self.frames_written = 0
        self._fps = Fraction(fps).limit_denominator(1001) if fps > 0 else Fraction(int(DEFAULT_FPS))
        self._gif = self.path.suffix.lower() == ".gif"
        self._time_base = GIF_TIME_BASE if self._gif else VIDEO_TIME_BASE
        self._last_pts = -1
        self._last_time = 0.0
        self._closed = False
        if self.path.suffix.lower() not in VIDEO_SUFFIXES:
            raise LivePuppetError(
                f"cannot write {self.path}: unsupported suffix; use {', '.join(VIDEO_SUFFIXES)}"
            )
        self._output = AtomicOutput(self.path, count_frames=count_video_frames)
        try:
            self._container = av.open(str(self._output.temporary), mode="w")
            self._stream, self._padded = self._add_video_stream(crf)
            self._audio = None
            if audio_from is not None and not self._gif:
                self._audio = _AudioCopy.open(Path(audio_from), self._container)
        except BaseException as exc:
            self._closed = True
            self._output.abandon()
            if isinstance(exc, (av.FFmpegError, OSError, ValueError)):
                raise LivePuppetError(f"cannot write {self.path}: {exc}") from exc
            raise
        self._buffer = (
            np.zeros((self._padded[1], self._padded[0], 3), np.uint8) if self._padded != self.size else None
        )

    def _add_video_stream(self, crf: int):
        width, height = self.size
        if self._gif:
            stream = self._container.add_stream("gif", rate=self._fps)
            stream.pix_fmt = "rgb8"
            padded = self.size
        else:
            stream = self._container.add_stream("libx264", rate=self._fps)
            stream.pix_fmt = "yuv420p"
            stream.options = x264_options(crf)
            padded = (width + width % 2, height + height % 2)  # yuv420p needs even sizes
        stream.width, stream.height = padded
        stream.codec_context.time_base = self._time_base  # fine enough for any source's timestamps
        return stream, padded

    def write(self, rgb: np.ndarray, timestamp: float | None = None) -> None:
        if rgb.shape != (self.size[1], self.size[0], 3) or rgb.dtype != np.uint8:
            raise ValueError(
                f"frame {rgb.shape} {rgb.dtype} does not match the writer's size {self.size} (uint8 RGB)"
            )
        self._output.check_fault()
        if self._buffer is not None:  # replicate the last column/row into the padding
            height, width = rgb.shape[:2]
            self._buffer[:height, :width] = rgb
            self._buffer[:height, width:] = rgb[:, -1:]
            self._buffer[height:] = self._buffer[height - 1 : height]
            rgb = self._buffer
        if timestamp is None or not np.isfinite(timestamp):
            timestamp = self._last_time + float(1 / self._fps) if self.frames_written else 0.0
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
        frame.pts = max(round(timestamp / self._time_base), self._last_pts + 1)  # strictly increasing
        frame.time_base = self._time_base
        self._container.mux(self._stream.encode(frame))
        self._last_pts = frame.pts
        self._last_time = float(frame.pts * self._time_base)
        self.frames_written += 1
        if self._audio is not None:
            self._audio.pump(self.duration)

    @property
    def duration(self) -> float:
        """Seconds of video written: up to the last frame's time plus one frame period."""
        return self._last_time + float(1 / self._fps) if self.frames_written else 0.0

    def _finish_container(self) -> None:
        try:
            self._container.mux(self._stream.encode(None))
            if self._audio is not None:
                self._audio.finish(self.duration)
        finally:
            self._container.close()

    def close(self) -> None:
        """Flush the encoders, finish the file and move it into place (idempotent)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._finish_container()
        except BaseException as exc:
            self._output.abandon(exc)
            if isinstance(exc, (av.FFmpegError, OSError)):
                raise write_error(self.path, exc) from exc
            raise
        self._output.commit()

    def abandon(self, exc: BaseException | None = None, keep_partial: bool = True) -> Path | None:
        """Stop without replacing ``path``: the frames so far are kept as NAME.partial.SUFFIX when playable
        and ``keep_partial`` (returned), and ``exc`` gets a note saying what happened."""
        if self._closed:
            return self._output.kept
        self._closed = True
        try:
            self._finish_container()  # a finished container is a playable partial
        except BaseException:  # noqa: BLE001 - the first failure is the one worth reporting
            pass
        return self._output.abandon(exc, keep_partial=keep_partial)

    def __enter__(self) -> VideoWriter:
        return self

    def __exit__(self, kind, exc, traceback) -> None:
        if exc is None:
            self.close()
            return
        self.abandon(exc)
        if isinstance(exc, (av.FFmpegError, OSError)):
            raise write_error(self.path, exc) from exc

