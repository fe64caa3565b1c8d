#!/usr/bin/env bash
# Validates the landscape-aware recommendation (docs/landscape.md, "Recommendation")
# against the sampler benchmarks: for every tabular landscape available (HPOBench MLP
# x 8, HPOLib FCNet x 4, NAS-Bench-201 x 3, the shared XGBoost landscape), runs
# `hyperscape landscape analyze` (class and ranked samplers) and `hyperscape bench
# quality` (random, tpe, gp, cmaes, auto; exact regret), then writes
# docs/landscape-recommendation.md with bench/recommendation/summarize.py.
#
# Usage: scripts/validate-recommendation.sh [analyze|bench|summary|all]   (default: all)
# Env:   HYPERSCAPE_BIN (default target/release/hyperscape, built if missing),
#        RECVAL_WORK (raw JSON, default bench-out/recval; a finished file is reused, so
#        an interrupted run resumes), SEEDS (default 20), BUDGET (default 100; the
#        regret at 50 trials is read off the same curves, see the summary), SAMPLERS
#        (default random,tpe,gp,cmaes,auto), NICE (default 5), JOBS (default 1).
# Tables: scripts/fetch-hpo-tables.sh; the XGBoost landscape is read from
# ../shared/data/xgboost_landscape.csv and skipped with a message where absent.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
phase="${1:-all}"
bin="${HYPERSCAPE_BIN:-target/release/hyperscape}"
work="${RECVAL_WORK:-bench-out/recval}"
seeds="${SEEDS:-20}"
budget="${BUDGET:-100}"
samplers="${SAMPLERS:-random,tpe,gp,cmaes,auto}"
nice_level="${NICE:-5}"
jobs="${JOBS:-1}"
tables=".datasets/hpo-tables"
xgb="../shared/data/xgboost_landscape.csv"
mkdir -p "$work"

need_bin() {
    if [[ ! -x "$bin" ]]; then
        cargo build --release -p hyperscape-cli
    fi
}

# name|analyze file|fitness|--maximize or empty|params|categorical|bench problem args
landscapes=()
for d in australian blood_transfusion car credit_g kc1 phoneme segment vehicle; do
    landscapes+=("hpobench/$d|$tables/hpobench/$d.csv|val_acc|--maximize|alpha,batch_size,depth,learning_rate_init,width||--problem hpobench/$d")
done
for d in naval_propulsion parkinsons_telemonitoring protein_structure slice_localization; do
    landscapes+=("hpolib/$d|$tables/hpolib/$d.csv|val_loss||activation_fn_1,activation_fn_2,batch_size,dropout_1,dropout_2,init_lr,lr_schedule,n_units_1,n_units_2|activation_fn_1,activation_fn_2,lr_schedule|--problem hpolib/$d")
done
for d in cifar10 cifar100 imagenet; do
    landscapes+=("nasbench201/$d|$tables/nasbench201/$d.csv|val_acc|--maximize|Op0,Op1,Op2,Op3,Op4,Op5|Op0,Op1,Op2,Op3,Op4,Op5|--problem nasbench201/$d")
done
xp="learning_rate,max_bin,max_depth,n_estimators,subsample"
landscapes+=("xgboost|$xgb|acc_test|--maximize|$xp||--table $xgb --fitness acc_test --maximize --params $xp")

key() { echo "${1//\//.}"; }

analyze_all() {
    for l in "${landscapes[@]}"; do
        IFS='|' read -r name file fit max params cat _ <<<"$l"
        local dest="$work/analyze.$(key "$name").json"
        if [[ ! -f "$file" ]]; then
            echo "skip $name: $file is absent (scripts/fetch-hpo-tables.sh; the XGBoost table lives in ../shared/data)" >&2
            continue
        fi
        [[ -s "$dest" ]] && continue
        echo "analyze $name" >&2
        local extra=()
        [[ -n "$max" ]] && extra+=("$max")
        [[ -n "$cat" ]] && extra+=(--categorical "$cat")
        # Same neutrality ε as docs/landscape-study.md; no forest fANOVA (not used by
        # the rule, and the slowest part on 62,208 configurations).
        nice -n "$nice_level" "$bin" landscape analyze "$file" --fitness "$fit" --params "$params" \
            "${extra[@]}" --epsilon 1% --forest-trees 0 --format json >"$dest.tmp"
        mv "$dest.tmp" "$dest"
    done
}

bench_all() {
    for l in "${landscapes[@]}"; do
        IFS='|' read -r name file _ _ _ _ problem <<<"$l"
        local dest="$work/quality.$(key "$name").json"
        if [[ ! -f "$file" ]]; then
            echo "skip $name: $file is absent" >&2
            continue
        fi
        [[ -s "$dest" ]] && continue
        echo "bench $name ($samplers, budget $budget, $seeds seeds)" >&2
        # shellcheck disable=SC2086
        nice -n "$nice_level" "$bin" bench quality $problem --sampler "$samplers" \
            --budget "$budget" --seeds "$seeds" --jobs "$jobs" --format json >"$dest.tmp"
        mv "$dest.tmp" "$dest"
    done
    # The summary reads the regret at 50 trials off the budget-100 curves. That is
    # exact only if no sampler looks at the budget (only `auto` is told it, and it
    # picks the same sampler for 50 and 100): one budget-50 run checks it.
    local check="$work/check50.hpobench.australian.json"
    if [[ ! -s "$check" && -f "$tables/hpobench/australian.csv" ]]; then
        nice -n "$nice_level" "$bin" bench quality --problem hpobench/australian --sampler "$samplers" \
            --budget 50 --seeds 2 --jobs "$jobs" --format json >"$check.tmp"
        mv "$check.tmp" "$check"
    fi
}

summary() {
    python3 bench/recommendation/summarize.py --work "$work" \
        --maps docs/landscape-study/maps --fidelity-json docs/landscape-study/json \
        --out docs/landscape-recommendation.md --json docs/landscape-recommendation.json
}

case "$phase" in
    analyze) need_bin; analyze_all ;;
    bench) need_bin; bench_all ;;
    summary) summary ;;
    all) need_bin; analyze_all; bench_all; summary ;;
    *) echo "usage: $0 [analyze|bench|summary|all]" >&2; exit 2 ;;
esac
