#!/usr/bin/env bash
# One prepared GPU session for PROSE (issue 16 item 4): generate the broad training data on every core, train
# with mixed precision under a time budget, run the GPU tests and the benchmark on systems never seen, and leave
# in $OUT what a device run can bring back (at most 8 files of 16 MiB): run.log (everything printed, the
# environment and the training summary included), timings.tsv, pytest_gpu.txt, ood_table.md and the half-precision
# checkpoint with its logs and reports as a tar in 15 MiB parts (cat prose-*.tar.part-* | tar xf -).
#
#   benchmarks/gpu/train_prose_base.sh            # on one H100/H200 with 16 cores: about 9 minutes in all
#   benchmarks/gpu/train_prose_base.sh --toy      # the same steps at toy size on this CPU (about 2 minutes)
#
# Knobs (environment): OUT (default: a new folder under /tmp), PRESET (default medium: 14 M parameters, 29 MB in
# half precision, inside the repository's 50 MB; 'base' is 105 M parameters, 210 MB even in half precision),
# SAMPLES (at most; default 40000, fewer when the cores cannot draw them in DATA_SECONDS, default 150),
# TRAIN_MINUTES (default 4), BATCH (default 256), OOD_SAMPLES (default 24),
# WORKERS (default: all cores), WORK (default /tmp/eqdisco-prose-work: the full checkpoint and the data cache,
# outside $OUT).
set -uo pipefail

TOY=0
for arg in "$@"; do
  case "$arg" in
    --toy) TOY=1 ;;
    -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
    *) echo "train_prose_base.sh: unknown argument '$arg'; expected --toy or nothing" >&2; exit 2 ;;
  esac
done

cd "$(dirname "$0")/../.."  # the repository root: the code runs from the checkout, installed or not
PY="${PYTHON:-python3}"
eqdisco() { "$PY" -c 'import sys; from discovery.cli import main; sys.exit(main())' "$@"; }
export PYTHONUNBUFFERED=1

OUT="${OUT:-$(mktemp -d /tmp/prose-gpu-XXXXXX)}"
mkdir -p "$OUT"
WORK="${WORK:-/tmp/eqdisco-prose-work}"
CACHE="$WORK/cache"
mkdir -p "$WORK"
WORKERS="${WORKERS:-$(nproc)}"
if [ "$TOY" = 1 ]; then
  PRESET=tiny; DEVICE=cpu; AMP=off; SAMPLES=240; VAL=32; TRAIN_MINUTES=0.5; STEPS=40; BATCH=16; DATA_SECONDS=60
  OOD_SAMPLES=2; OOD_ARGS=(--sets unseen random --noise 0.01); GPU_TESTS=0; WORKERS=$(( WORKERS < 2 ? WORKERS : 2 ))
  THREADS=(--threads 1)
else
  PRESET="${PRESET:-medium}"; DEVICE=cuda; AMP=bf16; SAMPLES="${SAMPLES:-40000}"; VAL=512
  TRAIN_MINUTES="${TRAIN_MINUTES:-4}"; STEPS=1000000; BATCH="${BATCH:-256}"; DATA_SECONDS="${DATA_SECONDS:-150}"
  OOD_SAMPLES="${OOD_SAMPLES:-24}"; OOD_ARGS=(--noise 0.01); GPU_TESTS=1; THREADS=()
fi
CKPT="$WORK/prose-$PRESET"
exec > >(tee -a "$OUT/run.log") 2>&1
echo "train_prose_base.sh: preset $PRESET on $DEVICE, $SAMPLES samples, $TRAIN_MINUTES min of training, out $OUT"

START=$(date +%s)
phase() {  # phase NAME COMMAND...: runs it, records its exit status and seconds in $OUT/timings.tsv
  local name="$1"; shift
  local t0; t0=$(date +%s)
  "$@"; local rc=$?
  echo -e "$name\t$rc\t$(( $(date +%s) - t0 ))" >> "$OUT/timings.tsv"
  echo "== $name: exit $rc, $(( $(date +%s) - t0 )) s (total $(( $(date +%s) - START )) s)" >&2
  return $rc
}

date -u; echo "cores: $(nproc)"
"$PY" -c "import torch, transformers; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0) if torch.cuda.is_available() else ''); print('transformers', transformers.__version__)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv
echo -e "phase\texit\tseconds" > "$OUT/timings.tsv"

# 0. How many samples the cores draw in DATA_SECONDS (a timed draw of a few per core; the rate decides SAMPLES).
RATE=$("$PY" - "$WORKERS" <<'PY'
import sys, time
from discovery.training.data import DataConfig, generate_dataset
from discovery.training.heldout import heldout_skeletons
workers = int(sys.argv[1])
cfg = DataConfig(n_samples=8 * workers, seed=999, distribution="broad", normalization="scale", max_random_vars=4,
                 max_tokens=200)
heldout_skeletons(tuple(cfg.holdout))
start = time.time()
generate_dataset(cfg, workers=workers, cache_dir=None)
print(f"{cfg.n_samples / (time.time() - start):.1f}")
PY
)
FIT=$("$PY" -c "print(int(float('$RATE') * $DATA_SECONDS))")
echo "data: $RATE samples/s on $WORKERS workers; $FIT fit in $DATA_SECONDS s"
SAMPLES=$(( FIT < SAMPLES ? FIT : SAMPLES ))

# 1. The broad data on every core, then training with mixed precision under the time budget (one command: the
#    generation is cached in $CACHE, so a rerun of the script goes straight to training).
phase train eqdisco train prose --preset "$PRESET" --distribution broad --samples "$SAMPLES" --val-samples "$VAL" \
  --steps "$STEPS" --batch-size "$BATCH" --max-minutes "$TRAIN_MINUTES" --eval-every 250 --save-every 1000 \
  --device "$DEVICE" --amp "$AMP" --workers "$WORKERS" --cache-dir "$CACHE" --out "$CKPT" --quiet "${THREADS[@]}" \
  > "$WORK/train_summary.json"
TRAIN_RC=$?
cat "$WORK/train_summary.json"

if [ "$TRAIN_RC" = 0 ]; then
  # 2. A half-precision copy with its logs, ready to commit (size checked against the 50 MB limit), packed now so
  #    that it comes back even if a later step runs out of time.
  EXPORT="$WORK/prose-$PRESET-fp16"
  phase export "$PY" -c "import sys; from models.prose.io import export_half; export_half(sys.argv[1], sys.argv[2])" \
    "$CKPT" "$EXPORT"
  SIZE=$(du -sb "$EXPORT" | cut -f1)
  echo "export: $SIZE bytes ($([ "$SIZE" -lt 50000000 ] && echo 'under' || echo 'OVER') the repository's 50 MB)"
  (cd "$WORK" && tar cf - "prose-$PRESET-fp16") | split -b 15M - "$OUT/prose-$PRESET-fp16.tar.part-"
fi

# 3. The GPU tests, recorded whatever they say.
if [ "$GPU_TESTS" = 1 ]; then
  phase gpu_tests "$PY" -m pytest -m gpu -q -p no:cacheprovider -o addopts="--import-mode=importlib" tests/models \
    > "$OUT/pytest_gpu.txt" 2>&1
fi

if [ "$TRAIN_RC" = 0 ]; then
  # 4. Systems never seen in training (report: $OUT/ood_report.json and .md).
  phase bench_ood eqdisco bench prose --ood --checkpoint "$CKPT" --samples "$OOD_SAMPLES" "${OOD_ARGS[@]}" \
    --device "$DEVICE" --out "$OUT/ood_report.json" "${THREADS[@]}" > /dev/null
fi
ls -l "$OUT"
echo "train_prose_base.sh: done in $(( $(date +%s) - START )) s; training exit $TRAIN_RC; see $OUT"
exit "$TRAIN_RC"
