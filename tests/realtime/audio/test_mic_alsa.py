"""End to end through the real microphone path: PortAudio (sounddevice) -> MicAudioSource -> AudioMouth.

With no sound card, a user-space ALSA configuration (a ``.asoundrc`` in a temporary HOME) defines a capture
device whose samples come from a named pipe; the child process writes a vowel between two silences into the
pipe at real-time pace (10 ms blocks) and polls the mouth. A fresh process is used because ALSA and
PortAudio read their configuration once per process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[3]
DEVICE = "livepuppet_test_mic"

ASOUNDRC = """
pcm.{device} {{
    type plug
    slave {{ pcm "{device}_file" format S16_LE channels 1 rate 16000 }}
    hint {{ show on description "LivePuppet test microphone" }}
}}
pcm.{device}_file {{
    type file
    slave.pcm "null"
    file "/dev/null"
    infile "{fifo}"
    format "raw"
}}
"""

CHILD = r"""
import json, os, sys, threading, time
import numpy as np
fifo, device = sys.argv[1], sys.argv[2]
# Open the pipe read-write first: PortAudio opens the capture device (and the pipe) while listing devices.
fd = os.open(fifo, os.O_RDWR)
from realtime.audio import AudioMouth
from realtime.audio.mic import MicAudioSource
from tests.realtime.audio.signals import noise, vowel

block = 160
signal = np.concatenate([noise(1.0), vowel("a", 0.5), noise(0.6, seed=1)])
pcm = (np.clip(signal, -1, 1) * 32767).astype("<i2")
done = threading.Event()
marks = {}

def writer():
    k, prefill = 0, 4 * block  # a few blocks ahead so the device never reads a half-written block
    while not done.is_set():
        chunk = pcm[k:k + block] if k < len(pcm) else np.zeros(block, "<i2")
        if k == 16000:
            marks["onset"] = time.perf_counter()
        os.write(fd, chunk.tobytes())
        k += block
        if k > prefill:
            time.sleep(block / 16000)

source = MicAudioSource(device, block_size=block)
mouth = AudioMouth.from_source(source)
thread = threading.Thread(target=writer, daemon=True)
thread.start()
trace, started = [], time.perf_counter()
while time.perf_counter() - started < 2.5:
    trace.append((time.perf_counter(), mouth.update().opening))
    time.sleep(0.005)
latency = source.input_latency
mouth.close()
done.set()
thread.join()
onset = marks["onset"]
print(json.dumps({"trace": [(t - onset, o) for t, o in trace], "input_latency": latency}))
"""


def _portaudio_missing() -> str | None:
    try:
        import sounddevice  # noqa: F401
    except OSError as exc:
        return f"PortAudio library missing ({exc}); install the Debian package libportaudio2"
    if not hasattr(os, "mkfifo"):
        return "needs POSIX named pipes"
    return None


@pytest.mark.slow
def test_microphone_path_drives_the_mouth(tmp_path):
    reason = _portaudio_missing()
    if reason:
        pytest.skip(reason)
    fifo = tmp_path / "mic.raw"
    os.mkfifo(fifo)
    (tmp_path / ".asoundrc").write_text(ASOUNDRC.format(device=DEVICE, fifo=fifo))
    env = {**os.environ, "HOME": str(tmp_path), "PYTHONPATH": str(REPO)}
    env.pop("ALSA_CONFIG_PATH", None)
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(fifo), DEVICE], check=False, cwd=REPO, env=env, capture_output=True, text=True,
        timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    trace = np.array(result["trace"])  # (N, 2): seconds after the vowel's first block was written, opening
    before = trace[(trace[:, 0] > -0.3) & (trace[:, 0] < -0.05), 1]
    during = trace[(trace[:, 0] > 0.15) & (trace[:, 0] < 0.45), 1]
    after = trace[(trace[:, 0] > 0.9) & (trace[:, 0] < 1.1), 1]
    assert before.size and during.size and after.size
    assert before.max() < 0.05
    assert during.mean() > 0.3  # a lone vowel is the speaker's average timbre: about half open
    assert after.max() < 0.1
    # Sound to mouth through the pipe, PortAudio, the model and the polling; the pipe is filled 40 ms
    # ahead, so this is a loose upper bound on a shared machine, not the live latency figure.
    opened = trace[(trace[:, 0] > -0.1) & (trace[:, 1] >= 0.5 * np.median(during)), 0]
    assert opened.size and opened[0] < 0.25
    assert 0 < result["input_latency"] < 0.1
