"""An independent float32 NumPy transcription of llama2.c run.c `forward` (token by token, KV cache),
reading model.bin directly. Used to check that the PyTorch model and the export agree with run.c's
conventions, which is what the TypeScript runtime implements."""
import argparse
import json
from pathlib import Path
import struct
import sys

import numpy as np
import sentencepiece as spm
import torch

from export import load_v1

REPO_ROOT = Path(__file__).resolve().parents[2]


class RunC:
    def __init__(self, path: Path):
        raw = Path(path).read_bytes()
        magic, version = struct.unpack_from("<Ii", raw, 0)
        if (magic, version) != (0x616B3432, 1):
            raise SystemExit(f"error: {path} is not a llama2.c version-1 checkpoint")
        self.dim, self.hidden, self.n_layers, self.n_heads, self.n_kv, self.vocab, self.seq_len = struct.unpack_from("<7i", raw, 8)
        w = np.frombuffer(raw, dtype="<f4", offset=256)
        hs = self.dim // self.n_heads
        kv_dim = self.n_kv * hs
        L, d, h = self.n_layers, self.dim, self.hidden
        # llama2.c version-1 layout: norms first, then the embedding, then the matrices
        shapes = [("rms_att", (L, d)), ("rms_ffn", (L, d)), ("rms_final", (d,)), ("emb", (self.vocab, d)),
                  ("wq", (L, d, d)), ("wk", (L, kv_dim, d)), ("wv", (L, kv_dim, d)), ("wo", (L, d, d)),
                  ("w1", (L, h, d)), ("w2", (L, d, h)), ("w3", (L, h, d))]
        off = 0
        for name, shape in shapes:
            n = int(np.prod(shape))
            setattr(self, name, w[off:off + n].reshape(shape))
            off += n
        self.head_size, self.kv_dim = hs, kv_dim
        self.key_cache = np.zeros((L, self.seq_len, kv_dim), np.float32)
        self.value_cache = np.zeros((L, self.seq_len, kv_dim), np.float32)

    @staticmethod
    def rmsnorm(x, weight):
        ss = np.float32(1.0) / np.sqrt(np.mean(x * x, dtype=np.float32) + np.float32(1e-5))
        return weight * (ss * x)

    def forward(self, token: int, pos: int) -> np.ndarray:
        hs, kv_mul = self.head_size, self.n_heads // self.n_kv
        x = self.emb[token].copy()
        for l in range(self.n_layers):
            xb = self.rmsnorm(x, self.rms_att[l])
            q, k, v = self.wq[l] @ xb, self.wk[l] @ xb, self.wv[l] @ xb
            for i in range(0, self.dim, 2):
                freq = 1.0 / 10000.0 ** ((i % hs) / hs)
                fcr, fci = np.float32(np.cos(pos * freq)), np.float32(np.sin(pos * freq))
                for vec in ((q, k) if i < self.kv_dim else (q,)):
                    v0, v1 = vec[i], vec[i + 1]
                    vec[i], vec[i + 1] = v0 * fcr - v1 * fci, v0 * fci + v1 * fcr
            self.key_cache[l, pos], self.value_cache[l, pos] = k, v
            out = np.zeros(self.dim, np.float32)
            for hd in range(self.n_heads):
                kv = (hd // kv_mul) * hs
                keys = self.key_cache[l, :pos + 1, kv:kv + hs]
                att = keys @ q[hd * hs:(hd + 1) * hs] / np.float32(np.sqrt(hs))
                att = np.exp(att - att.max())
                att /= att.sum()
                out[hd * hs:(hd + 1) * hs] = att @ self.value_cache[l, :pos + 1, kv:kv + hs]
            x = x + self.wo[l] @ out
            xb = self.rmsnorm(x, self.rms_ffn[l])
            a, b = self.w1[l] @ xb, self.w3[l] @ xb
            x = x + self.w2[l] @ ((a / (1 + np.exp(-a))) * b)
        return self.emb @ self.rmsnorm(x, self.rms_final)


def main(argv):
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model-dir", default="models/default")
    p.add_argument("--prompt", default="It was")
    p.add_argument("--greedy-steps", type=int, default=50, help="greedy tokens to continue the prompt with")
    args = p.parse_args(argv)
    model_dir = (REPO_ROOT / args.model_dir).resolve()
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "tokenizer.model"))
    ids = [1] + sp.encode(args.prompt)
    ref = RunC(model_dir / "model.bin")
    ref_logits = np.stack([ref.forward(t, pos) for pos, t in enumerate(ids)])
    model = load_v1(model_dir / "model.bin")
    with torch.no_grad():
        torch_logits = model(torch.tensor([ids]))[0].numpy()
    print(f"prompt tokens: {ids}")
    print(f"max |torch - run.c reference| over {len(ids)} positions x {ref.vocab} logits: "
          f"{np.abs(torch_logits - ref_logits).max():.3e}")
    print(f"argmax per position (run.c reference): {ref_logits.argmax(-1).tolist()}")
    greedy, pos, token = [], len(ids), int(ref_logits[-1].argmax())
    for _ in range(args.greedy_steps):  # run.c -t 0: stop if the argmax is BOS
        if token == 1:
            break
        greedy.append(token)
        token = int(ref.forward(token, pos).argmax())
        pos += 1
    text = sp.decode(greedy)
    print(f"greedy continuation: {text!r}")
    (model_dir / "reference_check.json").write_text(json.dumps({
        "prompt": args.prompt, "tokens": ids, "max_abs_diff": float(np.abs(torch_logits - ref_logits).max()),
        "greedy_tokens": greedy, "greedy_text": text}, indent=1))

if __name__ == "__main__":
    main(sys.argv[1:])
