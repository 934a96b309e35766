"""Attention masks of Ren et al.'s context compression and of its two sparse baselines, and the seeded
span rule, written so the TypeScript runtime can make the same choices.

Randomness comes from `uniform(seed, a, b, c)`, a transcription of packages/policies/src/hash.ts
(stateless 32-bit hashing): the scattered mask of an evaluation is then exactly the runtime's
`scattered` policy (seed 0), and the span rule below draws the same spans in both languages.

Sentinel compression (`<CL>` s1 … sn `<CR>`):
- sentinels take the position of the token before them (positions never advance on a sentinel);
- a key inside a span (its `<CL>` or a span token) is visible only up to and including the span's
  `<CR>`; `<CR>` and text outside spans stay visible to everything after them. So after `<CR>` the
  runtime may evict the span and its `<CL>`: `<CR>`'s key/value is the compressed span;
- every text token is predicted by the element just before it in the augmented stream (a text
  token or a sentinel); predictions whose target is a sentinel are not scored.
"""
import math

import numpy as np
import torch

MASK32 = 0xFFFFFFFF
MAX_SPAN_DEFAULT = 25
KIND_TEXT, KIND_CL, KIND_CR = 0, 1, 2


def _mix32(x: int) -> int:
    x &= MASK32
    x ^= x >> 16
    x = (x * 0x7FEB352D) & MASK32
    x ^= x >> 15
    x = (x * 0x846CA68B) & MASK32
    x ^= x >> 16
    return x


def uniform(seed: int, a: int, b: int, c: int = 0) -> float:
    """Uniform in [0, 1), a pure function of its integer arguments (same bits as hash.ts `uniform`)."""
    h = _mix32((seed & MASK32) ^ 0x9E3779B9)
    h = _mix32(h ^ (a & MASK32))
    h = _mix32(h + ((b * 0x85EBCA6B) & MASK32))
    h = _mix32(h ^ ((c * 0xC2B2AE35) & MASK32))
    return h / 4294967296


def choose_spans(n_text: int, ratio: float, max_span: int, seed: int, stream: int):
    """Spans (start, length) over text indices 1..n_text-1 (index 0 is BOS and is never compressed).

    The paper's rule: span lengths uniform in 2..max_span, drawn until round(ratio * (n_text-1)) tokens
    are covered (the last span is cut to fit, never below 2), then placed at random with at least one
    text token between consecutive spans. Draw k is uniform(seed, stream, k)."""
    if not 0 < ratio < 1:
        raise ValueError(f"compression ratio must be in (0, 1), got {ratio}")
    if not 2 <= max_span <= 1024:
        raise ValueError(f"maximum span length must be in [2, 1024], got {max_span}")
    eligible = n_text - 1
    target = math.floor(ratio * eligible + 0.5)
    k = 0
    lengths = []
    covered = 0
    while target - covered >= 2:
        length = min(2 + math.floor(uniform(seed, stream, k) * (max_span - 1)), target - covered)
        k += 1
        lengths.append(length)
        covered += length
    n = len(lengths)
    if n == 0:
        return []
    free = eligible - covered - (n - 1)
    if free < 0:
        raise ValueError(f"ratio {ratio} leaves too few text tokens between {n} spans in {n_text} tokens")
    cuts = sorted(math.floor(uniform(seed, stream, k + i) * (free + 1)) for i in range(n))
    spans = []
    start = 1 + cuts[0]
    for i, length in enumerate(lengths):
        spans.append((start, length))
        if i + 1 < n:
            start += length + 1 + (cuts[i + 1] - cuts[i])
    return spans


def augment(text_ids, spans, cl_id: int, cr_id: int):
    """The stream with sentinels: (tokens, positions, kinds, span_end) as numpy arrays, and for each text
    index the augmented index that predicts it (-1 for index 0). span_end[j] = augmented index of the
    `<CR>` that closes the span holding j (its `<CL>` and tokens), else a huge number."""
    n = len(text_ids)
    never = 1 << 40
    starts = np.array([s for s, _ in spans], dtype=np.int64)
    ends = np.array([s + l - 1 for s, l in spans], dtype=np.int64)
    idx = np.arange(n)
    # text index i moves right by one per <CL> at or before it and one per <CR> strictly before it
    at = idx + np.searchsorted(starts, idx, side="right") + np.searchsorted(ends, idx, side="left")
    cl_at, cr_at = at[starts] - 1, at[ends] + 1
    total = n + 2 * len(spans)
    tokens = np.empty(total, dtype=np.int64)
    positions = np.empty(total, dtype=np.int64)
    kinds = np.zeros(total, dtype=np.int8)
    span_end = np.full(total, never, dtype=np.int64)
    tokens[at], positions[at] = np.asarray(text_ids, dtype=np.int64), idx
    tokens[cl_at], positions[cl_at], kinds[cl_at] = cl_id, starts - 1, KIND_CL
    tokens[cr_at], positions[cr_at], kinds[cr_at] = cr_id, ends, KIND_CR
    for cl, cr in zip(cl_at, cr_at):
        span_end[cl:cr] = cr
    predictor = at - 1
    predictor[0] = -1
    return tokens, positions, kinds, span_end, predictor


def sentinel_mask(span_end: torch.Tensor) -> torch.Tensor:
    """(n, n) bool: query i sees key j iff j <= i and i <= span_end[j]."""
    n = span_end.shape[0]
    i = torch.arange(n, device=span_end.device)[:, None]
    j = torch.arange(n, device=span_end.device)[None, :]
    return (j <= i) & (i <= span_end[None, :])


def local_mask(n: int, keep: float, device=None) -> torch.Tensor:
    """The runtime's `local` policy at ratio `keep`: after the step at position p the ceil(keep*(p+1)) most
    recent entries stay, so query t sees positions t - ceil(keep*t) .. t."""
    t = torch.arange(n, device=device, dtype=torch.float64)
    window = torch.ceil(keep * t).to(torch.int64)  # entries kept after step t-1 (0 at t = 0)
    i = torch.arange(n, device=device)[:, None]
    j = torch.arange(n, device=device)[None, :]
    return (j <= i) & (j >= i - window[:, None])


def scattered_keep_hashed(n: int, keep: float, seed: int, layer: int) -> np.ndarray:
    """The runtime's `scattered` mask: position p survives iff uniform(seed, layer, p) < keep."""
    return np.array([uniform(seed, layer, p) < keep for p in range(n)])


def scattered_mask(kept: torch.Tensor) -> torch.Tensor:
    """kept: (..., n) bool. Query i sees itself and every earlier kept position."""
    n = kept.shape[-1]
    i = torch.arange(n, device=kept.device)[:, None]
    j = torch.arange(n, device=kept.device)[None, :]
    return ((j < i) & kept[..., None, :]) | (j == i)
