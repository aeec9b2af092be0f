"""Reading Meta's SAM checkpoints and open_clip checkpoints into the frozen encoders.

Foreign `.pth`/`.pt`/`.bin` files are only ever read with `torch.load(weights_only=True)`, so a
hostile pickle cannot run code; `.safetensors` files are read with safetensors.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from open_clip import list_models
from safetensors.torch import load_file

from haris.config.model_config import ModelConfig
from haris.errors import CheckpointError, ConfigError
from haris.modeling.encoder_sizes import SAM_VIT_SIZES, text_model_config
from haris.modeling.image_encoder import ImageEncoder, resize_pos_embed
from haris.modeling.state_dict_check import load_fitting_state_dict
from haris.modeling.text_encoder import TextEncoder

TEXT_TOWER_KEYS = ("token_embedding.", "positional_embedding", "transformer.", "ln_final.", "text_projection")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a weights file: safetensors, or a torch file read with weights_only=True."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # torch and safetensors raise many types for a bad file
        raise CheckpointError(
            f"cannot read weights from {path}: {type(error).__name__}: {str(error).splitlines()[0][:200]} "
            "(truncated or corrupt file, or not a plain state dict; TorchScript archives are not read)"
        ) from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise CheckpointError(f"{path} does not hold a state dict of tensors")
    return {key.removeprefix("module."): value for key, value in state.items()}


def load_sam_weights(encoder: ImageEncoder, path: str | Path, config: ModelConfig) -> None:
    """Load a full SAM state dict (`image_encoder.` keys) or an encoder-only one into `encoder`."""
    state = read_state_dict(path)
    if any(key.startswith("image_encoder.") for key in state):
        state = {key.removeprefix("image_encoder."): v for key, v in state.items() if key.startswith("image_encoder.")}
    hint = _sam_fit_hint(state, config)
    kept_blocks = len(encoder.vit.blocks)
    state = {key: value for key, value in state.items() if _is_used_sam_key(key, kept_blocks)}
    model_pos_embed = encoder.vit.pos_embed
    file_pos_embed = state.get("pos_embed")
    if (
        file_pos_embed is not None
        and model_pos_embed is not None
        and file_pos_embed.shape != model_pos_embed.shape
        and file_pos_embed.shape[-1] == model_pos_embed.shape[-1]
    ):  # trained at another input size: resized to this one's grid
        state["pos_embed"] = resize_pos_embed(file_pos_embed, model_pos_embed.shape[1])
    load_fitting_state_dict(encoder.vit, state, f"SAM checkpoint {path}", hint)


def load_clip_text_weights(encoder: TextEncoder, path: str | Path, config: ModelConfig) -> None:
    """Load the text tower of an open_clip CLIP state dict into `encoder`, cutting the context."""
    state = read_state_dict(path)
    if any(key.startswith("text.transformer.") for key in state):  # CustomTextCLIP layout
        state = {key.removeprefix("text."): v for key, v in state.items() if key.startswith("text.")}
    state = {key: value for key, value in state.items() if key.startswith(TEXT_TOWER_KEYS)}
    positions = state.get("positional_embedding")
    if positions is not None and positions.shape[0] > config.max_words:
        state["positional_embedding"] = positions[: config.max_words].clone()
    elif positions is not None and positions.shape[0] < config.max_words:
        raise CheckpointError(f"CLIP checkpoint {path} has a context of {positions.shape[0]} tokens, fewer than max_words={config.max_words}")
    load_fitting_state_dict(encoder.tower, state, f"CLIP checkpoint {path}", _clip_fit_hint(state, config))


def _is_used_sam_key(key: str, kept_blocks: int) -> bool:
    if key.startswith("neck."):
        return False  # SAM's projection for its own mask decoder; HARIS taps the blocks
    block = re.match(r"blocks\.(\d+)\.", key)
    return block is None or int(block.group(1)) < kept_blocks


def _sam_fit_hint(state: dict[str, torch.Tensor], config: ModelConfig) -> str:
    patch = state.get("patch_embed.proj.weight")
    block_numbers = {int(m.group(1)) for key in state if (m := re.match(r"blocks\.(\d+)\.", key))}
    if patch is None or not block_numbers:
        return "The file holds no SAM image encoder (no patch_embed / blocks keys)."
    width, depth = patch.shape[0], max(block_numbers) + 1
    for name, sizes in SAM_VIT_SIZES.items():
        if sizes["embed_dim"] == width and sizes["depth"] == depth and name != config.image_encoder.name:
            return f"It is a '{name}' encoder (width {width}, {depth} blocks): set image_encoder.name={name}."
    return f"The file's encoder has width {width} and {depth} blocks; the config asks for '{config.image_encoder.name}'."


def _clip_fit_hint(state: dict[str, torch.Tensor], config: ModelConfig) -> str:
    embedding, projection = state.get("token_embedding.weight"), state.get("text_projection")
    layer_numbers = {int(m.group(1)) for key in state if (m := re.match(r"transformer\.resblocks\.(\d+)\.", key))}
    if embedding is None or projection is None or not layer_numbers:
        return "The file holds no CLIP text tower (token_embedding / transformer / text_projection)."
    width, layers = embedding.shape[1], max(layer_numbers) + 1
    output_dim = projection.shape[-1] if projection.dim() == 2 else projection.shape[0]
    names = [name for name in ["tiny", *list_models()] if _text_sizes(name) == (width, layers, output_dim)]
    names = [name for name in names if name != config.text_encoder.name][:3]
    found = f"width {width}, {layers} layers, output {output_dim}"
    return f"The file's text tower has {found}: set text_encoder.name to one of {names}." if names else f"The file's text tower has {found}."


def _text_sizes(name: str) -> tuple[int, int, int] | None:
    try:
        clip_config = text_model_config(name)
    except ConfigError:  # an open_clip config of another kind of tower
        return None
    text_cfg = clip_config["text_cfg"]
    return text_cfg.get("width"), text_cfg.get("layers"), clip_config.get("embed_dim")
