"""Writes packages/tensor/test/fixtures/ggml-dequant.json: random ggml blocks of every type msrnn
runs, with their values as dequantized by the `gguf` Python package's numpy code (gguf.quants),
an implementation independent of msrnn's. Covers IQ4_NL, which no shared GGUF file holds.

    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install gguf numpy
    /tmp/venv/bin/python tools/ggml-dequant-fixture.py
"""
import json
import os

import numpy as np
from importlib.metadata import version
from gguf.constants import GGML_QUANT_SIZES, GGMLQuantizationType as T
from gguf.quants import dequantize

rng = np.random.default_rng(20261127)
# (type, values per row, byte offsets of f16 scales inside a block that must hold sane finite values)
CASES = [
    (T.Q8_0, 64, [0]), (T.Q4_0, 64, [0]), (T.Q4_1, 64, [0, 2]), (T.Q5_0, 64, [0]), (T.Q5_1, 64, [0, 2]),
    (T.IQ4_NL, 96, [0]), (T.Q4_K, 256, [0, 2]), (T.Q5_K, 256, [0, 2]), (T.Q6_K, 256, [208]),
    (T.F16, 8, []), (T.BF16, 8, []),
]

out = []
for t, cols, scale_offsets in CASES:
    block, nbytes = GGML_QUANT_SIZES[t]
    raw = bytearray(rng.integers(0, 256, size=(cols // block) * nbytes, dtype=np.uint8).tobytes())
    for b in range(cols // block):
        for o in scale_offsets:
            raw[b * nbytes + o: b * nbytes + o + 2] = np.float16(rng.uniform(-0.02, 0.02)).tobytes()
    if t in (T.F16, T.BF16):  # finite values only: values in [-4, 4)
        vals = rng.uniform(-4, 4, size=cols).astype(np.float32)
        raw = bytearray(vals.astype(np.float16).tobytes() if t == T.F16 else (vals.view(np.uint32) >> 16).astype(np.uint16).tobytes())
    values = dequantize(np.frombuffer(bytes(raw), dtype=np.uint8), t).astype(np.float32).reshape(-1)
    assert values.size == cols and np.all(np.isfinite(values))
    out.append({"type": t.name, "id": int(t), "cols": cols, "hex": bytes(raw).hex(),
                "values": [float(v) for v in values]})

path = os.path.join(os.path.dirname(__file__), "..", "packages", "tensor", "test", "fixtures", "ggml-dequant.json")
with open(path, "w") as f:
    json.dump({"source": "gguf " + version("gguf") + " (gguf.quants.dequantize)",
               "generator": "tools/ggml-dequant-fixture.py", "cases": out}, f, separators=(",", ":"))
print(path, sum(len(c["values"]) for c in out), "values")
