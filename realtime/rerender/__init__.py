"""Offline rerenders on the pipeline side: the driving sequence, windows of frames through a
:class:`~engines.offline.frames.WindowRenderer`, the resumable work folder and the final encode."""
