#!/usr/bin/env bash
# Regenerates the landscape study of docs/landscape-study.md: maps 4 models × 4
# datasets × 3 fidelities with `hyperscape landscape map`, analyses them (and the
# HPOBench MLP tables and the shared XGBoost landscape) with `hyperscape landscape
# analyze/compare --format json`, draws the figures, and writes the summary tables.
#
# Usage: scripts/landscape-study.sh [maps|analyze|all]   (default: all)
# Env:   HYPERSCAPE_BIN (default target/release/hyperscape, built if missing),
#        STUDY_OUT (default docs/landscape-study), STUDY_WORK (default
#        target/landscape-study: the SQLite study, so an interrupted run resumes),
#        STUDY_LANES (parallel map processes, default 2), NICE (default 10).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
phase="${1:-all}"
bin="${HYPERSCAPE_BIN:-$root/target/release/hyperscape}"
out="${STUDY_OUT:-$root/docs/landscape-study}"
work="${STUDY_WORK:-$root/target/landscape-study}"
lanes="${STUDY_LANES:-2}"
nice_level="${NICE:-10}"
grids="$root/bench/landscape-study/grids"
figs="$root/docs/figures"
mkdir -p "$out/maps" "$out/json" "$work" "$figs"

if [[ ! -x "$bin" ]]; then
    (cd "$root" && cargo build --release -p hyperscape-cli --features plot)
fi

models=(svm gbt mlp rf)
datasets=(iris wine breast_cancer digits)
fidelity_of() {
    case "$1" in
        svm) echo "train_fraction=0.25,0.5,1" ;;   # not iterative: data fraction
        rf) echo "epochs=4,12,36" ;;               # trees
        gbt) echo "epochs=10,30,90" ;;            # boosting rounds
        mlp) echo "epochs=2,6,20" ;;
    esac
}
# The fidelity levels, lowest first, as they appear in the CSV column names.
labels_of() {
    local spec
    spec="$(fidelity_of "$1")"
    local name="${spec%%=*}"
    local IFS=,
    for l in ${spec#*=}; do echo "$name=$l"; done
}
params_of() { grep -E '^[A-Za-z_0-9]+ *= *\[' "$grids/$1.toml" | sed 's/ *=.*//' | paste -sd, -; }

run_maps() {
    local jobs=()
    for m in "${models[@]}"; do
        for d in "${datasets[@]}"; do
            jobs+=("$m $d")
        done
    done
    # `lanes` processes, each taking every lanes-th map; every map is its own study
    # in one SQLite file, so a killed run resumes where it stopped.
    for lane in $(seq 0 $((lanes - 1))); do
        (
            i=0
            for j in "${jobs[@]}"; do
                if ((i % lanes == lane)); then
                    set -- $j
                    nice -n "$nice_level" "$bin" landscape map --model "$1" --dataset "$2" \
                        --grid "$grids/$1.toml" --fidelity "$(fidelity_of "$1")" \
                        --storage "sqlite://$work/study.db" --study "map-$1-$2" \
                        --out "$out/maps/$1-$2.csv" 2>&1 | sed "s/^/[$1 $2] /" ||
                        echo "[$1 $2] map failed" >&2
                fi
                i=$((i + 1))
            done
        ) &
    done
    wait
}

# fitness column and direction flag of model $1 at level $2 for split $3 (val/test/train):
# the cross-entropy (minimised), or the accuracy (maximised) for the SVM, which gives
# no probabilities.
fitness_of() {
    if [[ "$1" == svm ]]; then echo "$3_acc@$2 --maximize"; else echo "$3_loss@$2"; fi
}

analyze_one() { # file fitness-and-flag params out
    local file="$1" fit="$2" params="$3" dest="$4"
    # shellcheck disable=SC2086
    "$bin" landscape analyze "$file" --fitness $fit --params "$params" --epsilon 1% --format json >"$dest"
}
compare_one() { # file fitness-and-flag against params out [file2]
    local file="$1" fit="$2" against="$3" params="$4" dest="$5" file2="${6:-}"
    # shellcheck disable=SC2086
    "$bin" landscape compare "$file" --fitness $fit --against "$against" --params "$params" \
        --gammas 0.05,0.1,0.25 --format json ${file2:+"$file2"} >"$dest"
}

run_analyses() {
    local j="$out/json"
    for m in "${models[@]}"; do
        local params
        params="$(params_of "$m")"
        mapfile -t levels < <(labels_of "$m")
        local hi="${levels[-1]}"
        for d in "${datasets[@]}"; do
            local f="$out/maps/$m-$d.csv"
            [[ -f "$f" ]] || { echo "missing map $f" >&2; continue; }
            for l in "${levels[@]}"; do
                analyze_one "$f" "$(fitness_of "$m" "$l" val)" "$params" "$j/analyze.$m.$d.val.$l.json"
            done
            analyze_one "$f" "$(fitness_of "$m" "$hi" test)" "$params" "$j/analyze.$m.$d.test.$hi.json"
            # low/mid fidelity against full fidelity (validation).
            for l in "${levels[@]:0:${#levels[@]}-1}"; do
                local a b
                a="$(fitness_of "$m" "$l" val)"
                b="$(fitness_of "$m" "$hi" val)"
                compare_one "$f" "$a" "${b%% *}" "$params" "$j/compare.fidelity.$m.$d.$l.json"
            done
            # train and validation against test, at full fidelity.
            for s in train val; do
                compare_one "$f" "$(fitness_of "$m" "$hi" "$s")" "$(fitness_of "$m" "$hi" test | cut -d' ' -f1)" \
                    "$params" "$j/compare.split.$m.$d.$s.json"
            done
        done
        # Across datasets, validation at full fidelity, same grid.
        for ((x = 0; x < ${#datasets[@]}; x++)); do
            for ((y = x + 1; y < ${#datasets[@]}; y++)); do
                local da="${datasets[$x]}" db="${datasets[$y]}"
                [[ -f "$out/maps/$m-$da.csv" && -f "$out/maps/$m-$db.csv" ]] || continue
                local fit
                fit="$(fitness_of "$m" "$hi" val)"
                compare_one "$out/maps/$m-$da.csv" "$fit" "${fit%% *}" "$params" \
                    "$j/compare.dataset.$m.$da.$db.json" "$out/maps/$m-$db.csv"
            done
        done
    done

    # HPOBench MLP tables (single fidelity, 5 seeds): profile, seed-vs-seed and
    # cross-dataset similarity.
    local hpo="$root/.datasets/hpo-tables/hpobench"
    if [[ ! -d "$hpo" ]]; then
        "$root/scripts/fetch-hpo-tables.sh" || echo "HPOBench tables unavailable" >&2
    fi
    local hp="alpha,batch_size,depth,learning_rate_init,width"
    if [[ -d "$hpo" ]]; then
        mapfile -t hdata < <(ls "$hpo" | sed 's/\.csv$//')
        for d in "${hdata[@]}"; do
            analyze_one "$hpo/$d.csv" "val_acc --maximize" "$hp" "$j/hpobench.analyze.$d.json"
            compare_one "$hpo/$d.csv" "val_acc@0 --maximize" "val_acc@1" "$hp" "$j/hpobench.seeds.$d.json"
        done
        for ((x = 0; x < ${#hdata[@]}; x++)); do
            for ((y = x + 1; y < ${#hdata[@]}; y++)); do
                compare_one "$hpo/${hdata[$x]}.csv" "val_acc --maximize" val_acc "$hp" \
                    "$j/hpobench.dataset.${hdata[$x]}.${hdata[$y]}.json" "$hpo/${hdata[$y]}.csv"
            done
        done
    fi

    # The shared XGBoost landscape: profile on test accuracy, train against test.
    local xgb="$root/../shared/data/xgboost_landscape.csv"
    local xp="learning_rate,max_bin,max_depth,n_estimators,subsample"
    if [[ -f "$xgb" ]]; then
        analyze_one "$xgb" "acc_test --maximize" "$xp" "$j/xgboost.analyze.json"
        compare_one "$xgb" "acc_train --maximize" acc_test "$xp" "$j/xgboost.split.json"
    fi

    # Figures: FDC and marginals of one map per model, an interaction heatmap.
    if "$bin" landscape plot --help >/dev/null 2>&1; then
        for m in "${models[@]}"; do
            mapfile -t levels < <(labels_of "$m")
            local f="$out/maps/$m-breast_cancer.csv"
            [[ -f "$f" ]] || continue
            # shellcheck disable=SC2046
            "$bin" landscape plot "$f" --fitness $(fitness_of "$m" "${levels[-1]}" val) \
                --params "$(params_of "$m")" --kind fdc --out "$figs/study-fdc-$m-breast_cancer.svg"
            # shellcheck disable=SC2046
            "$bin" landscape plot "$f" --fitness $(fitness_of "$m" "${levels[-1]}" val) \
                --params "$(params_of "$m")" --kind marginals --out "$figs/study-marginals-$m-breast_cancer.svg"
        done
        if [[ -f "$out/maps/svm-digits.csv" ]]; then
            "$bin" landscape plot "$out/maps/svm-digits.csv" --fitness "val_acc@train_fraction=1" --maximize \
                --params C,gamma --kind interactions --pair C,gamma --out "$figs/study-interactions-svm-digits.svg"
        fi
        if [[ -f "$out/maps/mlp-digits.csv" ]]; then
            "$bin" landscape plot "$out/maps/mlp-digits.csv" --fitness "val_loss@epochs=20" \
                --params "$(params_of mlp)" --kind interactions --pair learning_rate,n_units \
                --out "$figs/study-interactions-mlp-digits.svg"
        fi
    fi

    python3 "$root/bench/landscape-study/summarize.py" "$j" >"$out/summary.md"
    echo "wrote $out/summary.md"
}

case "$phase" in
    maps) run_maps ;;
    analyze) run_analyses ;;
    all) run_maps && run_analyses ;;
    *) echo "usage: $0 [maps|analyze|all]" >&2; exit 2 ;;
esac
