"""LLaMA-style decoder that follows llama2.c `run.c` conventions exactly.

The TypeScript runtime implements run.c, so every convention here matters for the exported weights:
RMSNorm (eps 1e-5, weight applied after normalising), RoPE rotating adjacent pairs (2j, 2j+1) with
frequency 10000^(-2j/head_size), grouped-query attention (query head h reads KV head h // (n_heads/n_kv_heads)),
SwiGLU FFN w2(silu(w1 x) * w3 x), and a classifier tied to the token embedding.
"""
from dataclasses import dataclass
import math

import torch
import torch.nn as nn
import torch.nn.functional as F


@dataclass
class ModelConfig:
    dim: int = 128
    n_layers: int = 8
    n_heads: int = 4
    n_kv_heads: int = 2
    hidden_dim: int = 384
    vocab_size: int = 2048
    max_seq_len: int = 2048
    norm_eps: float = 1e-5

    @property
    def head_size(self) -> int:
        return self.dim // self.n_heads

    def validate(self) -> None:
        if self.dim % self.n_heads != 0:
            raise ValueError(f"--dim {self.dim} is not divisible by --n-heads {self.n_heads}")
        if self.n_heads % self.n_kv_heads != 0:
            raise ValueError(f"--n-heads {self.n_heads} is not a multiple of --n-kv-heads {self.n_kv_heads}")
        if self.head_size % 2 != 0:
            raise ValueError(f"head size {self.head_size} must be even for RoPE pairs")

    def parameter_count(self) -> int:
        kv_dim = self.n_kv_heads * self.head_size
        per_layer = 2 * self.dim + self.dim * self.dim * 2 + 2 * self.dim * kv_dim + 3 * self.dim * self.hidden_dim
        return self.vocab_size * self.dim + self.n_layers * per_layer + self.dim


class RMSNorm(nn.Module):
    def __init__(self, dim: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(dim))

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


def rope_tables(head_size: int, seq_len: int):
    """cos/sin of shape (seq_len, head_size/2); pair j rotates by pos * 10000^(-2j/head_size) as in run.c."""
    exponents = torch.arange(0, head_size, 2, dtype=torch.float64) / head_size
    inv_freq = 1.0 / (10000.0 ** exponents)
    angles = torch.outer(torch.arange(seq_len, dtype=torch.float64), inv_freq)
    return torch.cos(angles).float(), torch.sin(angles).float()


def apply_rope(x, cos, sin):
    """x: (batch, seq, heads, head_size); rotates the interleaved pairs (x[2j], x[2j+1]).
    cos/sin: (seq, head_size/2), or (batch, seq, head_size/2) when each row has its own positions."""
    even, odd = x[..., 0::2], x[..., 1::2]
    if cos.dim() == 2:
        c, s = cos[None, :, None, :], sin[None, :, None, :]
    else:
        c, s = cos[:, :, None, :], sin[:, :, None, :]
    rotated = torch.stack((even * c - odd * s, even * s + odd * c), dim=-1)
    return rotated.flatten(-2)


class Attention(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        kv_dim = cfg.n_kv_heads * cfg.head_size
        self.wq = nn.Linear(cfg.dim, cfg.dim, bias=False)
        self.wk = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wv = nn.Linear(cfg.dim, kv_dim, bias=False)
        self.wo = nn.Linear(cfg.dim, cfg.dim, bias=False)

    def forward(self, x, cos, sin, return_probs=False, mask=None):
        """mask: None for the causal mask, else bool (batch, seq, seq), True where query i may attend key j
        (the sentinel, local and scattered masks of tools/train/masks.py)."""
        cfg = self.cfg
        b, t, _ = x.shape
        q = apply_rope(self.wq(x).view(b, t, cfg.n_heads, cfg.head_size), cos, sin)
        k = apply_rope(self.wk(x).view(b, t, cfg.n_kv_heads, cfg.head_size), cos, sin)
        v = self.wv(x).view(b, t, cfg.n_kv_heads, cfg.head_size)
        group = cfg.n_heads // cfg.n_kv_heads
        k = k.repeat_interleave(group, dim=2)
        v = v.repeat_interleave(group, dim=2)
        q, k, v = (z.transpose(1, 2) for z in (q, k, v))  # (b, heads, t, head_size)
        if mask is not None and not return_probs:
            # fused kernel with an arbitrary mask: no (t x t) probability tensor kept per layer
            out = F.scaled_dot_product_attention(q, k, v, attn_mask=mask[:, None])
            return self.wo(out.transpose(1, 2).reshape(b, t, cfg.dim)), None
        scores = (q @ k.transpose(-2, -1)) / math.sqrt(cfg.head_size)
        if mask is None:
            hidden = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        else:
            hidden = ~mask[:, None]
        scores = scores.masked_fill(hidden, float("-inf"))
        probs = torch.softmax(scores, dim=-1)
        out = (probs @ v).transpose(1, 2).reshape(b, t, cfg.dim)
        return self.wo(out), (probs if return_probs else None)


class FeedForward(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.w1 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)
        self.w2 = nn.Linear(cfg.hidden_dim, cfg.dim, bias=False)
        self.w3 = nn.Linear(cfg.dim, cfg.hidden_dim, bias=False)

    def forward(self, x):
        return self.w2(F.silu(self.w1(x)) * self.w3(x))


class Block(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.attention_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.attention = Attention(cfg)
        self.ffn_norm = RMSNorm(cfg.dim, cfg.norm_eps)
        self.feed_forward = FeedForward(cfg)

    def forward(self, x, cos, sin, return_probs=False, mask=None):
        attn_out, probs = self.attention(self.attention_norm(x), cos, sin, return_probs, mask)
        x = x + attn_out
        return x + self.feed_forward(self.ffn_norm(x)), probs


class Transformer(nn.Module):
    def __init__(self, cfg: ModelConfig):
        super().__init__()
        cfg.validate()
        self.cfg = cfg
        self.tok_embeddings = nn.Embedding(cfg.vocab_size, cfg.dim)
        self.layers = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.norm = RMSNorm(cfg.dim, cfg.norm_eps)
        cos, sin = rope_tables(cfg.head_size, cfg.max_seq_len)
        self.register_buffer("rope_cos", cos, persistent=False)
        self.register_buffer("rope_sin", sin, persistent=False)
        self.apply(self._init_weights)
        # GPT-2 style scaled init of the residual projections keeps early training stable.
        for name, p in self.named_parameters():
            if name.endswith("wo.weight") or name.endswith("w2.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * cfg.n_layers))

    @staticmethod
    def _init_weights(module):
        if isinstance(module, (nn.Linear, nn.Embedding)):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, tokens, return_probs=False, positions=None, mask=None):
        """positions: None for 0..t-1, else long (batch, t) (sentinels repeat the position before them);
        mask: None for causal, bool (batch, t, t), or (n_layers, batch, t, t) for a mask per layer."""
        t = tokens.shape[1]
        if positions is None:
            if t > self.cfg.max_seq_len:
                raise ValueError(f"sequence of {t} tokens exceeds max_seq_len {self.cfg.max_seq_len}")
            cos, sin = self.rope_cos[:t], self.rope_sin[:t]
        else:
            if int(positions.max()) >= self.cfg.max_seq_len:
                raise ValueError(f"position {int(positions.max())} exceeds max_seq_len {self.cfg.max_seq_len}")
            cos, sin = self.rope_cos[positions], self.rope_sin[positions]
        x = self.tok_embeddings(tokens)
        all_probs = []
        for i, layer in enumerate(self.layers):
            layer_mask = mask[i] if mask is not None and mask.dim() == 4 else mask
            x, probs = layer(x, cos, sin, return_probs, layer_mask)
            all_probs.append(probs)
        logits = self.norm(x) @ self.tok_embeddings.weight.t()  # tied classifier
        return (logits, all_probs) if return_probs else logits
