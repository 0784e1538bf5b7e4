"""Tiny random stand-ins for the offline modes' weights, saved in the folder layouts users download.

Tests and the CPU benchmark build these (seconds, a few MB), save them with the libraries' own
``save_pretrained`` and load them back through exactly the loaders the CLI uses, so every path except
the pictures is real. The outputs are meaningless noise. Nothing here downloads anything.

Layouts written (the same as the Hugging Face repositories named in :mod:`engines.offline.weights`):

* ``sd15/``: ``model_index.json``, ``unet/``, ``vae/``, ``text_encoder/``, ``tokenizer/``, ``scheduler/``
* ``controlnet/``: ``config.json`` + ``diffusion_pytorch_model.safetensors``
* ``ip_adapter/models/``: ``ip-adapter_sd15.safetensors`` + ``image_encoder/``
* ``motion_adapter/``: ``config.json`` + ``diffusion_pytorch_model.safetensors``
* ``wan_animate/`` and ``wan_vace/``: full Wan pipelines (``model_index.json`` and one folder per part)
"""

from __future__ import annotations

import string
from pathlib import Path

import torch

# SD-like: 3 VAE levels (latents at 1/4 of the image), 2 UNet levels, cross-attention width 16.
SD_CHANNELS = (16, 32)
TEXT_WIDTH = 16
NORM_GROUPS = 2
IP_ADAPTER_WEIGHT = "ip-adapter_sd15.safetensors"


def _clip_tokenizer():
    from transformers import CLIPTokenizer

    words = [f"{c}</w>" for c in string.ascii_lowercase] + list(string.ascii_lowercase)
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, **{w: i + 2 for i, w in enumerate(words)}}
    return CLIPTokenizer(vocab=vocab, merges=[], model_max_length=77)


def build_sd15(folder: Path) -> None:
    """A tiny SD-1.5-shaped pipeline folder (what ``stable-diffusion-v1-5/stable-diffusion-v1-5`` holds)."""
    from diffusers import AutoencoderKL, DDIMScheduler, StableDiffusionPipeline, UNet2DConditionModel
    from transformers import CLIPTextConfig, CLIPTextModel

    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        block_out_channels=SD_CHANNELS,
        layers_per_block=1,
        sample_size=16,
        in_channels=4,
        out_channels=4,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        up_block_types=("UpBlock2D", "CrossAttnUpBlock2D"),
        cross_attention_dim=TEXT_WIDTH,
        norm_num_groups=NORM_GROUPS,
        attention_head_dim=2,
    )
    vae = AutoencoderKL(
        block_out_channels=[8, 8, 16],
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        norm_num_groups=NORM_GROUPS,
        down_block_types=["DownEncoderBlock2D"] * 3,
        up_block_types=["UpDecoderBlock2D"] * 3,
        sample_size=64,
    )
    tokenizer = _clip_tokenizer()
    text_encoder = CLIPTextModel(
        CLIPTextConfig(
            hidden_size=TEXT_WIDTH,
            intermediate_size=32,
            num_attention_heads=2,
            num_hidden_layers=2,
            vocab_size=len(tokenizer),
            max_position_embeddings=77,
            projection_dim=TEXT_WIDTH,
            bos_token_id=0,
            eos_token_id=1,
            pad_token_id=1,
        )
    )
    scheduler = DDIMScheduler(
        beta_start=0.00085,
        beta_end=0.012,
        beta_schedule="scaled_linear",
        clip_sample=False,
        set_alpha_to_one=False,
        steps_offset=1,
    )
    pipe = StableDiffusionPipeline(
        vae=vae,
        text_encoder=text_encoder,
        tokenizer=tokenizer,
        unet=unet,
        scheduler=scheduler,
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder)


def build_controlnet(folder: Path) -> None:
    from diffusers import ControlNetModel

    torch.manual_seed(1)
    ControlNetModel(
        block_out_channels=SD_CHANNELS,
        layers_per_block=1,
        in_channels=4,
        cross_attention_dim=TEXT_WIDTH,
        down_block_types=("CrossAttnDownBlock2D", "DownBlock2D"),
        conditioning_embedding_out_channels=(8, 8, 16),
        norm_num_groups=NORM_GROUPS,
        attention_head_dim=2,
    ).save_pretrained(folder)


def build_ip_adapter(folder: Path, unet_folder: Path) -> None:
    """An IP-Adapter (plain variant) for the tiny UNet in ``unet_folder``:
    ``models/ip-adapter_sd15.safetensors`` with the public key layout (``image_proj.proj/norm``,
    ``ip_adapter.<n>.to_k_ip/to_v_ip`` numbered 1, 3, 5...
    over the UNet's cross-attention layers) and a CLIP vision encoder in ``models/image_encoder``."""
    from diffusers import UNet2DConditionModel
    from safetensors.torch import save_file
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    torch.manual_seed(2)
    embed_dim = 8
    encoder = CLIPVisionModelWithProjection(
        CLIPVisionConfig(
            hidden_size=16,
            projection_dim=embed_dim,
            num_hidden_layers=1,
            num_attention_heads=2,
            image_size=32,
            patch_size=8,
            intermediate_size=32,
        )
    )
    models = folder / "models"
    encoder.save_pretrained(models / "image_encoder")
    unet = UNet2DConditionModel.from_pretrained(unet_folder)
    tokens = 4
    tensors = {
        "image_proj.proj.weight": torch.randn(tokens * TEXT_WIDTH, embed_dim) * 0.1,
        "image_proj.proj.bias": torch.zeros(tokens * TEXT_WIDTH),
        "image_proj.norm.weight": torch.ones(TEXT_WIDTH),
        "image_proj.norm.bias": torch.zeros(TEXT_WIDTH),
    }
    cross_attention = [name for name in unet.attn_processors if name.endswith("attn2.processor")]
    for number, name in zip(range(1, 2 * len(cross_attention), 2), cross_attention):
        hidden = unet.get_submodule(name.rsplit(".processor", 1)[0]).to_q.out_features
        tensors[f"ip_adapter.{number}.to_k_ip.weight"] = torch.randn(hidden, TEXT_WIDTH) * 0.1
        tensors[f"ip_adapter.{number}.to_v_ip.weight"] = torch.randn(hidden, TEXT_WIDTH) * 0.1
    save_file(tensors, str(models / IP_ADAPTER_WEIGHT))


def build_motion_adapter(folder: Path) -> None:
    from diffusers import MotionAdapter

    torch.manual_seed(3)
    MotionAdapter(
        block_out_channels=SD_CHANNELS,
        motion_layers_per_block=1,
        motion_norm_num_groups=NORM_GROUPS,
        motion_num_attention_heads=2,
        motion_max_seq_length=32,
    ).save_pretrained(folder)


def _wan_text_parts():
    from transformers import T5Tokenizer, UMT5Config, UMT5EncoderModel

    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)]
    pieces += [(f"▁{c}", -3.0) for c in string.ascii_lowercase] + [(c, -4.0) for c in string.ascii_lowercase]
    tokenizer = T5Tokenizer(vocab=pieces, extra_ids=0)
    text_encoder = UMT5EncoderModel(
        UMT5Config(
            vocab_size=len(pieces),
            d_model=32,
            d_kv=8,
            d_ff=32,
            num_layers=1,
            num_heads=2,
            relative_attention_num_buckets=8,
            pad_token_id=0,
            eos_token_id=1,
        )
    )
    return tokenizer, text_encoder


def _wan_vae():
    from diffusers import AutoencoderKLWan

    return AutoencoderKLWan(
        base_dim=3, z_dim=16, dim_mult=[1, 1, 1, 1], num_res_blocks=1, temperal_downsample=[False, True, True]
    )


WAN_FACE_SIZE = 16  # the tiny motion encoder's face-crop side (the real model uses 512)
# What the tiny Wan-Animate and Wan-VACE transformers share.
TINY_WAN_TRANSFORMER = dict(
    patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=12, out_channels=16, text_dim=32,
    freq_dim=32, ffn_dim=32, num_layers=2, rope_max_seq_len=32,
)  # fmt: skip


def build_wan_animate(folder: Path) -> None:
    """A tiny Wan-Animate pipeline folder (the layout of ``Wan-AI/Wan2.2-Animate-14B-Diffusers``)."""
    from diffusers import UniPCMultistepScheduler, WanAnimatePipeline, WanAnimateTransformer3DModel
    from transformers import CLIPImageProcessor, CLIPVisionConfig, CLIPVisionModel

    torch.manual_seed(4)
    tokenizer, text_encoder = _wan_text_parts()
    transformer = WanAnimateTransformer3DModel(
        **TINY_WAN_TRANSFORMER,
        in_channels=36,
        latent_channels=16,
        image_dim=8,
        motion_encoder_channel_sizes={"4": 8, "8": 8, "16": 8},
        motion_encoder_size=WAN_FACE_SIZE,
        motion_style_dim=8,
        motion_dim=4,
        motion_encoder_dim=8,
        face_encoder_hidden_dim=8,
        face_encoder_num_heads=2,
        inject_face_latents_blocks=1,
    )
    image_encoder = CLIPVisionModel(
        CLIPVisionConfig(
            hidden_size=8,
            projection_dim=8,
            num_hidden_layers=2,
            num_attention_heads=2,
            image_size=8,
            intermediate_size=16,
            patch_size=4,
        )
    )
    pipe = WanAnimatePipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=_wan_vae(),
        scheduler=UniPCMultistepScheduler(
            prediction_type="flow_prediction", use_flow_sigmas=True, flow_shift=3.0
        ),
        image_processor=CLIPImageProcessor(size=8, crop_size=8),
        image_encoder=image_encoder,
        transformer=transformer,
    )
    pipe.save_pretrained(folder)


def build_wan_vace(folder: Path) -> None:
    """A tiny Wan-VACE pipeline folder (the layout of ``Wan-AI/Wan2.1-VACE-1.3B-diffusers``)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, WanVACEPipeline, WanVACETransformer3DModel

    torch.manual_seed(5)
    tokenizer, text_encoder = _wan_text_parts()
    transformer = WanVACETransformer3DModel(
        **TINY_WAN_TRANSFORMER,
        in_channels=16,
        vace_layers=[0, 1],
        vace_in_channels=96,
    )
    pipe = WanVACEPipeline(
        tokenizer=tokenizer,
        text_encoder=text_encoder,
        vae=_wan_vae(),
        scheduler=FlowMatchEulerDiscreteScheduler(shift=3.0),
        transformer=transformer,
    )
    pipe.save_pretrained(folder)


def build_all(root: Path) -> dict[str, Path]:
    """Every tiny model under ``root``; returns the folders by role (existing folders are reused)."""
    root = Path(root)
    folders = {
        "sd15": root / "sd15",
        "controlnet": root / "controlnet",
        "ip_adapter": root / "ip_adapter",
        "motion_adapter": root / "motion_adapter",
        "wan_animate": root / "wan_animate",
        "wan_vace": root / "wan_vace",
    }
    builders = {
        "sd15": build_sd15,
        "controlnet": build_controlnet,
        "ip_adapter": lambda folder: build_ip_adapter(folder, folders["sd15"] / "unet"),
        "motion_adapter": build_motion_adapter,
        "wan_animate": build_wan_animate,
        "wan_vace": build_wan_vace,
    }
    for role, folder in folders.items():
        if not (folder / ".complete").exists():
            builders[role](folder)
            (folder / ".complete").touch()
    return folders
