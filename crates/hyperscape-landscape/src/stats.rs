//! Correlation helpers: Pearson, Spearman (average ranks), Kendall τ-b (Knight's
//! O(n log n) algorithm), medians. Undefined results (fewer than two points, zero
//! variance) are `None`.

/// Pearson correlation of `x` and `y` (same length). `None` if undefined.
pub fn pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mx = x.iter().sum::<f64>() / n as f64;
    let my = y.iter().sum::<f64>() / n as f64;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    if sxx <= 0.0 || syy <= 0.0 {
        return None;
    }
    Some((sxy / (sxx.sqrt() * syy.sqrt())).clamp(-1.0, 1.0))
}

/// Ranks 1..=n, ties get the average of their ranks.
pub fn ranks(x: &[f64]) -> Vec<f64> {
    let mut idx: Vec<u32> = (0..x.len() as u32).collect();
    idx.sort_unstable_by(|&a, &b| x[a as usize].total_cmp(&x[b as usize]));
    let mut r = vec![0.0; x.len()];
    let mut i = 0;
    while i < idx.len() {
        let mut j = i + 1;
        while j < idx.len() && x[idx[j] as usize] == x[idx[i] as usize] {
            j += 1;
        }
        let avg = (i + j + 1) as f64 / 2.0; // mean of ranks i+1..=j
        for &k in &idx[i..j] {
            r[k as usize] = avg;
        }
        i = j;
    }
    r
}

/// Spearman rank correlation (Pearson of average ranks). `None` if undefined.
pub fn spearman(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    if x.len() < 2 {
        return None;
    }
    pearson(&ranks(x), &ranks(y))
}

/// Kendall's τ-b with Knight's O(n log n) algorithm (sort by x then y, count
/// discordant pairs by merge-sort swaps of y). `None` if undefined.
pub fn kendall_tau_b(x: &[f64], y: &[f64]) -> Option<f64> {
    assert_eq!(x.len(), y.len());
    let n = x.len();
    if n < 2 {
        return None;
    }
    let mut idx: Vec<u32> = (0..n as u32).collect();
    idx.sort_unstable_by(|&a, &b| {
        let (a, b) = (a as usize, b as usize);
        x[a].total_cmp(&x[b]).then(y[a].total_cmp(&y[b]))
    });
    let n0 = (n as u128 * (n as u128 - 1) / 2) as f64;
    // Pairs tied in x (n1), tied in both x and y (n3).
    let (mut n1, mut n3) = (0u128, 0u128);
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && x[idx[j] as usize] == x[idx[i] as usize] {
            j += 1;
        }
        let t = (j - i) as u128;
        n1 += t * (t - 1) / 2;
        // Within the x-tie run, y is sorted: count y ties.
        let mut k = i;
        while k < j {
            let mut l = k + 1;
            while l < j && y[idx[l] as usize] == y[idx[k] as usize] {
                l += 1;
            }
            let u = (l - k) as u128;
            n3 += u * (u - 1) / 2;
            k = l;
        }
        i = j;
    }
    // Sort y by merge sort counting swaps (= discordant pairs, x-ties excluded since
    // they were ordered by y already).
    let mut ys: Vec<f64> = idx.iter().map(|&k| y[k as usize]).collect();
    let mut buf = vec![0.0; n];
    let swaps = merge_count(&mut ys, &mut buf);
    // Pairs tied in y (n2).
    let mut n2 = 0u128;
    let mut i = 0;
    while i < n {
        let mut j = i + 1;
        while j < n && ys[j] == ys[i] {
            j += 1;
        }
        let t = (j - i) as u128;
        n2 += t * (t - 1) / 2;
        i = j;
    }
    let (n1f, n2f, n3f) = (n1 as f64, n2 as f64, n3 as f64);
    let concordant_minus_discordant = n0 - n1f - n2f + n3f - 2.0 * swaps as f64;
    let denom = ((n0 - n1f) * (n0 - n2f)).sqrt();
    if denom <= 0.0 {
        return None;
    }
    Some((concordant_minus_discordant / denom).clamp(-1.0, 1.0))
}

/// Bottom-up merge sort of `v`, returning the number of inversions (strictly
/// greater element before a smaller one).
fn merge_count(v: &mut [f64], buf: &mut [f64]) -> u128 {
    let n = v.len();
    let mut swaps = 0u128;
    let mut width = 1;
    while width < n {
        let mut start = 0;
        while start < n {
            let mid = (start + width).min(n);
            let end = (start + 2 * width).min(n);
            let (mut i, mut j, mut k) = (start, mid, start);
            while i < mid && j < end {
                if v[j] < v[i] {
                    buf[k] = v[j];
                    swaps += (mid - i) as u128;
                    j += 1;
                } else {
                    buf[k] = v[i];
                    i += 1;
                }
                k += 1;
            }
            buf[k..k + (mid - i)].copy_from_slice(&v[i..mid]);
            k += mid - i;
            buf[k..k + (end - j)].copy_from_slice(&v[j..end]);
            start = end;
        }
        v.copy_from_slice(buf);
        width *= 2;
    }
    swaps
}

/// Median of the values (mean of the two middle ones for an even count).
pub fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]) / 2.0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// O(n²) τ-b for checking Knight's algorithm.
    fn tau_b_naive(x: &[f64], y: &[f64]) -> Option<f64> {
        let n = x.len();
        let (mut s, mut tx, mut ty, mut n0) = (0.0f64, 0.0f64, 0.0f64, 0.0f64);
        for i in 0..n {
            for j in i + 1..n {
                n0 += 1.0;
                let a = (x[i] - x[j]).signum() * ((x[i] != x[j]) as i32 as f64);
                let b = (y[i] - y[j]).signum() * ((y[i] != y[j]) as i32 as f64);
                s += a * b;
                if x[i] == x[j] {
                    tx += 1.0;
                }
                if y[i] == y[j] {
                    ty += 1.0;
                }
            }
        }
        let d = ((n0 - tx) * (n0 - ty)).sqrt();
        (d > 0.0).then(|| s / d)
    }

    #[test]
    fn kendall_matches_naive_with_ties() {
        let x = [1.0, 2.0, 2.0, 3.0, 5.0, 5.0, 5.0, 0.0, 4.0, 1.0];
        let y = [2.0, 1.0, 3.0, 3.0, 4.0, 0.0, 4.0, 1.0, 2.0, 2.0];
        let a = kendall_tau_b(&x, &y).unwrap();
        let b = tau_b_naive(&x, &y).unwrap();
        assert!((a - b).abs() < 1e-12, "{a} vs {b}");
        assert_eq!(kendall_tau_b(&x, &x), Some(1.0));
        let neg: Vec<f64> = x.iter().map(|v| -v).collect();
        assert!((kendall_tau_b(&x, &neg).unwrap() + 1.0).abs() < 1e-12);
        assert_eq!(kendall_tau_b(&[1.0, 1.0], &[2.0, 3.0]), None);
    }

    #[test]
    fn spearman_and_pearson() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [1.0, 4.0, 9.0, 16.0];
        assert!((spearman(&x, &y).unwrap() - 1.0).abs() < 1e-12);
        assert!(pearson(&x, &y).unwrap() < 1.0);
        assert_eq!(pearson(&x, &[2.0; 4]), None);
        assert_eq!(ranks(&[3.0, 1.0, 3.0]), vec![2.5, 1.0, 2.5]);
        assert_eq!(median(&mut [3.0, 1.0, 2.0, 10.0]), Some(2.5));
    }
}
