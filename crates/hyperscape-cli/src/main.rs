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
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) if !e.use_stderr() => e.exit(), // --help, --version
        Err(e) => {
            // A usage error may echo an argument: redact it like any other message.
            eprint!("{}", common::redact(&e.render().to_string()));
            std::process::exit(e.exit_code());
        }
    };
    let code = match commands::dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            // Never print a storage password, whatever the error carries.
            eprintln!("error: {}", common::redact(&format!("{e:#}")));
            1
        }
    };
    std::process::exit(code);
}
