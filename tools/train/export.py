"""llama2.c checkpoint writer (version 1, "ak42" magic, fp32) and its reader for round-trip checks."""
from pathlib import Path
import struct

import numpy as np
import torch

from model import ModelConfig, Transformer

MAGIC = 0x616B3432  # "ak42"
VERSION = 1
HEADER_BYTES = 256


def _tensors_in_file_order(model: Transformer):
    """llama2.c export.py `version1_export` order: every norm weight first (attention norms of all layers,
    ffn norms of all layers, final norm), then the token embedding, then each matrix kind for all layers."""
    layers = model.layers
    return [
        *[l.attention_norm.weight for l in layers],
        *[l.ffn_norm.weight for l in layers],
        model.norm.weight,
        model.tok_embeddings.weight,
        *[l.attention.wq.weight for l in layers],
        *[l.attention.wk.weight for l in layers],
        *[l.attention.wv.weight for l in layers],
        *[l.attention.wo.weight for l in layers],
        *[l.feed_forward.w1.weight for l in layers],
        *[l.feed_forward.w2.weight for l in layers],
        *[l.feed_forward.w3.weight for l in layers],
    ]


def export_v1(model: Transformer, out_path: Path) -> None:
    cfg = model.cfg
    header = struct.pack("<Ii", MAGIC, VERSION)
    header += struct.pack("<7i", cfg.dim, cfg.hidden_dim, cfg.n_layers, cfg.n_heads, cfg.n_kv_heads,
                          cfg.vocab_size, cfg.max_seq_len)
    header += struct.pack("<B", 1)  # classifier shared with the token embedding
    header += b"\0" * (HEADER_BYTES - len(header))
    with open(out_path, "wb") as f:
        f.write(header)
        for t in _tensors_in_file_order(model):
            f.write(t.detach().cpu().to(torch.float32).numpy().astype("<f4").tobytes())


def load_v1(path: Path) -> Transformer:
    raw = Path(path).read_bytes()
    magic, version = struct.unpack_from("<Ii", raw, 0)
    if magic != MAGIC or version != VERSION:
        raise SystemExit(f"error: {path} is not a llama2.c version-1 checkpoint (magic {magic:#x}, version {version})")
    dim, hidden, n_layers, n_heads, n_kv, vocab, seq_len = struct.unpack_from("<7i", raw, 8)
    shared = struct.unpack_from("<B", raw, 36)[0]
    if not shared:
        raise SystemExit(f"error: {path} has an unshared classifier, which this tool never writes")
    cfg = ModelConfig(dim=dim, hidden_dim=hidden, n_layers=n_layers, n_heads=n_heads, n_kv_heads=n_kv,
                      vocab_size=vocab, max_seq_len=seq_len)
    model = Transformer(cfg)
    floats = np.frombuffer(raw, dtype="<f4", offset=HEADER_BYTES)
    offset = 0
    with torch.no_grad():
        for t in _tensors_in_file_order(model):
            n = t.numel()
            t.copy_(torch.from_numpy(floats[offset:offset + n].copy()).view_as(t))
            offset += n
    if offset != floats.size:
        raise SystemExit(f"error: {path} has {floats.size - offset} unexpected trailing floats")
    return model
