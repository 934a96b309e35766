#!/usr/bin/env bash
# Paper-style perplexity of the default model on its held-out book (Persuasion): chunks of the full
# 2048-token context, every fixed-capacity policy at capacities 1/32 ... 1/2 of the context, and the
# ratio-budget policies at 1/32 ... 1/2 of the tokens seen. Outputs land beside the model.
# Run from the repo root: bash tools/train/paper_results.sh [chunks] [model folder]
set -euo pipefail
chunks=${1:-8}
out=${2:-models/default}
model=(--model "$out/model.bin" --tokenizer "$out/tokenizer.bin")
text=../shared/text/austen_3_persuasion.txt
msrnn() { node scripts/run-ts.mjs packages/cli/src/main.ts "$@"; }
msrnn ppl "${model[@]}" --text "$text" --chunk 2048 --chunks "$chunks" \
  --policies full,window,sinks,h2o,h2o_layer,tova,tova_head,random,knorm --capacities 64,128,256,512,1024 \
  --title "default model, Persuasion ($chunks × 2048)" \
  --csv "$out/ppl-persuasion.csv" --md "$out/ppl-persuasion.md" --svg "$out/ppl-persuasion.svg" \
  --plot-policies full,window,sinks,h2o,h2o_layer,tova,tova_head,random --no-progress
msrnn ppl "${model[@]}" --text "$text" --chunk 2048 --chunks "$chunks" \
  --policies local,scattered,tova,h2o --capacities '' --ratios 0.03125,0.0625,0.125,0.25,0.5 \
  --title "default model, Persuasion ($chunks × 2048), ratio budgets" \
  --csv "$out/ppl-persuasion-ratio.csv" --md "$out/ppl-persuasion-ratio.md" --no-progress
# The policies beyond the paper, same chunks (StreamingLLM re-rotates every kept key at every step: the slow one).
msrnn ppl "${model[@]}" --text "$text" --chunk 2048 --chunks "$chunks" \
  --policies snapkv,pyramidkv,ada_snapkv,keydiff,streamingllm --capacities 64,128,256,512,1024 \
  --title "default model, Persuasion ($chunks × 2048), policies beyond the paper" \
  --csv "$out/ppl-persuasion-new.csv" --md "$out/ppl-persuasion-new.md" --no-progress
