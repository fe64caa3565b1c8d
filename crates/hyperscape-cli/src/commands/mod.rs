//! One module per subcommand; each returns the process exit code.

mod ask;
mod best;
mod delete;
pub mod demo;
pub mod landscape;
pub mod run;
mod studies;
mod tell;
mod trials;

use anyhow::Result;

use crate::cli::Command;

pub fn dispatch(command: Command) -> Result<i32> {
    match command {
        Command::Run(a) => run::execute(a),
        Command::Demo(a) => demo::execute(a),
        Command::Studies(a) => studies::execute(a),
        Command::Trials(a) => trials::execute(a),
        Command::Best(a) => best::execute(a),
        Command::Delete(a) => delete::execute(a),
        Command::Ask(a) => ask::execute(a),
        Command::Tell(a) => tell::execute(a),
        Command::Landscape(a) => landscape::execute(a),
    }
}
