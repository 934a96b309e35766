"""Reference encodings for GGUF tokenizer settings that no shared fixture covers.

- Byte-level: takes ../shared/models/hf/gpt2-tiny/tokenizer.json, swaps in the pre-tokenizer that a
  Llama-3 or SmolLM tokenizer.json declares, and encodes the texts below with the Rust `tokenizers`
  library; gguf-tokenizer.test.ts builds the same vocabulary as GGUF metadata with
  tokenizer.ggml.pre = "llama-bpe" / "smollm" and must match.
- SentencePiece: takes ../shared/models/hf/llama-tiny/tokenizer.json (tok512 as spm-legacy) without
  the Prepend("▁") normalizer (GGUF add_space_prefix = false), and with a user-defined (not special)
  added token "<|user|>" at id 512; the test builds the GGUF equivalents.

Usage (a venv with tokenizers):
  python tools/reference/pretokenizers.py ../shared > packages/transformer/test/fixtures/pretokenizers.json
"""
import json
import sys

from tokenizers import Tokenizer

LLAMA3_SPLIT = (
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"
)
PRE_TOKENIZERS = {
    "llama-bpe": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": LLAMA3_SPLIT}, "behavior": "Isolated", "invert": False},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False},
        ]},
        "ignore_merges": True,
    },
    "smollm": {
        "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": True},
        ]},
        "ignore_merges": False,
    },
}
TEXTS = [
    "Hello world", " leading", "trailing   ", "1234567 and 89, 3.14159", "DON'T YOU'LL I'M she's they'RE",
    "line one\n\n  line two\r\n\tTabbed", "a  b   c    d", "!!! ??? ... ,,, ;;;", "naïve café Ünïcödé",
    "中文字符 日本語", "😀👍🏽 emoji", "Привет, мир!", "def f(x):\n    return x**2  # square", "$100.00 (50%) off!!",
    "<|endoftext|> special in text", "", " ", "\n", "x\n\n\ny", "The year 2024 had 366 days.",
]


def main(shared: str) -> None:
    base = json.load(open(f"{shared}/models/hf/gpt2-tiny/tokenizer.json"))
    out = {"vocabulary": "models/hf/gpt2-tiny/tokenizer.json", "texts": TEXTS, "ids": {}}
    for name, spec in PRE_TOKENIZERS.items():
        tj = json.loads(json.dumps(base))
        tj["pre_tokenizer"] = spec["pre_tokenizer"]
        tj["model"]["ignore_merges"] = spec["ignore_merges"]
        tok = Tokenizer.from_str(json.dumps(tj))
        out["ids"][name] = [tok.encode(t, add_special_tokens=False).ids for t in TEXTS]
    spm = json.load(open(f"{shared}/models/hf/llama-tiny/tokenizer.json"))
    no_prefix = json.loads(json.dumps(spm))
    no_prefix["normalizer"] = {"type": "Replace", "pattern": {"String": " "}, "content": "\u2581"}
    no_prefix["decoder"]["decoders"] = [d for d in no_prefix["decoder"]["decoders"] if d["type"] != "Strip"]
    user = json.loads(json.dumps(spm))
    user["added_tokens"].append({"id": 512, "content": "<|user|>", "single_word": False, "lstrip": False, "rstrip": False, "normalized": False, "special": False})
    out["spm_vocabulary"] = "models/hf/llama-tiny/tokenizer.json"
    out["spm"] = {}
    for name, tj in (("no_space_prefix", no_prefix), ("user_token", user)):
        tok = Tokenizer.from_str(json.dumps(tj))
        texts = TEXTS + ["<|user|>hi there<|user|>", "a <|user|> b"]
        out["spm"][name] = {"texts": texts, "ids": [tok.encode(t).ids for t in texts], "decoded": [tok.decode(tok.encode(t).ids, skip_special_tokens=True) for t in texts]}
    print(json.dumps(out, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main(sys.argv[1])
