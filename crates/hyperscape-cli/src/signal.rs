//! Ctrl-C (SIGINT) and SIGTERM: a flag that workers poll.

use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::{Context, Result};

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

/// Exit code after an interruption (128 + SIGINT).
pub const EXIT_INTERRUPTED: i32 = 130;

/// Installs the handler; from then on a signal only sets the flag.
pub fn install() -> Result<&'static AtomicBool> {
    ctrlc::set_handler(|| INTERRUPTED.store(true, Ordering::SeqCst))
        .context("cannot install the Ctrl-C handler")?;
    Ok(&INTERRUPTED)
}
