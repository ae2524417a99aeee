//! `rlc`, the command-line program: it reads files, talks to the terminal,
//! and drives the compiler stages and the sampler. It is the only crate
//! that does file IO or knows about exit codes; the stages below it are
//! pure libraries. Its tests (`tests/cli.rs`) run the built binary.

mod exit;

use clap::{Parser, Subcommand, ValueEnum};
use exit::{ExitCode, Failure};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  model error: the .rlm file does not compile (diagnostics on stderr)
  2  usage error: bad command-line arguments, or a file that cannot be read
  3  data error: the data file does not fit the model's declarations
  4  sampling failure: no chain could start or finish
 70  internal error: a bug in rlc (please report it)";

#[derive(Parser)]
#[command(
    name = "rlc",
    version,
    about = "Compile and sample Bayesian models of behaviour written in the .rlm language",
    after_help = EXIT_CODES_HELP
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check a model: parse it, resolve names, infer types and shapes, and
    /// print every diagnostic. Exit 0 when the model compiles.
    #[command(after_help = EXIT_CODES_HELP)]
    Check {
        /// The model file (.rlm).
        model: PathBuf,
        /// Also print what the compiler inferred.
        #[arg(long, value_enum)]
        emit: Option<Emit>,
        /// Colored diagnostics.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// Each model-level declaration and binding with its type and shape.
    Shapes,
    /// The syntax tree, as the parser produced it.
    Ast,
}

#[derive(Clone, Copy, ValueEnum)]
enum Color {
    Auto,
    Always,
    Never,
}

impl Color {
    fn enabled(self) -> bool {
        match self {
            Color::Always => true,
            Color::Never => false,
            Color::Auto => {
                std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        }
    }
}

fn main() {
    let cli = Cli::parse();
    let code = match run(cli) {
        Ok(()) => ExitCode::Success,
        Err(failure) => {
            eprintln!("{failure}");
            failure.code
        }
    };
    std::process::exit(code as i32);
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Check { model, emit, color } => check(&model, emit, color.enabled()),
    }
}

/// Reads a model file, with a readable error for a missing or non-UTF-8 file.
fn read_model(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "error: cannot read the model file {}: {e}",
            path.display()
        ))
    })?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::usage(format!(
            "error: the model file {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn check(path: &Path, emit: Option<Emit>, color: bool) -> Result<(), Failure> {
    let source = read_model(path)?;
    let name = display_name(path);
    if let Some(Emit::Ast) = emit {
        println!("{:#?}", rlc_syntax::parse(&source).program);
    }
    let (model, diagnostics) = rlc_check::compile(&source);
    if !diagnostics.is_empty() {
        eprint!(
            "{}",
            rlc_syntax::render(&diagnostics, &name, &source, color)
        );
    }
    let errors = diagnostics.iter().filter(|d| d.is_error()).count();
    match model {
        Some(model) => {
            if let Some(Emit::Shapes) = emit {
                print!("{}", rlc_check::shapes_report(&model, &source));
            }
            Ok(())
        }
        None => Err(Failure::new(
            ExitCode::ModelError,
            format!(
                "error: {name} has {errors} error{}",
                if errors == 1 { "" } else { "s" }
            ),
        )),
    }
}
