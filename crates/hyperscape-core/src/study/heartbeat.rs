//! One background thread per study object refreshes the heartbeat of its running trials.

use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use super::StudyInner;

pub(super) fn ensure_started(inner: &Arc<StudyInner>) {
    let Some(cfg) = inner.heartbeat else { return };
    inner.heartbeat_started.call_once(|| {
        let weak: Weak<StudyInner> = Arc::downgrade(inner);
        std::thread::Builder::new()
            .name("hyperscape-heartbeat".into())
            .spawn(move || run(weak, cfg.interval))
            .expect("spawn heartbeat thread");
    });
}

fn run(weak: Weak<StudyInner>, interval: Duration) {
    let tick = interval.min(Duration::from_millis(200));
    let mut last = Instant::now();
    loop {
        std::thread::sleep(tick);
        let Some(inner) = weak.upgrade() else { return };
        if last.elapsed() < interval {
            continue;
        }
        last = Instant::now();
        let ids: Vec<i64> = inner
            .running
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .iter()
            .copied()
            .collect();
        if !ids.is_empty() {
            // A failed heartbeat is retried next tick; the trial only goes stale if
            // failures last longer than `stale_after`.
            let _ = inner.storage.heartbeat(&ids);
        }
    }
}
