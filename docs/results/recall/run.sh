#!/usr/bin/env bash
# Regenerates the recall part of docs/results.md ("Tasks that need memory"): `msrnn recall` over every
# fixed-capacity policy on the recall model, the default model and stories260K; needle depth × size
# heatmaps on the recall model; `msrnn recall-trace` tables and trace heatmaps of single examples.
# Run from the repo root: bash docs/results/recall/run.sh [models...]   (default: recall default stories260K;
# the heatmaps and single-example traces run when `recall` is among them)
set -euo pipefail
out=docs/results/recall
msrnn() { node scripts/run-ts.mjs packages/cli/src/main.ts "$@"; }
# local and scattered take ratio budgets, not capacities: every other registered policy is here.
all=full,window,sinks,streamingllm,h2o,h2o_layer,tova,tova_head,random,knorm,snapkv,pyramidkv,ada_snapkv,keydiff
grid=(--tasks assoc,passkey,needle --depths 0,0.5,1 --examples 2 --capacities 16,32,64 --seed 1)
declare -A models=([recall]=models/recall/model.bin [default]=models/default/model.bin [stories260K]=../shared/models/stories260K.bin)
# stories260K's 512-piece tokenizer makes a size-256 passkey example 544 tokens, over its 512 context.
declare -A sizes=([recall]=64,128,256 [default]=64,128,256 [stories260K]=64,128)

run=("$@")
[[ $# -eq 0 ]] && run=(recall default stories260K)
for m in "${run[@]}"; do
  msrnn recall --model "${models[$m]}" --policies "$all" "${grid[@]}" --sizes "${sizes[$m]}" --csv "$out/$m.csv" --svg "$out/$m.svg" > "$out/$m.txt"
done

[[ " ${run[*]} " == *" recall "* ]] || exit 0

# Needle in a haystack on the recall model: depth × size, full state and three policies at k = 32.
for hp in full window:32 tova:32 h2o:32; do
  msrnn recall --model models/recall/model.bin --tasks needle --sizes 64,128,192,256 --depths 0,0.25,0.5,0.75,1 --examples 2 \
    --policies "${hp%%:*}" --capacities 32 --heatmap "$out/needle-${hp/:/-k}.svg" --heatmap-policy "$hp" > /dev/null
done

# Single examples the full state answers: where the fact is when the answer is asked, per policy
# (tables + trace heatmaps).
for t in passkey:128:0.5 needle:128:0.5; do
  IFS=: read -r task size depth <<< "$t"
  msrnn recall-trace --model models/recall/model.bin --task "$task" --size "$size" --depth "$depth" --capacity 32 \
    --policies full,window,sinks,tova,h2o,snapkv,pyramidkv --svg "$out/trace-$task" > "$out/trace-$task.md"
done
