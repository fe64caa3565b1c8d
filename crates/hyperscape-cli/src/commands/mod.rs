//! One module per subcommand; each returns the process exit code.

mod ask;
mod bench;
mod bench_harness;
mod best;
pub mod bilevel;
pub mod datasets;
mod delete;
pub mod demo;
pub mod landscape;
pub mod run;
mod storage;
mod studies;
mod study;
mod tell;
pub mod train;
mod trials;
pub mod tune;
mod worker;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<i32> {
    match command {
        Command::Run(a) => run::execute(*a),
        Command::Demo(a) => demo::execute(a),
        Command::Studies(a) => studies::execute(a),
        Command::Trials(a) => trials::execute(a),
        Command::Best(a) => best::execute(a),
        Command::Delete(a) => delete::execute(a),
        Command::Ask(a) => ask::execute(a),
        Command::Tell(a) => tell::execute(a),
        Command::Study(c) => study::execute(c),
        Command::Worker(a) => worker::execute(a),
        Command::Storage(c) => storage::execute(c),
        Command::Bench(c) => bench::execute(c),
        Command::BenchWorker(a) => bench::worker(a),
        Command::Landscape(a) => landscape::execute(a),
        Command::Bilevel(a) => bilevel::execute(a),
        Command::Tune(a) => tune::execute(*a),
        Command::Train(a) => train::execute(*a),
        Command::Datasets(a) => datasets::execute(a),
    }
}
