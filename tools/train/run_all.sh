#!/usr/bin/env bash
# Every training of issues 13 and 16 in one command, run in parallel on one GPU (the models are tiny:
# one process each keeps the GPU busy). Run from the repository root:
#
#   node scripts/run-ts.mjs packages/cli/src/main.ts recall-data --haystack <training books> --count 8000 --seed 1 --out R/train
#   node scripts/run-ts.mjs packages/cli/src/main.ts recall-data --haystack ../shared/text/austen_2_northanger_abbey.txt --count 600 --seed 2 --out R/eval
#   bash tools/train/run_all.sh OUT [device] [seconds] [recall prefix R]
#
# - sentinel, local and scattered fine-tunes of models/default at r = 0.1 0.3 0.5 0.7 0.9, and the same
#   fine-tuning without a mask (control), each scored on the held-out book with its mask;
# - the base model scored under the local and scattered masks (no training) at the same r;
# - the recall model (recall.py) and three attention-sink runs (sink.py) with growing LR / weight decay.
# `seconds` is each run's training budget (--time-budget): the step count is fixed after 10 steps to
# what fits, and recorded (model.json "rerun", run.json "steps_done") so a run can be repeated exactly
# with --steps N. Logs: OUT/logs/*.log.
set -uo pipefail
out=${1:?usage: run_all.sh OUT [device] [seconds] [recall-data prefix folder]}
device=${2:-cuda}
budget=${3:-240}
recall=${4:-$out/recall-data}
text=${TEXT_DIR:-../shared/text}
py=${PYTHON:-python3}
mkdir -p "$out/logs"
run() {
  local name=$1
  shift
  PYTHONUNBUFFERED=1 "$py" "$@" --device "$device" --text-dir "$text" >"$out/logs/$name.log" 2>&1 &
}

for r in 0.1 0.3 0.5 0.7 0.9; do
  for m in sentinel local scattered; do
    run "ft-$m-$r" tools/train/finetune.py --method "$m" --ratio "$r" --steps 2000 --time-budget "$budget" --out "$out/ft/$m-$r" --force
  done
done
run ft-full tools/train/finetune.py --method full --ratio 0.5 --steps 2000 --time-budget "$budget" --out "$out/ft/full" --force
run recall tools/train/recall.py --train-data "$recall/train" --eval-data "$recall/eval" --steps 20000 --time-budget "$budget" --out "$out/recall" --force
run sink-a tools/train/sink.py --lr 2e-3 --weight-decay 0.1 --steps 50000 --time-budget "$budget" --out "$out/sink/a" --force
run sink-b tools/train/sink.py --lr 4e-3 --weight-decay 0.5 --steps 50000 --time-budget "$budget" --out "$out/sink/b" --force
run sink-c tools/train/sink.py --lr 8e-3 --weight-decay 1.0 --steps 50000 --time-budget "$budget" --out "$out/sink/c" --force
wait

for r in 0.1 0.3 0.5 0.7 0.9; do
  for m in local scattered; do
    run "base-$m-$r" tools/train/finetune.py --method "$m" --ratio "$r" --steps 0 --out "$out/base/$m-$r" --force
  done
done
run base-full tools/train/finetune.py --method full --ratio 0.5 --steps 0 --out "$out/base/full" --force
wait
grep -h "held-out ppl\|Error\|error" "$out"/logs/*.log
