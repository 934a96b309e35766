#!/usr/bin/env bash
# Regenerates the stories260K tables, plots and traces of docs/results.md (perplexity protocol of
# ../shared/fixtures/README.md: 16 chunks × 512 tokens, exact per-token eviction).
# Run from the repo root: bash docs/results/run.sh
set -euo pipefail
out=docs/results
# The model is named explicitly: the default would switch to models/default/ once that exists.
model=(--model ../shared/models/stories260K.bin --tokenizer ../shared/models/tok512.bin)
msrnn() { node scripts/run-ts.mjs packages/cli/src/main.ts "$1" "${model[@]}" "${@:2}"; }
fixed=(--policies full,window,sinks,h2o,h2o_layer,tova,tova_head,random,knorm --capacities 16,32,64,128,256)
ratio=(--policies local,scattered,tova,h2o --capacities '' --ratios 0.03125,0.0625,0.125,0.25,0.5)

declare -A texts=(
  [pride]=../shared/text/austen_4_pride_and_prejudice.txt
  [wikitext2]=../shared/text/wikitext2_raw_test.txt
  [indomain]=../shared/fixtures/stories260K/sampled_stories_tokens.json
)
declare -A titles=([pride]='Pride and Prejudice' [wikitext2]='WikiText-2 test' [indomain]='in-domain samples')

for t in pride wikitext2 indomain; do
  msrnn ppl --text "${texts[$t]}" "${fixed[@]}" --title "stories260K, ${titles[$t]} (16 × 512)" \
    --csv "$out/$t.csv" --md "$out/$t.md" --svg "$out/$t.svg" --plot-policies full,window,sinks,h2o,h2o_layer,tova,tova_head,random --no-progress
  msrnn ppl --text "${texts[$t]}" "${ratio[@]}" --title "stories260K, ${titles[$t]}, ratio budgets" \
    --csv "$out/$t-ratio.csv" --md "$out/$t-ratio.md" --no-progress
done

# The policies beyond the paper (SnapKV, PyramidKV, Ada-KV, KeyDiff, StreamingLLM): every policy
# in-domain; the new ones (with window and sinks as anchors) on the two out-of-domain texts.
msrnn ppl --text "${texts[indomain]}" --policies full,window,sinks,streamingllm,h2o,h2o_layer,tova,tova_head,random,knorm,snapkv,pyramidkv,ada_snapkv,keydiff \
  --capacities 16,32,64,128,256 --title "stories260K, in-domain samples (16 × 512), every policy" \
  --csv "$out/indomain-all.csv" --md "$out/indomain-all.md" --no-progress
for t in pride wikitext2; do
  msrnn ppl --text "${texts[$t]}" --policies window,sinks,streamingllm,snapkv,pyramidkv,ada_snapkv,keydiff --capacities 16,32,64,128,256 \
    --title "stories260K, $t (16 × 512), new policies" --csv "$out/$t-new.csv" --md "$out/$t-new.md" --no-progress
done

for p in tova sinks h2o; do
  msrnn trace --text "${texts[pride]}" --policy "$p" --capacity 32 --svg "$out/trace-pride-$p-k32.svg" > "$out/trace-pride-$p-k32.md"
done
msrnn trace --text "${texts[pride]}" --policy full > "$out/trace-pride-full.md"

# Prompt handling: the first 256 tokens of each in-domain chunk are a prompt; only tokens 256..511
# are scored. exact = per-token eviction through the prompt; fast = the prompt attended in full and
# cut to k at its last token (the official TOVA code's mode).
for mode in exact fast; do
  msrnn ppl --text "${texts[indomain]}" --policies full,window,sinks,h2o,tova --capacities 16,32,64 \
    --prompt 256 --prefill "$mode" --title "in-domain, prompt 256, prefill $mode" \
    --csv "$out/prompt256-$mode.csv" --md "$out/prompt256-$mode.md" --no-progress
done

# StreamingLLM's position convention: keys cached unrotated, rotated at their rank in the cache.
for t in pride indomain; do
  msrnn ppl --text "${texts[$t]}" --policies window,sinks,h2o,tova --capacities 16,32,64,128,256 \
    --position-mode reindex --title "$t, positions re-indexed" \
    --csv "$out/$t-reindex.csv" --md "$out/$t-reindex.md" --no-progress
done
msrnn trace --text "${texts[indomain]}" --policy tova --capacity 32 --svg "$out/trace-indomain-tova-k32.svg" > "$out/trace-indomain-tova-k32.md"
