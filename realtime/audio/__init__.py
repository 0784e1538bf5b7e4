"""Speech-driven mouth: audio sources (file, microphone), the speech front end and viseme model (live and
look-ahead offline), voice templates and their calibration, the AudioMouth motion modifier and idle motion
for a portrait that talks without a camera."""

from realtime.audio.idle import IdleConfig, IdleMotion
from realtime.audio.mouth import AudioMouth, AudioMouthConfig, mouth_params
from realtime.audio.mouth_model import MouthConfig, MouthModel, MouthState, MouthTrack, analyse
from realtime.audio.source import ArrayAudioSource, AudioBlock, AudioSource, FileAudioSource, load_audio
from realtime.audio.visemes import VISEMES, VoiceTemplates

__all__ = [
    "VISEMES", "ArrayAudioSource", "AudioBlock", "AudioMouth", "AudioMouthConfig", "AudioSource",
    "FileAudioSource", "IdleConfig", "IdleMotion", "MouthConfig", "MouthModel", "MouthState", "MouthTrack",
    "VoiceTemplates", "analyse", "load_audio", "mouth_params",
]  # fmt: skip
