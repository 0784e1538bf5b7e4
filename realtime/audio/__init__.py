"""Speech-driven mouth: audio sources (file, microphone), the speech -> mouth model, the AudioMouth motion
modifier and idle motion for a portrait that talks without a camera."""

from realtime.audio.idle import IdleConfig, IdleMotion
from realtime.audio.mouth import AudioMouth, AudioMouthConfig, mouth_params
from realtime.audio.mouth_model import MouthConfig, MouthModel, MouthState, MouthTrack, analyse
from realtime.audio.source import ArrayAudioSource, AudioBlock, AudioSource, FileAudioSource, load_audio

__all__ = [
    "ArrayAudioSource", "AudioBlock", "AudioMouth", "AudioMouthConfig", "AudioSource", "FileAudioSource",
    "IdleConfig", "IdleMotion", "MouthConfig", "MouthModel", "MouthState", "MouthTrack", "analyse",
    "load_audio", "mouth_params",
]  # fmt: skip
