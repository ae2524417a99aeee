//! `rlc`, the command-line program: a thin front end over the driver
//! library (`rlc-driver`). It parses flags, reads and writes files, renders
//! diagnostics, draws progress bars, prints tables and chooses exit codes;
//! the compiling, loading and sampling are the driver's. Its tests
//! (`tests/cli.rs` and the others in `tests/`) run the built binary.

mod bench;
mod exit;
mod logp;
mod output;
mod run;
mod zarr;

use clap::{Parser, Subcommand, ValueEnum};
use exit::{ExitCode, Failure};
use rlc_driver::{summary, Compiled, Data};
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  model error: the .rlm file does not compile (diagnostics on stderr)
  2  usage error: bad command-line arguments, or a file that cannot be read
  3  data error: the data file does not fit the model's declarations
  4  sampling failure: no chain could start or finish
130  interrupted (Ctrl-C): the output files hold the draws made so far
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
    /// The log density (log-Jacobian included) and its gradient with respect
    /// to the unconstrained coordinates, at one point.
    #[command(after_help = EXIT_CODES_HELP)]
    Logp {
        /// The model file (.rlm).
        model: PathBuf,
        /// The data file: Stan-format JSON, CSV, or tab-separated text.
        #[arg(long)]
        data: PathBuf,
        /// Constrained parameter values: 'alpha=0.3,beta=2,w=[0.1,0.2]'.
        #[arg(
            long,
            conflicts_with = "unconstrained",
            required_unless_present = "unconstrained"
        )]
        at: Option<String>,
        /// Unconstrained coordinates in declaration order, arrays row-major: '0.1,1.2'.
        #[arg(long, allow_hyphen_values = true)]
        unconstrained: Option<String>,
        /// Print `{"logp": …, "gradient": […], "coordinates": […]}`.
        #[arg(long)]
        json: bool,
        /// The evaluation engine.
        #[arg(long, value_enum, default_value_t = Backend::Jit)]
        backend: Backend,
        /// The CSV delimiter, when not detected from the header line.
        #[arg(long, value_parser = parse_delimiter)]
        delimiter: Option<u8>,
        /// Colored diagnostics.
        #[arg(long, value_enum, default_value_t = Color::Auto)]
        color: Color,
    },
    /// Sample the posterior with NUTS: write one CmdStan CSV per chain and
    /// print a summary with convergence warnings.
    #[command(after_help = EXIT_CODES_HELP)]
    Run(RunArgs),
    /// Time compilation and one log-density+gradient evaluation.
    #[command(after_help = EXIT_CODES_HELP)]
    Bench {
        /// The model file (.rlm).
        model: PathBuf,
        /// The data file: Stan-format JSON, CSV, or tab-separated text.
        #[arg(long)]
        data: PathBuf,
        /// Print `{"compile_ms": …, "grad_eval_us": …, "interp_grad_eval_us": …}`.
        #[arg(long)]
        json: bool,
        /// The CSV delimiter, when not detected from the header line.
        #[arg(long, value_parser = parse_delimiter)]
        delimiter: Option<u8>,
    },
    /// Print the summary table of CmdStan-format CSV files (rlc's or CmdStan's).
    #[command(after_help = EXIT_CODES_HELP)]
    Summary {
        /// One CSV file per chain.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// The maximum tree depth the run used, for the tree-depth warning
        /// [default: the `max_depth` in the files' header, else 10].
        #[arg(long)]
        max_depth: Option<u32>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The model file (.rlm).
    model: PathBuf,
    /// The data file: Stan-format JSON, CSV, or tab-separated text.
    #[arg(long)]
    data: PathBuf,
    /// Number of chains, run in parallel.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Warmup iterations per chain.
    #[arg(long, default_value_t = 1000)]
    warmup: usize,
    /// Draws per chain after warmup.
    #[arg(long, default_value_t = 1000)]
    draws: usize,
    /// Random seed (default: from the clock; printed so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Where the CSV files (one per chain) or the Zarr store are written.
    #[arg(long, default_value = "output")]
    output_dir: PathBuf,
    /// `csv`: one CmdStan CSV per chain, streamed as the draws are made;
    /// `zarr`: one Zarr store, `<model>.zarr`, holding the run as an ArviZ
    /// DataTree (posterior, sample_stats, observed_data), written at the end.
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    output_format: OutputFormat,
    /// Maximum NUTS tree depth.
    #[arg(long, default_value_t = 10)]
    max_depth: u32,
    /// Target acceptance rate of step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    adapt_delta: f64,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// The evaluation engine.
    #[arg(long, value_enum, default_value_t = Backend::Jit)]
    backend: Backend,
    /// The CSV delimiter, when not detected from the header line.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    /// Colored diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        "comma" => Ok(b','),
        "semicolon" => Ok(b';'),
        t if t.len() == 1 && t.is_ascii() => Ok(t.as_bytes()[0]),
        _ => Err("a single character, or `tab`, `comma`, `semicolon`".to_string()),
    }
}

/// Which engine evaluates the compiled functions.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Backend {
    /// Native code compiled with Cranelift, specialized on the data's sizes.
    Jit,
    /// The reference interpreter (slow; for checking).
    Interp,
}

impl From<Backend> for rlc_driver::Backend {
    fn from(backend: Backend) -> Self {
        match backend {
            Backend::Jit => rlc_driver::Backend::Jit,
            Backend::Interp => rlc_driver::Backend::Interp,
        }
    }
}

/// The format of `rlc run`'s output.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OutputFormat {
    /// One CmdStan CSV per chain.
    Csv,
    /// One Zarr store with the run as an ArviZ DataTree.
    Zarr,
}

#[derive(Clone, Copy, ValueEnum)]
enum Emit {
    /// Each model-level declaration and binding with its type and shape.
    Shapes,
    /// The syntax tree, as the parser produced it.
    Ast,
    /// The lowered IR of the log density and of the generated quantities.
    Ir,
    /// The IR of the log density's gradient (after autodiff).
    GradIr,
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

/// Lets a closed pipe end the program quietly (`rlc run … | head`), as
/// command-line tools do, instead of failing on the next print.
fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at the start of `main`, before any thread exists;
    // setting a signal's disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

fn main() {
    restore_default_sigpipe();
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
        Command::Logp {
            model,
            data,
            at,
            unconstrained,
            json,
            backend,
            delimiter,
            color,
        } => {
            let compiled = compile_file(&model, color.enabled())?;
            let loaded = load_data(&compiled, &data, delimiter)?;
            let mut density = bind(&compiled, &loaded, backend)?;
            let point = match (at, unconstrained) {
                (Some(at), _) => rlc_driver::point::Point::Constrained(
                    rlc_driver::point::parse_assignments(&at)?,
                ),
                (None, Some(u)) => rlc_driver::point::Point::Unconstrained(
                    rlc_driver::point::parse_coordinates(&u)?,
                ),
                (None, None) => return Err(Failure::usage("error: give --at or --unconstrained")),
            };
            logp::run(&mut density, &point, json)
        }
        Command::Run(args) => run_command(args),
        Command::Bench {
            model,
            data,
            json,
            delimiter,
        } => {
            let compiled = compile_file(&model, false)?;
            let loaded = load_data(&compiled, &data, delimiter)?;
            bench::run(&compiled, &loaded, json)
        }
        Command::Summary { files, max_depth } => summary_command(&files, max_depth),
    }
}

fn run_command(args: RunArgs) -> Result<(), Failure> {
    let seed = args.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64 % 1_000_000_000)
            .unwrap_or(0)
    });
    let sample = rlc_driver::sample::SampleSettings {
        chains: args.chains,
        warmup: args.warmup,
        draws: args.draws,
        seed,
        max_depth: args.max_depth,
        adapt_delta: args.adapt_delta,
        threads: 0,
    };
    sample.validate()?;
    let compiled = compile_file(&args.model, args.color.enabled())?;
    let loaded = load_data(&compiled, &args.data, args.delimiter)?;
    if args.seed.is_none() && !args.quiet {
        eprintln!("seed: {seed} (pass --seed {seed} to repeat this run)");
    }
    let model_name = args
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_string());
    let options = run::RunOptions {
        sample,
        output_dir: args.output_dir.clone(),
        quiet: args.quiet,
        data_file: args.data.display().to_string(),
        model_name,
        format: match args.output_format {
            OutputFormat::Csv => run::OutputFormat::Csv,
            OutputFormat::Zarr => run::OutputFormat::Zarr,
        },
    };
    let density = bind(&compiled, &loaded, args.backend)?;
    run::run(&compiled, &loaded, &density, &options)
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

/// Prints a model error's diagnostics (stderr) and turns it into a failure.
fn report(error: rlc_driver::Error, color: bool) -> Failure {
    if let Some(report) = error.model_report() {
        if !report.diagnostics.is_empty() {
            eprint!("{}", report.render(color));
        }
    }
    error.into()
}

/// Checks a model file, printing its diagnostics.
fn check_file(path: &Path, color: bool) -> Result<(String, rlc_check::Model), Failure> {
    let source = read_model(path)?;
    let checked =
        rlc_driver::compile::check(&source, &display_name(path)).map_err(|e| report(e, color))?;
    if !checked.warnings.is_empty() {
        eprint!(
            "{}",
            rlc_syntax::render(&checked.warnings, &display_name(path), &source, color)
        );
    }
    Ok((source, checked.model))
}

/// Compiles a model file, printing its diagnostics.
fn compile_file(path: &Path, color: bool) -> Result<Compiled, Failure> {
    let source = read_model(path)?;
    let compiled =
        rlc_driver::compile(&source, &display_name(path)).map_err(|e| report(e, color))?;
    eprint!("{}", compiled.render_warnings(color));
    Ok(compiled)
}

/// Reads and validates a data file for a compiled model, printing the loader's notes.
fn load_data(compiled: &Compiled, path: &Path, delimiter: Option<u8>) -> Result<Data, Failure> {
    let bytes = std::fs::read(path).map_err(|e| {
        Failure::usage(format!(
            "error: cannot read the data file {}: {e}",
            path.display()
        ))
    })?;
    let data = rlc_driver::data::load(
        &compiled.model,
        &path.display().to_string(),
        &bytes,
        delimiter,
    )?;
    for note in &data.loaded.notes {
        eprintln!("note: {note}");
    }
    Ok(data)
}

/// Binds a compiled model to its data on a backend, printing the notes.
fn bind(
    compiled: &Compiled,
    data: &Data,
    backend: Backend,
) -> Result<rlc_driver::Density, Failure> {
    let density = rlc_driver::Density::new(compiled, data, backend.into())?;
    for note in &density.notes {
        eprintln!("note: {note}");
    }
    Ok(density)
}

fn summary_command(files: &[PathBuf], max_depth: Option<u32>) -> Result<(), Failure> {
    let mut chains = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut header_depth = None;
    for path in files {
        let text = std::fs::read_to_string(path)
            .map_err(|e| Failure::usage(format!("error: cannot read {}: {e}", path.display())))?;
        let chain = output::read_chain(&text).map_err(|e| {
            Failure::new(
                ExitCode::DataError,
                format!("error: {}: {e}", path.display()),
            )
        })?;
        match &columns {
            None => columns = Some(chain.columns.clone()),
            Some(c) if *c != chain.columns => {
                return Err(Failure::new(
                    ExitCode::DataError,
                    format!(
                        "error: {} has different columns from {}",
                        path.display(),
                        files[0].display()
                    ),
                ))
            }
            Some(_) => {}
        }
        header_depth = header_depth.or(chain.max_depth);
        let n = chain.columns.len();
        let by_column: Vec<Vec<f64>> = (0..n)
            .map(|k| chain.rows.iter().map(|r| r[k]).collect())
            .collect();
        chains.push(by_column);
    }
    let draws = summary::RunDraws {
        columns: columns.unwrap_or_default(),
        chains,
        sampling_seconds: None,
    };
    println!("{}", summary::table(&draws));
    let max_depth = max_depth.or(header_depth).unwrap_or(10);
    for w in summary::warnings(&draws, max_depth) {
        println!("warning: {w}");
    }
    Ok(())
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn check(path: &Path, emit: Option<Emit>, color: bool) -> Result<(), Failure> {
    match emit {
        Some(Emit::Ast) => {
            let source = read_model(path)?;
            println!("{:#?}", rlc_syntax::parse(&source).program);
            check_file(path, color)?;
        }
        Some(Emit::Shapes) => {
            let (source, model) = check_file(path, color)?;
            print!("{}", rlc_check::shapes_report(&model, &source));
        }
        Some(Emit::Ir) => {
            let compiled = compile_file(path, color)?;
            println!(
                "{}",
                rlc_ir::print::print_function(&compiled.ir.log_density)
            );
            println!("{}", rlc_ir::print::print_function(&compiled.ir.generated));
        }
        Some(Emit::GradIr) => {
            let compiled = compile_file(path, color)?;
            println!("{}", rlc_ir::print::print_function(&compiled.gradient));
        }
        None => {
            check_file(path, color)?;
        }
    }
    Ok(())
}
