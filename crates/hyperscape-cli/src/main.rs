//! The `hyperscape` binary: parse (clap) → validate into a config → build and run.

mod cli;
mod commands;
mod common;
mod external;
mod output;
mod signal;
mod trial_loop;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    let code = match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            1
        }
    };
    std::process::exit(code);
}
