#!/usr/bin/env python3
"""Independent check of GGUF files written by `msrnn convert`, with the `gguf` Python package
(llama.cpp's gguf-py: GGUFReader, quants.quantize / quants.dequantize).

For each written file and the F32 GGUF of the same model (written from the same source):
  - the file parses; general.architecture, tensor names, shapes and types are listed;
  - every tensor dequantizes (gguf.quants.dequantize) to finite values;
  - quantizing the F32 file's tensor with gguf.quants.quantize gives the written bytes exactly
    (the Python reference quantizer against ours), for the types gguf-py quantizes;
  - the tokenizer.ggml.* arrays, when present, have one entry per token.
Usage: check_gguf.py REFERENCE_F32.gguf WRITTEN.gguf [WRITTEN.gguf ...]
(docs/gguf-reference-check.md: the command that writes the files and the recorded outcome)
"""
import sys
import numpy as np
from gguf import GGUFReader, GGMLQuantizationType as Q
from gguf import quants


def tensors(path):
    r = GGUFReader(path)
    return r, {t.name: t for t in r.tensors}


def field_str(r, key):
    f = r.fields.get(key)
    return None if f is None else bytes(f.parts[f.data[0]]).decode()


def main():
    ref_path, written = sys.argv[1], sys.argv[2:]
    _, ref = tensors(ref_path)
    ok = True
    for path in written:
        r, ts = tensors(path)
        arch = field_str(r, 'general.architecture')
        types = {}
        same_bytes = checked = 0
        for name, t in ts.items():
            types[t.tensor_type.name] = types.get(t.tensor_type.name, 0) + 1
            values = quants.dequantize(t.data, t.tensor_type)
            if not np.all(np.isfinite(values)):
                print(f'  FAIL {name}: non-finite values'); ok = False
            src = ref.get(name)
            if src is None or src.tensor_type != Q.F32:
                print(f'  FAIL {name}: not in the F32 reference'); ok = False; continue
            f32 = np.asarray(src.data, dtype=np.float32).reshape(values.shape)
            try:
                mine = quants.quantize(f32, t.tensor_type)
            except (NotImplementedError, quants.QuantError):
                continue
            checked += 1
            if np.array_equal(np.asarray(mine).view(np.uint8).ravel(), np.asarray(t.data).view(np.uint8).ravel()):
                same_bytes += 1
            else:
                print(f'  FAIL {name} ({t.tensor_type.name}): bytes differ from gguf.quants.quantize'); ok = False
        tok = r.fields.get('tokenizer.ggml.tokens')
        n_tok = len(tok.data) if tok else 0
        for key in ('tokenizer.ggml.scores', 'tokenizer.ggml.token_type'):
            f = r.fields.get(key)
            if f is not None and len(f.data) != n_tok:
                print(f'  FAIL {key}: {len(f.data)} entries for {n_tok} tokens'); ok = False
        print(f'{path}: {arch}, {len(ts)} tensors {types}, {same_bytes}/{checked} quantized by gguf-py to the same bytes, '
              f'tokenizer {field_str(r, "tokenizer.ggml.model")} with {n_tok} tokens')
    print('OK' if ok else 'FAILED')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
