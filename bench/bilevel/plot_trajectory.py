"""Figures of a GBHO run (docs/bilevel.md): its λ trajectory over the landscape that a
grid search of the same problem measured, and its constraint values per outer
iteration.

Figure 1 (`OUT-landscape.svg`), three heat maps over the grid's (λ₁, λ₂):
  left,   log10 φ(λ), the lower-level optimal value the GP φ̂ approximates;
  middle, F(w*(λ)), the validation cross-entropy of the model trained at λ;
  right,  the same, zoomed on the box around GBHO's outer iterations;
  on both, GBHO's initial design (circles), its global GP-EI proposals (squares,
  filled when accepted), the λ_k of its outer iterations joined in order (numbered),
  the λ it returned (star) and the grid's best point (cross).
Figure 2 (`OUT-constraint.svg`), per outer iteration k:
  the AL iterate's validation loss F(w_k) and the retrained F(w*(λ_k));
  the constraint c_k = f(λ_k, w_k) − φ(λ_k) (feasible at ≤ 0, up to the tolerance);
  the multiplier μ and the penalty R after the update (log scale).

Usage: python bench/bilevel/plot_trajectory.py GRID.json GBHO.json OUT [--title T]
  GRID.json is `bench_bilevel grid` output (or `bilevel_grid report`), GBHO.json
  `bench_bilevel gbho` on the same dataset, subset and seed.
Needs matplotlib (pip install matplotlib).
"""

import argparse
import json
import math

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def grid_arrays(design):
    xs = sorted({round(p[0][0], 9) for p in design})
    ys = sorted({round(p[0][1], 9) for p in design})
    phi = np.full((len(ys), len(xs)), np.nan)
    val = np.full((len(ys), len(xs)), np.nan)
    for lam, f, v in design:
        i = ys.index(round(lam[1], 9))
        j = xs.index(round(lam[0], 9))
        phi[i, j] = f
        val[i, j] = v
    return np.array(xs), np.array(ys), phi, val


def overlay(ax, g, grid_best):
    design = g["design"]
    ax.scatter([p[0][0] for p in design], [p[0][1] for p in design], s=40,
               facecolors="none", edgecolors="white", linewidths=1.4, label="initial design")
    glob = g.get("global", [])
    if glob:
        acc = [s for s in glob if s["accepted"]]
        rej = [s for s in glob if not s["accepted"]]
        ax.scatter([s["lambda"][0] for s in rej], [s["lambda"][1] for s in rej], marker="s",
                   s=36, facecolors="none", edgecolors="cyan", linewidths=1.2,
                   label="global proposal")
        ax.scatter([s["lambda"][0] for s in acc], [s["lambda"][1] for s in acc], marker="s",
                   s=36, color="cyan", label="global proposal, accepted")
    traj = g["trajectory"]
    lx = [s["lambda"][0] for s in traj]
    ly = [s["lambda"][1] for s in traj]
    ax.plot(lx, ly, "-o", color="orange", ms=3, lw=1.2, label="λ_k (outer iterations)")
    for s in traj:
        ax.annotate(str(s["k"]), (s["lambda"][0], s["lambda"][1]), fontsize=6,
                    color="orange", xytext=(3, 3), textcoords="offset points")
    ax.scatter([g["lambda"][0]], [g["lambda"][1]], marker="*", s=160, color="red",
               edgecolors="black", zorder=5, label="GBHO's λ")
    ax.scatter([grid_best[0]], [grid_best[1]], marker="x", s=70, color="black",
               zorder=5, label="grid's best")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("grid")
    ap.add_argument("gbho")
    ap.add_argument("out")
    ap.add_argument("--title", default="")
    a = ap.parse_args()
    grid = json.load(open(a.grid))
    g = json.load(open(a.gbho))
    xs, ys, phi, val = grid_arrays(grid["design"])
    grid_best = grid["lambda"]

    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6), constrained_layout=True)
    meshes = []
    for ax, z, label in (
        (axes[0], np.log10(phi), "log10 φ(λ): lower-level optimal training loss"),
        (axes[1], val, "F(w*(λ)): validation cross-entropy"),
        (axes[2], val, "F(w*(λ)), zoomed on the outer iterations"),
    ):
        m = ax.pcolormesh(xs, ys, z, shading="nearest", cmap="viridis",
                          rasterized=True)
        meshes.append(m)
        fig.colorbar(m, ax=ax)
        overlay(ax, g, grid_best)
        ax.set_xlabel("λ₁ (log L2 weight, hidden layer)")
        ax.set_ylabel("λ₂ (log L2 weight, output layer)")
        ax.set_title(label, fontsize=9)
    pts = [s["lambda"] for s in g["trajectory"]] + [grid_best, g["lambda"]]
    margin = 4 * (xs[1] - xs[0])
    x0 = max(xs[0], min(p[0] for p in pts) - margin)
    x1 = min(xs[-1], max(p[0] for p in pts) + margin)
    y0 = max(ys[0], min(p[1] for p in pts) - margin)
    y1 = min(ys[-1], max(p[1] for p in pts) + margin)
    half = (xs[1] - xs[0]) / 2
    axes[2].set_xlim(x0 - half, x1 + half)
    axes[2].set_ylim(y0 - half, y1 + half)
    window = val[np.ix_((ys >= y0) & (ys <= y1), (xs >= x0) & (xs <= x1))]
    meshes[2].set_clim(np.nanmin(window), np.nanmax(window))
    axes[1].legend(fontsize=6, loc="lower left", framealpha=0.8)
    if a.title:
        fig.suptitle(a.title, fontsize=10)
    fig.savefig(a.out + "-landscape.svg")

    traj = [s for s in g["trajectory"] if s["k"] >= 1]
    k = [s["k"] for s in traj]
    fig, axes = plt.subplots(3, 1, figsize=(6.5, 7), sharex=True, constrained_layout=True)
    axes[0].plot(k, [s["upper"] for s in traj], "-o", ms=3, label="F(w_k), AL iterate")
    axes[0].plot(k, [s["retrained_validation"] for s in traj], "-s", ms=3,
                 label="F(w*(λ_k)), retrained on train")
    axes[0].set_ylabel("validation CE")
    axes[0].legend(fontsize=7)
    axes[1].axhline(0, color="grey", lw=0.8)
    axes[1].plot(k, [s["c"] for s in traj], "-o", ms=3, color="C2")
    for s in traj:
        if not s["feasible"]:
            axes[1].scatter([s["k"]], [s["c"]], color="red", zorder=5, s=18)
    axes[1].set_ylabel("c_k = f(λ_k, w_k) − φ(λ_k)")
    axes[1].set_title("constraint (red: infeasible at the tolerance)", fontsize=8)
    axes[2].semilogy(k, [max(s["mu"], 1e-12) for s in traj], "-o", ms=3, label="μ")
    axes[2].semilogy(k, [s["r"] for s in traj], "-s", ms=3, label="R")
    axes[2].set_ylabel("multiplier, penalty")
    axes[2].set_xlabel("outer iteration k")
    axes[2].legend(fontsize=7)
    if a.title:
        fig.suptitle(a.title, fontsize=10)
    fig.savefig(a.out + "-constraint.svg")
    print(f"wrote {a.out}-landscape.svg and {a.out}-constraint.svg "
          f"(grid best {grid_best} at {grid['validation']['cross_entropy']:.4f}; "
          f"GBHO {[round(v, 2) for v in g['lambda']]} at "
          f"{g['validation']['cross_entropy']:.4f}; "
          f"{sum(1 for s in traj if s['feasible'])} of {len(traj)} iterates feasible; "
          f"finite φ: {all(math.isfinite(p[1]) for p in grid['design'])})")


if __name__ == "__main__":
    main()
