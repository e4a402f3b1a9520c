use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    holdfast::cli::run(holdfast::cli::Cli::parse())
}
