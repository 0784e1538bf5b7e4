import pytest

from engines.base import LivePuppetError
from engines.offline.weights import (
    CONTROLNET,
    SD15,
    WAN_VACE,
    RuntimeOptions,
    check_weights,
    controlnet_folder,
    ip_adapter_spec,
)


def _touch(folder, *names):
    for name in names:
        path = folder / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")


def test_error_names_each_missing_file_and_the_repository(tmp_path):
    sd = tmp_path / "sd"
    _touch(
        sd,
        "model_index.json",
        "unet/config.json",
        "unet/diffusion_pytorch_model.fp16.safetensors",
        "vae/config.json",
        "text_encoder/config.json",
        "text_encoder/model.safetensors",
        "tokenizer/vocab.json",
        "scheduler/scheduler_config.json",
    )
    with pytest.raises(LivePuppetError) as caught:
        check_weights(
            [
                ("--model", SD15, sd),
                ("--controlnet", CONTROLNET, None),
                ("--ip-adapter", ip_adapter_spec("ip-adapter_sd15.safetensors"), tmp_path / "absent"),
            ]
        )
    message = str(caught.value)
    assert "vae/diffusion_pytorch_model.safetensors" in message  # the one file the SD folder lacks
    assert "unet/diffusion_pytorch_model" not in message  # an fp16 variant counts as present
    assert "text_encoder/" not in message.split("--controlnet")[0]
    assert "stable-diffusion-v1-5/stable-diffusion-v1-5" in message
    assert "--controlnet DIR is required" in message and "CrucibleAI/ControlNetMediaPipeFace" in message
    assert "absent is not a folder" in message and "h94/IP-Adapter" in message
    assert "\n" not in message  # the CLI prints it as one line


def test_complete_folders_pass_and_sharded_weights_count(tmp_path):
    vace = tmp_path / "vace"
    _touch(
        vace,
        "model_index.json",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model-00001-of-00002.safetensors",
        "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors",
        "text_encoder/config.json",
        "text_encoder/model-00001-of-00003.safetensors",
        "tokenizer/spiece.model",
        "scheduler/scheduler_config.json",
    )
    check_weights([("--model", WAN_VACE, vace)])


def test_controlnet_folder_accepts_the_repository_root(tmp_path):
    _touch(tmp_path, "diffusion_sd15/config.json")
    assert controlnet_folder(tmp_path) == tmp_path / "diffusion_sd15"
    assert controlnet_folder(tmp_path / "diffusion_sd15") == tmp_path / "diffusion_sd15"


def test_runtime_refuses_what_the_cpu_cannot_do(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert RuntimeOptions().resolved_device() == "cpu"
    assert RuntimeOptions().dtype() == torch.float32
    with pytest.raises(LivePuppetError, match="fp16 needs a GPU"):
        RuntimeOptions(precision="fp16").dtype()
    with pytest.raises(LivePuppetError, match="no CUDA"):
        RuntimeOptions(device="cuda").resolved_device()
    with pytest.raises(LivePuppetError, match="needs a CUDA GPU"):
        RuntimeOptions(offload="model").place(object())
