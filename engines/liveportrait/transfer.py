"""Host <-> device transfers of the neural engine: the 256x256 crops up, the 512x512 frames down.

A frame crosses the bus twice: its crop goes up once (uint8, 192 KB) and the rendered crop comes down once,
already converted to uint8 HWC on the device (768 KB) for the paste-back; nothing in between returns to the
host. With ``staged`` (the default on CUDA) both crossings go through buffers allocated once: page-locked
(pinned) host buffers, so the copies are DMA and the upload is queued asynchronously behind the work already
on the stream; a CUDA event orders the reuse of each buffer. Without it (the CPU) tensors simply wrap the
arrays.
"""

from __future__ import annotations

import numpy as np
import torch


class HostTransfer:
    """Single-threaded. Arrays returned by :meth:`download` are buffers reused by the next call when
    ``staged``."""

    def __init__(self, device: torch.device, staged: bool | None = None):
        self.device = torch.device(device)
        self.staged = self.device.type == "cuda" if staged is None else staged
        self._pin = self.device.type == "cuda" and self.staged
        self._host_in: dict[tuple[int, ...], torch.Tensor] = {}
        self._device_in: dict[tuple[int, ...], torch.Tensor] = {}
        self._host_out: dict[tuple[int, ...], torch.Tensor] = {}
        self._uploaded = self._event()  # the last upload has left its host buffer
        self._downloaded = self._event()  # the last download has landed in its host buffer

    def _event(self):
        return torch.cuda.Event() if self.device.type == "cuda" and self.staged else None

    def _buffer(self, cache: dict, shape: tuple[int, ...], device: torch.device, pin: bool) -> torch.Tensor:
        buffer = cache.get(shape)
        if buffer is None:
            buffer = cache[shape] = torch.empty(shape, dtype=torch.uint8, device=device, pin_memory=pin)
        return buffer

    def upload(self, crop: np.ndarray) -> torch.Tensor:
        """RGB uint8 (H, W, 3) -> (1, 3, H, W) float32 in [0, 1] on the device (a new tensor)."""
        if not self.staged:
            image = torch.from_numpy(np.ascontiguousarray(crop)).to(self.device)
            return image.permute(2, 0, 1)[None].float() / 255.0
        shape = tuple(crop.shape)
        host = self._buffer(self._host_in, shape, torch.device("cpu"), self._pin)
        if self._uploaded is not None:
            self._uploaded.synchronize()  # the previous copy out of ``host`` is done before it is rewritten
        host.numpy()[...] = crop
        staged = self._buffer(self._device_in, shape, self.device, False)
        staged.copy_(host, non_blocking=self._pin)
        if self._uploaded is not None:
            self._uploaded.record()
        return staged.permute(2, 0, 1)[None].float() / 255.0

    def download(self, image: torch.Tensor) -> np.ndarray:
        """(1, 3, H, W) float -> (H, W, 3) RGB uint8 on the host (clip, x255, truncate, as the official code).
        The conversion runs on the device, so only the uint8 pixels cross the bus."""
        # contiguous on the device: a strided array would make every later cv2 call copy it (3.5 ms at 512²)
        pixels = (image[0].clamp(0, 1) * 255).to(torch.uint8).permute(1, 2, 0).contiguous()
        if not self.staged:
            return pixels.cpu().numpy()
        host = self._buffer(self._host_out, tuple(pixels.shape), torch.device("cpu"), self._pin)
        host.copy_(pixels, non_blocking=self._pin)
        if self._downloaded is not None:
            self._downloaded.record()
            self._downloaded.synchronize()  # the sink reads the pixels next
        return host.numpy()
