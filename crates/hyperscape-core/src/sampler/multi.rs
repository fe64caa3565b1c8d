//! Multi-objective building blocks shared by the samplers (TPE's good group, NSGA-II's
//! survival) and by tests: Pareto dominance, non-dominated sorting, crowding distance,
//! constrained domination ranks and the 2-D hypervolume. Everything minimises.

/// `a` dominates `b` (all no worse, one strictly better; minimisation).
pub fn dominates(a: &[f64], b: &[f64]) -> bool {
    a.iter().zip(b).all(|(x, y)| x <= y) && a.iter().zip(b).any(|(x, y)| x < y)
}

/// Non-dominated fronts (indices into `pts`), best first, stopping once `need` points
/// are covered (`usize::MAX` for all). One objective: a sort, equal values share a
/// front. Two: O(n log n + n·fronts). More: the plain O(n²·fronts) rule.
pub fn fronts_until(pts: &[&[f64]], need: usize) -> Vec<Vec<usize>> {
    let mut fronts: Vec<Vec<usize>> = Vec::new();
    let m = pts.first().map_or(0, |p| p.len());
    if m == 1 {
        let mut order: Vec<usize> = (0..pts.len()).collect();
        order.sort_by(|&a, &b| pts[a][0].total_cmp(&pts[b][0]).then(a.cmp(&b)));
        for (covered, i) in order.into_iter().enumerate() {
            match fronts.last_mut() {
                Some(f) if pts[f[0]][0] == pts[i][0] => f.push(i),
                _ => {
                    if covered >= need {
                        break;
                    }
                    fronts.push(vec![i]);
                }
            }
        }
        return fronts;
    }
    if m == 2 {
        // Sort lexicographically, then each point joins the first front whose last
        // member does not dominate it.
        let mut order: Vec<usize> = (0..pts.len()).collect();
        order.sort_by(|&a, &b| {
            pts[a][0]
                .total_cmp(&pts[b][0])
                .then(pts[a][1].total_cmp(&pts[b][1]))
        });
        for i in order {
            let p = pts[i];
            let slot = fronts.iter().position(|f| {
                let q = pts[*f.last().unwrap_or(&i)];
                q[1] > p[1] || (q[0] == p[0] && q[1] == p[1])
            });
            match slot {
                Some(k) => fronts[k].push(i),
                None => fronts.push(vec![i]),
            }
        }
        let mut covered = 0;
        let keep = fronts
            .iter()
            .take_while(|f| {
                let go = covered < need;
                covered += f.len();
                go
            })
            .count();
        fronts.truncate(keep);
        return fronts;
    }
    let mut rest: Vec<usize> = (0..pts.len()).collect();
    let mut covered = 0;
    while !rest.is_empty() && covered < need {
        let (front, others): (Vec<usize>, Vec<usize>) = rest
            .iter()
            .partition(|&&i| !rest.iter().any(|&j| j != i && dominates(pts[j], pts[i])));
        covered += front.len();
        fronts.push(front);
        rest = others;
    }
    fronts
}

/// Fronts under Deb's constrained domination: feasible points (violation `<= 0`) by
/// non-dominated sorting first, then infeasible ones by increasing total violation
/// (equal violations share a front). `violation[i]` is point `i`'s total violation.
pub fn constrained_fronts(pts: &[&[f64]], violation: &[f64]) -> Vec<Vec<usize>> {
    let feasible: Vec<usize> = (0..pts.len()).filter(|&i| violation[i] <= 0.0).collect();
    let fp: Vec<&[f64]> = feasible.iter().map(|&i| pts[i]).collect();
    let mut fronts: Vec<Vec<usize>> = fronts_until(&fp, usize::MAX)
        .into_iter()
        .map(|f| f.into_iter().map(|j| feasible[j]).collect())
        .collect();
    let mut infeasible: Vec<usize> = (0..pts.len()).filter(|&i| violation[i] > 0.0).collect();
    infeasible.sort_by(|&a, &b| violation[a].total_cmp(&violation[b]).then(a.cmp(&b)));
    for i in infeasible {
        match fronts.last_mut() {
            Some(f) if violation[f[0]] > 0.0 && violation[f[0]] == violation[i] => f.push(i),
            _ => fronts.push(vec![i]),
        }
    }
    fronts
}

/// Crowding distance of each point within one front (Deb et al. 2002): the sum over
/// objectives of the normalised gap between its neighbours; boundary points get
/// infinity.
pub fn crowding_distance(pts: &[&[f64]]) -> Vec<f64> {
    let n = pts.len();
    let m = pts.first().map_or(0, |p| p.len());
    let mut dist = vec![0.0f64; n];
    if n <= 2 {
        return vec![f64::INFINITY; n];
    }
    #[allow(clippy::needless_range_loop)] // j indexes the objective inside each point
    for j in 0..m {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by(|&a, &b| pts[a][j].total_cmp(&pts[b][j]).then(a.cmp(&b)));
        let span = pts[order[n - 1]][j] - pts[order[0]][j];
        dist[order[0]] = f64::INFINITY;
        dist[order[n - 1]] = f64::INFINITY;
        if span > 0.0 {
            for w in 1..n - 1 {
                dist[order[w]] += (pts[order[w + 1]][j] - pts[order[w - 1]][j]) / span;
            }
        }
    }
    dist
}

/// A reference point a little worse than every point (as Optuna: ×1.1 or ×0.9).
pub fn reference_point(pts: &[&[f64]]) -> Vec<f64> {
    let m = pts.first().map_or(0, |p| p.len());
    (0..m)
        .map(|j| {
            let w = pts.iter().map(|p| p[j]).fold(f64::NEG_INFINITY, f64::max);
            if w > 0.0 {
                w * 1.1
            } else if w < 0.0 {
                w * 0.9
            } else {
                1e-12
            }
        })
        .collect()
}

/// Hypervolume dominated by 2-D points with respect to `r` (minimisation); points not
/// strictly better than `r` in both objectives add nothing. Sorts `pts`.
pub fn hypervolume_2d(pts: &mut [[f64; 2]], r: [f64; 2]) -> f64 {
    pts.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    let mut y_min = r[1];
    let mut hv = 0.0;
    for p in pts.iter() {
        if p[0] < r[0] && p[1] < y_min {
            hv += (r[0] - p[0]) * (y_min - p[1]);
            y_min = p[1];
        }
    }
    hv
}

/// Hypervolume dominated by points of any dimension with respect to `r`
/// (minimisation): exact, by slicing along the last objective and recursing (the
/// 2-D sweep at the bottom), O(n^(m−1) log n). Points not strictly better than `r` in
/// every objective add nothing.
pub fn hypervolume(pts: &[&[f64]], r: &[f64]) -> f64 {
    let m = r.len();
    let inside: Vec<&[f64]> = pts
        .iter()
        .copied()
        .filter(|p| p.len() == m && p.iter().zip(r).all(|(a, b)| a < b))
        .collect();
    if inside.is_empty() || m == 0 {
        return 0.0;
    }
    match m {
        1 => r[0] - inside.iter().map(|p| p[0]).fold(f64::INFINITY, f64::min),
        2 => {
            let mut v: Vec<[f64; 2]> = inside.iter().map(|p| [p[0], p[1]]).collect();
            hypervolume_2d(&mut v, [r[0], r[1]])
        }
        _ => {
            let mut order = inside;
            order.sort_by(|a, b| a[m - 1].total_cmp(&b[m - 1]));
            let mut hv = 0.0;
            for i in 0..order.len() {
                let lo = order[i][m - 1];
                let hi = order.get(i + 1).map_or(r[m - 1], |p| p[m - 1]);
                if hi > lo {
                    let slab: Vec<&[f64]> = order[..=i].iter().map(|p| &p[..m - 1]).collect();
                    hv += (hi - lo) * hypervolume(&slab, &r[..m - 1]);
                }
            }
            hv
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fronts_two_objectives_match_the_generic_rule() {
        let raw = [
            [1.0, 5.0],
            [2.0, 3.0],
            [3.0, 1.0],
            [2.0, 4.0],
            [4.0, 4.0],
            [1.0, 5.0],
            [5.0, 5.0],
        ];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        let mut f = fronts_until(&pts, 100);
        for x in &mut f {
            x.sort();
        }
        assert_eq!(f, vec![vec![0, 1, 2, 5], vec![3], vec![4], vec![6]]);
        let p3: Vec<Vec<f64>> = raw.iter().map(|p| vec![p[0], p[1], 0.0]).collect();
        let p3: Vec<&[f64]> = p3.iter().map(|p| p.as_slice()).collect();
        let mut g = fronts_until(&p3, 100);
        for x in &mut g {
            x.sort();
        }
        assert_eq!(f, g);
    }

    #[test]
    fn one_objective_fronts_are_sorted_values() {
        let raw = [[3.0], [1.0], [2.0], [1.0]];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        assert_eq!(
            fronts_until(&pts, usize::MAX),
            vec![vec![1, 3], vec![2], vec![0]]
        );
        assert_eq!(fronts_until(&pts, 2), vec![vec![1, 3]]);
    }

    #[test]
    fn constrained_fronts_put_feasible_first_then_by_violation() {
        let raw = [[0.0, 0.0], [5.0, 5.0], [1.0, 1.0], [9.0, 9.0]];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        let f = constrained_fronts(&pts, &[2.0, 0.0, 0.5, 0.0]);
        assert_eq!(f, vec![vec![1], vec![3], vec![2], vec![0]]);
    }

    #[test]
    fn crowding_favours_isolated_points() {
        let raw = [[0.0, 4.0], [1.0, 3.0], [1.1, 2.9], [4.0, 0.0]];
        let pts: Vec<&[f64]> = raw.iter().map(|p| p.as_slice()).collect();
        let d = crowding_distance(&pts);
        assert!(d[0].is_infinite() && d[3].is_infinite());
        assert!(d[2] > d[1], "{d:?}");
    }

    #[test]
    fn hypervolume_of_any_dimension_matches_known_volumes() {
        let two = [[1.0, 3.0], [2.0, 2.0], [3.0, 1.0]];
        let p2: Vec<&[f64]> = two.iter().map(|p| p.as_slice()).collect();
        let mut raw = two.to_vec();
        assert!(
            (hypervolume(&p2, &[4.0, 4.0]) - hypervolume_2d(&mut raw, [4.0, 4.0])).abs() < 1e-12
        );
        // One point: a box. Two 3-D points: inclusion–exclusion.
        let a = [1.0, 2.0, 3.0];
        let b = [2.0, 1.0, 2.0];
        let r = [4.0, 4.0, 4.0];
        assert!((hypervolume(&[&a], &r) - 3.0 * 2.0 * 1.0).abs() < 1e-12);
        let both = 3.0 * 2.0 * 1.0 + 2.0 * 3.0 * 2.0 - 2.0 * 2.0 * 1.0;
        assert!((hypervolume(&[&a, &b], &r) - both).abs() < 1e-12);
        // A dominated point and a point outside the reference add nothing.
        let dominated = [3.0, 3.0, 3.5];
        let outside = [0.0, 0.0, 5.0];
        assert!((hypervolume(&[&a, &b, &dominated, &outside], &r) - both).abs() < 1e-12);
        assert_eq!(hypervolume(&[], &r), 0.0);
    }
}
