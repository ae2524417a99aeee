//! `rlc`, the command-line program: a thin front end over the driver
//! library (`rlc-driver`). It parses flags, reads and writes files, renders
//! diagnostics, draws progress bars, prints tables and chooses exit codes;
//! the compiling, loading and sampling are the driver's. Its tests
//! (`tests/cli.rs` and the others in `tests/`) run the built binary.

#![deny(clippy::print_stdout, clippy::print_stderr)]

#[macro_use]
mod console;
mod bench;
mod exit;
mod lock;
mod logp;
mod loo;
mod output;
mod recover;
mod run;
mod signals;
mod simulate;
mod zarr;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand, ValueEnum};
use exit::{ExitCode, Failure};
use rlc_driver::density::GivenValues;
use rlc_driver::{summary, Compiled, Data};
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

const EXIT_CODES_HELP: &str = "\
Exit codes (docs/cli.md has every failure and its message):
  0  success
  1  model error: the .rlm file does not compile (diagnostics on stderr)
  2  usage error: bad command-line arguments, or a file that cannot be read
  3  data error: the data file does not fit the model's declarations, or
     needs more memory than --max-memory
  4  sampling failure: no chain could start or finish, or draws whose
     outputs (predictions, `out` values) could not be computed
 70  internal error: a bug in rlc (please report it)
 74  output error: a file or the terminal could not be written (full disk)
 75  the output folder is in use by another run (its .rlc.lock)
130  interrupted (Ctrl-C), 143 terminated (SIGTERM), 129 hung up (SIGHUP):
     the output files hold the draws made so far, each row whole";

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
    /// The most memory the model's arrays and a run's draws may need, in
    /// bytes or with a unit: 500M, 8G, 1.5T (powers of 1000) [default: the
    /// memory available when rlc starts]. A model or run that would need
    /// more is refused before anything is allocated.
    #[arg(long, global = true, value_parser = parse_bytes)]
    max_memory: Option<u64>,
}

/// `8G`, `500M`, `1.5T`, `123456`: a number of bytes.
fn parse_bytes(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], t[i..].to_ascii_uppercase()),
        None => (t, String::new()),
    };
    let scale: f64 = match unit.trim_end_matches('B') {
        "" => 1.0,
        "K" => 1e3,
        "M" => 1e6,
        "G" => 1e9,
        "T" => 1e12,
        _ => return Err(format!("unknown unit `{unit}`: use K, M, G or T (e.g. 8G)")),
    };
    let x: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not an amount of memory (e.g. 8G, 500M)"))?;
    let bytes = x * scale;
    if !(bytes.is_finite() && bytes >= 1.0 && bytes < u64::MAX as f64) {
        return Err(format!(
            "`{text}` is not an amount of memory (e.g. 8G, 500M)"
        ));
    }
    Ok(bytes as u64)
}

/// The largest model file read: far beyond any model, so that a wrong path
/// (`/dev/zero`) ends in an error, not in memory exhaustion.
const MAX_MODEL_BYTES: u64 = 64 << 20;
/// The largest data file read (CSV of 10^7 trials is a few hundred MB).
pub(crate) const MAX_DATA_BYTES: u64 = 4 << 30;

/// The largest data file read: `MAX_DATA_BYTES`, or less under a smaller
/// `--max-memory`.
pub(crate) fn data_limit() -> u64 {
    MAX_DATA_BYTES.min(rlc_driver::memory::limit().0)
}

/// Reads a CSV file of draws (UTF-8, at most `MAX_DATA_BYTES`).
pub(crate) fn read_text(path: &Path) -> Result<String, Failure> {
    let bytes = read_limited(path, data_limit(), "file")?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::usage(format!(
            "error: cannot read {}: not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Where `path` is a Zarr store (`rlc run --output-format zarr`) or a folder
/// holding one, what reads it: rlc's `summary`, `loo` and `compare` read
/// CmdStan CSV files. Empty otherwise.
pub(crate) fn zarr_hint(path: &Path) -> String {
    let is_store = |p: &Path| p.is_dir() && p.join("zarr.json").is_file();
    let store = if is_store(path) {
        Some(path.to_path_buf())
    } else {
        std::fs::read_dir(path).ok().and_then(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| is_store(p))
        })
    };
    match store {
        Some(store) => format!(
            " ({} is a Zarr store: `rlc summary`, `loo` and `compare` read the CmdStan CSV files a run writes by default; open the store with xarray, `xr.open_datatree(\"{}\", engine=\"zarr\")`, and give it to ArviZ, e.g. `az.loo`)",
            store.display(),
            store.display()
        ),
        None => String::new(),
    }
}

/// Reads a whole file of at most `limit` bytes.
pub(crate) fn read_limited(path: &Path, limit: u64, what: &str) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let cannot = |e: std::io::Error| {
        Failure::usage(format!(
            "error: cannot read the {what} {}: {e}{}",
            path.display(),
            zarr_hint(path)
        ))
    };
    let mut file = std::fs::File::open(path).map_err(cannot)?;
    // A file that is not text (`/dev/zero`, a workbook) is told from its first
    // bytes: those are all its reader needs to say so, so the rest is not read.
    let mut bytes = Vec::new();
    (&mut file)
        .take(rlc_driver::data::SNIFF_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if rlc_driver::data::not_text(&bytes).is_some() {
        return Ok(bytes);
    }
    file.take((limit + 1).saturating_sub(bytes.len() as u64))
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > limit {
        return Err(Failure::usage(format!(
            "error: the {what} {} is larger than {} (or endless); rlc reads at most that much",
            path.display(),
            rlc_driver::memory::human_bytes(limit as u128)
        )));
    }
    Ok(bytes)
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
        /// The data file: Stan-format JSON, CSV, or tab-separated text (not needed
        /// for a model that declares no data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Constrained parameter values: 'alpha=0.3,beta=2,w=[0.1,0.2]'.
        #[arg(long, conflicts_with = "unconstrained")]
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
        #[command(flatten)]
        set: SetArgs,
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
        /// The data file: Stan-format JSON, CSV, or tab-separated text (not needed
        /// for a model that declares no data).
        #[arg(long)]
        data: Option<PathBuf>,
        /// Print `{"compile_ms": …, "grad_eval_us": …, "interp_grad_eval_us": …}`.
        #[arg(long)]
        json: bool,
        /// Threads the JIT's evaluation uses (a model's loop over independent
        /// subjects split across them).
        #[arg(long, default_value_t = 1)]
        threads: usize,
        /// The CSV delimiter, when not detected from the header line.
        #[arg(long, value_parser = parse_delimiter)]
        delimiter: Option<u8>,
        #[command(flatten)]
        set: SetArgs,
    },
    /// Simulate data sets from the model: each `~` on data draws its left side
    /// (in program order, so later trials see earlier draws), on the trials of a
    /// design file, with given parameter values or values drawn from the priors.
    #[command(after_help = EXIT_CODES_HELP)]
    Simulate(SimulateArgs),
    /// A parameter-recovery and calibration study: simulate data sets from the
    /// priors on a design, fit each (in parallel), and compare the truths with
    /// their posteriors (correlation, interval coverage, SBC ranks).
    #[command(after_help = EXIT_CODES_HELP)]
    Recover(RecoverArgs),
    /// PSIS-LOO of a run's pointwise log-likelihood (`rlc run --log-lik`):
    /// elpd_loo, p_loo, LOOIC and the Pareto k diagnostics.
    #[command(after_help = EXIT_CODES_HELP)]
    Loo {
        /// The run's output folder (or one CSV file).
        dir: PathBuf,
        /// Print `{"elpd_loo", "se_elpd_loo", "p_loo", "looic", "pareto_k": [...]}`.
        #[arg(long)]
        json: bool,
    },
    /// Compare the predictive accuracy (PSIS-LOO) of runs of several models on
    /// the same data, as `loo_compare` / `az.compare` do.
    #[command(after_help = EXIT_CODES_HELP)]
    Compare {
        /// The runs' output folders.
        #[arg(required = true)]
        dirs: Vec<PathBuf>,
        /// Print the table as JSON.
        #[arg(long)]
        json: bool,
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
        /// How to name array elements: CmdStan's `A.1` or the model's `A[0]`
        /// (with subject ids when rlc wrote the files).
        #[arg(long, value_enum, default_value_t = Labels::Cmdstan)]
        labels: Labels,
        /// Show only these variables: 'alpha,beta'.
        #[arg(long, value_delimiter = ',')]
        vars: Vec<String>,
    },
}

#[derive(clap::Args)]
struct RunArgs {
    /// The model file (.rlm).
    model: PathBuf,
    /// The data file: Stan-format JSON, CSV, or tab-separated text (not needed
    /// for a model that declares no data: its prior, say).
    #[arg(long)]
    data: Option<PathBuf>,
    /// Number of chains, run in parallel.
    #[arg(long, default_value_t = 4)]
    chains: usize,
    /// Warmup iterations per chain [default: 1000 with `--adaptation stan`,
    /// 400 with `--adaptation fisher` or `fisher-lowrank`].
    #[arg(long)]
    warmup: Option<usize>,
    /// How warmup adapts the step size and the mass matrix: nutpie's
    /// gradient-based diagonal metric, the same with its low-rank correction,
    /// or Stan's windowed adaptation (`--adaptation stan --warmup 1000` is
    /// CmdStan's warmup) [default: fisher].
    #[arg(long, value_enum)]
    adaptation: Option<AdaptationArg>,
    /// Draws per chain after warmup.
    #[arg(long, default_value_t = 1000)]
    draws: usize,
    /// Keep every N-th draw (the first, then every N-th after it): --draws 1000
    /// --thin 10 writes 100 draws per chain (CmdStan's thin, hBayesDM's nthin).
    #[arg(long, default_value_t = 1)]
    thin: usize,
    /// Random seed (default: from the clock; printed so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Where the CSV files (one per chain) or the Zarr store are written.
    #[arg(long, default_value = "output")]
    output_dir: PathBuf,
    /// `csv`: one CmdStan CSV per chain, streamed as the draws are made;
    /// `zarr`: one Zarr store, `<model>.zarr`, holding the run as an ArviZ
    /// DataTree (posterior, sample_stats, observed_data, constant_data), written at the end.
    #[arg(long, value_enum, default_value_t = OutputFormat::Csv)]
    output_format: OutputFormat,
    /// Maximum NUTS tree depth.
    #[arg(long, default_value_t = 10)]
    max_depth: u32,
    /// Target acceptance rate of step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    adapt_delta: f64,
    #[command(flatten)]
    init: InitArgs,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
    /// The evaluation engine.
    #[arg(long, value_enum, default_value_t = Backend::Jit)]
    backend: Backend,
    /// Threads per chain: a model's loop over independent subjects is split
    /// across them (the draws are the same on any number) [default: the
    /// cores left over, cores / chains, at least 1].
    #[arg(long)]
    threads: Option<usize>,
    /// The CSV delimiter, when not detected from the header line.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    #[command(flatten)]
    set: SetArgs,
    /// Colored diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
    /// Also write each observation's log density per draw (columns
    /// `log_lik.i`), per `~` element (`observation`) or summed per subject.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "observation")]
    log_lik: Option<LogLikArg>,
    /// Also write posterior predictive draws of every observed variable
    /// (`{name}_rep`): each trial given the observed history (`one-step`), or
    /// whole simulated sessions (`full`); and print a predictive check.
    #[arg(long, value_enum, num_args = 0..=1, default_missing_value = "one-step")]
    predict: Option<PredictArg>,
    /// Compute PSIS-LOO after the run (implies --log-lik).
    #[arg(long)]
    loo: bool,
    /// Also write the outs written in loops (`out pe[n, t] = …`: trial-by-trial
    /// values such as hBayesDM's model regressors), an element per step, missing
    /// where no step wrote one; the summary leaves them out unless `--vars` names them.
    #[arg(long)]
    loop_outs: bool,
    /// How the summary names array elements: as the CSV files do (CmdStan's
    /// 1-based `A.1`) or as the model does (0-based `A[0]`, subject ids for
    /// axes grouped from the data: `A[S07]`).
    #[arg(long, value_enum, default_value_t = Labels::Cmdstan)]
    labels: Labels,
    /// Show only these variables in the summary: 'alpha,beta'.
    #[arg(long, value_delimiter = ',')]
    vars: Vec<String>,
}

/// The line under a summary table that leaves out the outs written in loops.
pub fn loop_outs_left_out(loop_outs: &[String]) -> String {
    format!(
        "(the outs written in loops, {}, are in the files and not in this table: --vars {} shows them)",
        loop_outs.join(", "),
        loop_outs.first().map_or("", String::as_str)
    )
}

/// How a summary table names array elements.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Labels {
    /// CmdStan's 1-based `name.i.j`, as in the CSV files.
    Cmdstan,
    /// The model's 0-based `name[i, j]`, with subject ids where the data gives them.
    Model,
}

/// Prints the summary table and, for CmdStan names, how they relate to the model's.
pub fn print_table(
    draws: &summary::RunDraws,
    labels: Labels,
    dims: &std::collections::HashMap<String, Vec<String>>,
    coords: &std::collections::HashMap<String, Vec<String>>,
) {
    match labels {
        Labels::Model => {
            let names = summary::model_labels(&draws.columns, dims, coords);
            outln!("{}", summary::table_with_labels(draws, &names));
        }
        Labels::Cmdstan => {
            outln!("{}", summary::table(draws));
            if summary::has_arrays(draws) {
                outln!(
                    "(array elements are named as in the CSV files, from 1: `A.1` is the model's `A[0]`; --labels model shows the model's names{})",
                    if coords.is_empty() { "" } else { " and subject ids" }
                );
            }
        }
    }
}

/// The columns' names as the table shows them (the warnings name them so).
pub fn column_labels(
    draws: &summary::RunDraws,
    labels: Labels,
    dims: &std::collections::HashMap<String, Vec<String>>,
    coords: &std::collections::HashMap<String, Vec<String>>,
) -> Vec<String> {
    match labels {
        Labels::Model => summary::model_labels(&draws.columns, dims, coords),
        Labels::Cmdstan => draws.columns.clone(),
    }
}

/// The warmup's adaptation strategy.
#[derive(Clone, Copy, ValueEnum)]
enum AdaptationArg {
    /// Stan's: the variance of the draws in windows of doubling length
    /// (75 + 25, 50, 100, 200, 500 + 50 iterations in a warmup of 1000).
    Stan,
    /// nutpie's: `sqrt(var(draws) / var(gradients))`, the metric that
    /// minimizes the Fisher divergence, updated after every draw from short
    /// windows that grow.
    Fisher,
    /// `fisher` with nutpie's low-rank correction: the diagonal metric times
    /// a few eigen-directions, estimated from the recent draws and gradients,
    /// along which the posterior is correlated.
    #[value(name = "fisher-lowrank")]
    FisherLowrank,
}

impl From<AdaptationArg> for rlc_driver::sample::WarmupKind {
    fn from(a: AdaptationArg) -> Self {
        match a {
            AdaptationArg::Stan => rlc_driver::sample::WarmupKind::Stan,
            AdaptationArg::Fisher => rlc_driver::sample::WarmupKind::Fisher,
            AdaptationArg::FisherLowrank => rlc_driver::sample::WarmupKind::FisherLowRank,
        }
    }
}

#[derive(Clone, Copy, ValueEnum)]
enum LogLikArg {
    /// One column per `~` element (a trial).
    Observation,
    /// One column per subject (leave-one-subject-out).
    Subject,
}

#[derive(Clone, Copy, ValueEnum)]
enum PredictArg {
    /// Each observation given the observed history.
    OneStep,
    /// Whole simulated sessions.
    Full,
}

/// Where chains start (`rlc run`, and every fit of `rlc recover`).
/// `--set NAME=VALUE`, which every command that reads data takes.
#[derive(clap::Args)]
struct SetArgs {
    /// Give a data variable of constant dimensions, or a size with a default (`size L =
    /// 3`) and the arrays it sizes, or a size taken from the data's values (`size Narm =
    /// max(choice)`), its value apart from the data file, as hBayesDM's function arguments
    /// do: `--set RTbound=0.2`, `--set 'mu0=[0.5, 1]'`, `--set L=4`, `--set Narm=5`
    /// (repeatable; the file's column or key of that name is not read).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
}

#[derive(clap::Args)]
struct InitArgs {
    /// Initial values, as CmdStan's `init`: a number R draws them uniformly from (-R, R) on
    /// the unconstrained scale (0: every chain starts at the origin; default 2); a JSON file
    /// (`{"mu_pr": [0, 0.5], "sigma": 1}`, or a truth file of `rlc simulate`) gives the
    /// parameters it names, on their own scale, to every chain, the others drawn as
    /// --init-radius says
    #[arg(long, value_name = "R|FILE", allow_hyphen_values = true)]
    init: Option<String>,
    /// With --init FILE: the radius the parameters the file does not name are drawn from
    #[arg(long, value_name = "R", allow_hyphen_values = true)]
    init_radius: Option<f64>,
}

#[derive(clap::Args)]
struct RecoverArgs {
    /// The model file (.rlm).
    model: PathBuf,
    /// The design: a data file whose observed columns may be absent.
    #[arg(long)]
    data: PathBuf,
    /// How many data sets to simulate and fit.
    #[arg(long, default_value_t = 100)]
    fits: usize,
    /// Chains per fit.
    #[arg(long, default_value_t = 2)]
    chains: usize,
    /// Warmup iterations per chain.
    #[arg(long, default_value_t = 500)]
    warmup: usize,
    /// How each fit's warmup adapts the step size and the mass matrix, as
    /// `rlc run --adaptation` [default: fisher].
    #[arg(long, value_enum)]
    adaptation: Option<AdaptationArg>,
    /// Draws per chain after warmup.
    #[arg(long, default_value_t = 500)]
    draws: usize,
    /// Maximum NUTS tree depth.
    #[arg(long, default_value_t = 10)]
    max_depth: u32,
    /// Target acceptance rate of step-size adaptation.
    #[arg(long, default_value_t = 0.8)]
    adapt_delta: f64,
    #[command(flatten)]
    init: InitArgs,
    /// Keep every THIN-th draw for the ranks [default: enough for about 100 per fit].
    #[arg(long, default_value_t = 0)]
    thin: usize,
    /// Fits run at once [default: one per core].
    #[arg(long, default_value_t = 0)]
    jobs: usize,
    /// The study's seed (default: from the clock; printed).
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write every fit's truth and summary.
    #[arg(long, default_value = "recover.csv")]
    output: PathBuf,
    /// The CSV delimiter, when not detected from the header line.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    #[command(flatten)]
    set: SetArgs,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
    /// Colored diagnostics.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(clap::Args)]
struct SimulateArgs {
    /// The model file (.rlm).
    model: PathBuf,
    /// The design: a data file whose observed columns (the left sides of `~`)
    /// may be absent; the other columns (rewards, trial structure) are kept.
    #[arg(long)]
    data: PathBuf,
    /// Constrained parameter values: 'alpha=0.3,beta=2,w=[0.1,0.2]'.
    #[arg(long, group = "source")]
    at: Option<String>,
    /// Parameter values from a JSON file (`{"alpha": 0.3}`, or a truth file).
    #[arg(long, group = "source")]
    params: Option<PathBuf>,
    /// Unconstrained coordinates in declaration order: '0.1,1.2'.
    #[arg(long, group = "source", allow_hyphen_values = true)]
    unconstrained: Option<String>,
    /// Draw the parameters from their priors (a new draw for each data set).
    #[arg(long, group = "source")]
    prior: bool,
    /// How many data sets.
    #[arg(long = "n", default_value_t = 1)]
    count: usize,
    /// Random seed (default: from the clock; printed so a run can be repeated).
    #[arg(long)]
    seed: Option<u64>,
    /// Where to write the one data set [default: <model>_sim.<design's extension>].
    #[arg(long, conflicts_with = "output_dir")]
    output: Option<PathBuf>,
    /// Where to write several data sets (`<model>_sim_<k>.<ext>` and their truth files).
    #[arg(long)]
    output_dir: Option<PathBuf>,
    /// The CSV delimiter, when not detected from the header line.
    #[arg(long, value_parser = parse_delimiter)]
    delimiter: Option<u8>,
    #[command(flatten)]
    set: SetArgs,
    /// Also write into each truth file the outs written in loops (`out pe[n, t] = …`:
    /// trial-by-trial values such as hBayesDM's model regressors) at the true
    /// parameters, computed on the simulated data set (`"loop_outs"`; null where no step
    /// wrote a cell).
    #[arg(long)]
    loop_outs: bool,
    /// Print nothing but errors.
    #[arg(long)]
    quiet: bool,
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
/// The command line, with negative numbers read as values: `--chains -1`
/// then meets the option's own range check, not clap's advice to write
/// `-- -1` (which would make it a positional argument).
fn parse_arguments() -> Cli {
    let command = Cli::command().mut_subcommands(|sub| {
        sub.mut_args(|arg| {
            if arg.get_action().takes_values() {
                arg.allow_negative_numbers(true)
            } else {
                arg
            }
        })
    });
    let mut matches = command.get_matches();
    Cli::from_arg_matches_mut(&mut matches).unwrap_or_else(|e| e.exit())
}

fn restore_default_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at the start of `main`, before any thread exists;
    // setting a signal's disposition to its default has no other effect.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// A file-size limit (`ulimit -f`, a batch system's) would kill rlc with
/// SIGXFSZ mid-row, leaving no message and a stale lock; ignored, the write
/// fails with EFBIG instead and the run ends as on a full disk (exit 74).
fn ignore_file_size_signal() {
    #[cfg(unix)]
    // SAFETY: called once at the start of `main`, before any thread exists.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

/// The stack of the thread that runs the command. The front end's passes
/// recurse over the tree, whose depth is bounded (E0005); this leaves room
/// to spare whatever the platform's main-thread stack is. Untouched stack
/// pages cost no memory.
const STACK_BYTES: usize = 256 << 20;

fn main() {
    restore_default_sigpipe();
    ignore_file_size_signal();
    let cli = parse_arguments();
    match (cli.max_memory, rlc_driver::memory::available()) {
        (Some(bytes), _) => rlc_driver::memory::set_limit(bytes, "--max-memory"),
        (None, Some(bytes)) => rlc_driver::memory::set_limit(
            bytes,
            "the memory available when rlc started; --max-memory sets another limit",
        ),
        (None, None) => {}
    }
    let command = move || match run(cli) {
        Ok(()) => ExitCode::Success,
        Err(failure) => {
            errln!("{failure}");
            failure.code
        }
    };
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        default_hook(info);
        errln!("internal error: this is a bug in rlc; please report it with the command and its files (exit code 70)");
    }));
    let code = match std::thread::Builder::new()
        .name("rlc".into())
        .stack_size(STACK_BYTES)
        .spawn(command)
    {
        // A panic is a bug: the hook printed it; the code says so.
        Ok(thread) => thread.join().unwrap_or(ExitCode::InternalError),
        Err(e) => {
            errln!("error: cannot start the command's thread: {e}");
            ExitCode::InternalError
        }
    };
    // A failed write to the terminal (a full disk behind a redirection) is
    // a failure even when the command did its work.
    let code = match console::finish() {
        Some(message) if code == ExitCode::Success => {
            errln!("error: {message}");
            ExitCode::OutputError
        }
        _ => code,
    };
    std::process::exit(code.code());
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
            set,
            color,
        } => {
            let compiled = compile_file(&model, color.enabled())?;
            let loaded = load_data_if_any(&compiled, data.as_deref(), delimiter, &set.set)?;
            let mut density = bind(&compiled, &loaded, backend, 1)?;
            let point = match (at, unconstrained) {
                (Some(at), _) => rlc_driver::point::Point::Constrained(
                    rlc_driver::point::parse_assignments(&at)?,
                ),
                (None, Some(u)) => rlc_driver::point::Point::Unconstrained(
                    rlc_driver::point::parse_coordinates(&u)?,
                ),
                // A model without parameters has one point.
                (None, None) if compiled.model.params.is_empty() => {
                    rlc_driver::point::Point::Unconstrained(Vec::new())
                }
                (None, None) => {
                    return Err(Failure::usage(
                        "error: give the point to evaluate at: --at 'alpha=0.3,beta=2' (parameter values on their own scale) or --unconstrained '0.1,1.2' (the sampler's coordinates, in declaration order)",
                    ))
                }
            };
            logp::run(&mut density, &point, json)
        }
        Command::Run(args) => run_command(args),
        Command::Simulate(args) => simulate_command(args),
        Command::Recover(args) => recover_command(args),
        Command::Loo { dir, json } => loo::loo_command(&dir, json),
        Command::Compare { dirs, json } => loo::compare_command(&dirs, json),
        Command::Bench {
            model,
            data,
            json,
            threads,
            delimiter,
            set,
        } => {
            if threads == 0 {
                return Err(Failure::usage("error: --threads must be at least 1"));
            }
            let compiled = compile_file(&model, false)?;
            let loaded = load_data_if_any(&compiled, data.as_deref(), delimiter, &set.set)?;
            bench::run(&compiled, &loaded, json, threads)
        }
        Command::Summary {
            files,
            max_depth,
            labels,
            vars,
        } => summary_command(&files, max_depth, labels, &vars),
    }
}

/// Parameter values from the JSON text of `path` (`--params`, `--init FILE`).
fn values_from_json(path: &Path, json: &str) -> Result<GivenValues, Failure> {
    rlc_driver::generate::parse_values_json(json)
        .map_err(|e| Failure::usage(format!("{}: {}", path.display(), e.message)))
}

/// `--init R|FILE` and `--init-radius R`: the radius, and the values a file gives.
fn initial_values(args: &InitArgs) -> Result<(f64, GivenValues), Failure> {
    let radius = args
        .init_radius
        .unwrap_or(rlc_driver::sample::SampleSettings::default().init_radius);
    match args.init.as_deref().map(str::trim) {
        None => Ok((radius, HashMap::new())),
        Some(text) => match text.parse::<f64>() {
            Ok(_) if args.init_radius.is_some() => Err(Failure::usage(
                "error: --init-radius goes with --init FILE; with a number, --init is the radius",
            )),
            Ok(r) => Ok((r, HashMap::new())),
            Err(_) => {
                let path = Path::new(text);
                let json = std::fs::read_to_string(path).map_err(|e| {
                    Failure::usage(format!(
                        "error: --init {text}: neither a radius nor a readable file: {e}"
                    ))
                })?;
                Ok((radius, values_from_json(path, &json)?))
            }
        },
    }
}

fn run_command(args: RunArgs) -> Result<(), Failure> {
    let seed = args.seed.unwrap_or_else(clock_seed);
    let (init_radius, init_values) = initial_values(&args.init)?;
    let adaptation = args
        .adaptation
        .map_or(rlc_driver::sample::DEFAULT_ADAPTATION, Into::into);
    let sample = rlc_driver::sample::SampleSettings {
        chains: args.chains,
        adaptation,
        warmup: args
            .warmup
            .unwrap_or_else(|| rlc_driver::sample::default_warmup(adaptation)),
        draws: args.draws,
        thin: args.thin,
        seed,
        max_depth: args.max_depth,
        adapt_delta: args.adapt_delta,
        threads: 0,
        init_radius,
        init: init_values,
    };
    sample.validate()?;
    let compiled = compile_file(&args.model, args.color.enabled())?;
    let compiled = if args.loop_outs {
        compiled.with_loop_outs()?
    } else {
        compiled
    };
    let loaded = load_data_if_any(
        &compiled,
        args.data.as_deref(),
        args.delimiter,
        &args.set.set,
    )?;
    if args.seed.is_none() && !args.quiet {
        errln!("seed: {seed} (pass --seed {seed} to repeat this run)");
    }
    let model_name = args
        .model
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_string());
    use rlc_driver::generate::{DrawExtras, LogLikUnit, PredictKind};
    let log_lik = match (args.log_lik, args.loo) {
        (Some(LogLikArg::Subject), _) => Some(LogLikUnit::Subject),
        (Some(LogLikArg::Observation), _) | (None, true) => Some(LogLikUnit::Observation),
        (None, false) => None,
    };
    let extras = DrawExtras {
        log_lik,
        predict: args.predict.map(|p| match p {
            PredictArg::OneStep => PredictKind::OneStep,
            PredictArg::Full => PredictKind::Full,
        }),
    };
    let options = run::RunOptions {
        extras,
        loo: args.loo,
        sample,
        output_dir: args.output_dir.clone(),
        quiet: args.quiet,
        data_file: args
            .data
            .as_ref()
            .map_or_else(|| NO_DATA.to_string(), |d| d.display().to_string()),
        set: args.set.set.clone(),
        model_name,
        format: match args.output_format {
            OutputFormat::Csv => run::OutputFormat::Csv,
            OutputFormat::Zarr => run::OutputFormat::Zarr,
        },
        labels: args.labels,
        vars: args.vars.clone(),
        init: args
            .init
            .init
            .clone()
            .unwrap_or_else(|| init_radius.to_string()),
    };
    if args.threads == Some(0) {
        return Err(Failure::usage("error: --threads must be at least 1"));
    }
    let inputs = input_files(
        &args.model,
        args.data.as_deref(),
        args.init.init.as_deref(),
        None,
    );
    let outputs: Vec<PathBuf> = match options.format {
        run::OutputFormat::Csv => (0..args.chains)
            .map(|chain| output::chain_path(&args.output_dir, &options.model_name, chain))
            .collect(),
        run::OutputFormat::Zarr => vec![zarr::store_path(&args.output_dir, &options.model_name)],
    };
    for path in &outputs {
        output::refuse_to_replace(path, &inputs)?;
    }
    let threads = rlc_driver::threads_per_chain(args.threads.unwrap_or(0), args.chains);
    let density = bind(&compiled, &loaded, args.backend, threads)?;
    run::run(&compiled, &loaded, &density, &options)
}

/// A command's input files, by what they are, for [`output::refuse_to_replace`]:
/// the model, the data, an `--init` file and a parameter file.
fn input_files<'a>(
    model: &'a Path,
    data: Option<&'a Path>,
    init: Option<&'a str>,
    params: Option<&'a Path>,
) -> Vec<(&'static str, &'a Path)> {
    let mut inputs = vec![("the model file", model)];
    if let Some(data) = data {
        inputs.push(("the data file", data));
    }
    if let Some(file) = init.filter(|text| text.trim().parse::<f64>().is_err()) {
        inputs.push(("the --init file", Path::new(file.trim())));
    }
    if let Some(file) = params {
        inputs.push(("the parameter file", file));
    }
    inputs
}

fn simulate_command(args: SimulateArgs) -> Result<(), Failure> {
    use rlc_driver::generate::ParamValues;
    use rlc_driver::point::{self, Point};
    if args.count == 0 {
        return Err(Failure::usage("error: --n must be at least 1"));
    }
    let compiled = compile_file(&args.model, args.color.enabled())?;
    let params = match (&args.at, &args.params, &args.unconstrained, args.prior) {
        (Some(at), _, _, _) => ParamValues::Point(Point::Constrained(point::parse_assignments(at)?)),
        (_, Some(path), _, _) => {
            let text = std::fs::read_to_string(path).map_err(|e| {
                Failure::usage(format!("error: cannot read {}: {e}", path.display()))
            })?;
            ParamValues::Point(Point::Constrained(values_from_json(path, &text)?))
        }
        (_, _, Some(u), _) => ParamValues::Point(Point::Unconstrained(point::parse_coordinates(u)?)),
        (_, _, _, true) => ParamValues::Prior,
        // A model with no parameters (its data drawn from fixed values) needs none.
        _ if compiled.model.params.is_empty() => ParamValues::Prior,
        _ => {
            return Err(Failure::usage(
                "error: give the parameter values (--at 'alpha=0.3,beta=2', --params FILE.json or --unconstrained '0.1,1.2') or draw them from the priors (--prior)",
            ))
        }
    };
    if args.count > 1 && !matches!(params, ParamValues::Prior) && !args.quiet {
        errln!(
            "note: the {} data sets share the given parameter values",
            args.count
        );
    }
    let seed = args.seed.unwrap_or_else(clock_seed);
    if args.seed.is_none() && !args.quiet {
        errln!("seed: {seed} (pass --seed {seed} to repeat this simulation)");
    }
    simulate::run(
        &compiled,
        &simulate::SimulateOptions {
            design: args.data,
            delimiter: args.delimiter,
            set: setting_values(&args.set.set),
            params,
            count: args.count,
            seed,
            output: args.output,
            output_dir: args.output_dir,
            model_file: args.model,
            params_file: args.params.clone(),
            loop_outs: args.loop_outs,
            quiet: args.quiet,
        },
    )
}

fn recover_command(args: RecoverArgs) -> Result<(), Failure> {
    let compiled = compile_file(&args.model, args.color.enabled())?;
    let seed = args.seed.unwrap_or_else(clock_seed);
    if args.seed.is_none() && !args.quiet {
        errln!("seed: {seed} (pass --seed {seed} to repeat this study)");
    }
    let (init_radius, init) = initial_values(&args.init)?;
    let settings = rlc_driver::recover::RecoverSettings {
        fits: args.fits,
        seed,
        sample: rlc_driver::sample::SampleSettings {
            chains: args.chains,
            warmup: args.warmup,
            adaptation: args
                .adaptation
                .map_or(rlc_driver::sample::DEFAULT_ADAPTATION, Into::into),
            draws: args.draws,
            max_depth: args.max_depth,
            adapt_delta: args.adapt_delta,
            init_radius,
            init,
            ..Default::default()
        },
        jobs: args.jobs,
        thin: args.thin,
    };
    let inputs = input_files(
        &args.model,
        Some(&args.data),
        args.init.init.as_deref(),
        None,
    );
    output::refuse_to_replace(&args.output, &inputs)?;
    recover::run(
        &compiled,
        &args.data,
        args.delimiter,
        &setting_values(&args.set.set),
        &settings,
        &args.output,
        args.quiet,
    )
}

/// A seed from the clock, for runs the user did not give one.
fn clock_seed() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64 % 1_000_000_000)
        .unwrap_or(0)
}

/// Reads a model file, with a readable error for a missing or non-UTF-8 file.
fn read_model(path: &Path) -> Result<String, Failure> {
    let bytes = read_limited(path, MAX_MODEL_BYTES, "model file")?;
    String::from_utf8(bytes).map_err(|e| {
        Failure::usage(format!(
            "error: the model file {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

/// Prints a model error's diagnostics (stderr, in color if asked) and turns
/// it into a failure that carries only the summary line.
fn report(mut error: rlc_driver::Error, color: bool) -> Failure {
    if let Some(report) = error.model_report() {
        if !report.diagnostics.is_empty() {
            err!("{}", report.render(color));
        }
    }
    error.detail = rlc_driver::ErrorDetail::None;
    error.into()
}

/// Checks a model file, printing its diagnostics.
fn check_file(path: &Path, color: bool) -> Result<(String, rlc_check::Model), Failure> {
    let source = read_model(path)?;
    let checked =
        rlc_driver::compile::check(&source, &display_name(path)).map_err(|e| report(e, color))?;
    if !checked.warnings.is_empty() {
        err!(
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
    err!("{}", compiled.render_warnings(color));
    Ok(compiled)
}

/// The `--set NAME=VALUE` values, as the data loader takes them.
fn setting_values(set: &[String]) -> rlc_driver::data::Settings {
    rlc_driver::data::Settings {
        source: "--set".to_string(),
        values: set.to_vec(),
    }
}

/// Reads and validates a data file for a compiled model, with the values
/// `set` apart from it, printing the loader's notes.
fn load_data(
    compiled: &Compiled,
    path: &Path,
    delimiter: Option<u8>,
    set: &[String],
) -> Result<Data, Failure> {
    let bytes = read_limited(path, data_limit(), "data file")?;
    let data = rlc_driver::data::load_design_set(
        &compiled.model,
        &path.display().to_string(),
        &bytes,
        delimiter,
        &[],
        &setting_values(set),
    )?;
    for note in &data.loaded.notes {
        errln!("note: {note}");
    }
    Ok(data)
}

/// What a run without a data file names as its data (in its CSV header).
const NO_DATA: &str = "(no data)";

/// The data file given, or none for a model that declares no data (a prior,
/// a model of its parameters alone) or whose data are all settings or `set`;
/// a model that declares other data needs the file.
fn load_data_if_any(
    compiled: &Compiled,
    path: Option<&Path>,
    delimiter: Option<u8>,
    set: &[String],
) -> Result<Data, Failure> {
    if let Some(path) = path {
        return load_data(compiled, path, delimiter, set);
    }
    let named = |name: &str| {
        set.iter()
            .any(|s| rlc_driver::data::split_setting(s).is_some_and(|(n, _)| n == name))
    };
    // Settings (data with a default) need no file, nor do the values set.
    let (_, sizes) = compiled.declared_data();
    let declared: Vec<String> = compiled
        .model
        .data
        .iter()
        .filter(|d| d.default.is_none())
        .map(|d| compiled.model.symbol(d.symbol).name.as_str())
        .filter(|name| !named(name))
        .map(|name| format!("`{name}`"))
        .chain(sizes.iter().map(|name| format!("the size `{name}`")))
        .collect();
    if !declared.is_empty() {
        return Err(Failure::usage(format!(
            "error: the model declares data ({}): give the file with --data FILE",
            declared.join(", ")
        )));
    }
    Ok(rlc_driver::data::load_design_set(
        &compiled.model,
        NO_DATA,
        b"{}",
        None,
        &[],
        &setting_values(set),
    )?)
}

/// Binds a compiled model to its data on a backend, printing the notes.
fn bind(
    compiled: &Compiled,
    data: &Data,
    backend: Backend,
    threads: usize,
) -> Result<rlc_driver::Density, Failure> {
    let density = rlc_driver::Density::with_threads(compiled, data, backend.into(), threads)?;
    for note in &density.notes {
        errln!("note: {note}");
    }
    Ok(density)
}

fn summary_command(
    files: &[PathBuf],
    max_depth: Option<u32>,
    labels: Labels,
    vars: &[String],
) -> Result<(), Failure> {
    let mut chains = Vec::new();
    let mut columns: Option<Vec<String>> = None;
    let mut header_depth = None;
    let mut header_warmup = None;
    let mut header_adaptation = None;
    let mut dims = std::collections::HashMap::new();
    let mut coords = std::collections::HashMap::new();
    let mut loop_outs: Vec<String> = Vec::new();
    let mut lengths = Vec::new();
    for path in files {
        let text = read_text(path)?;
        // A byte order mark, which a spreadsheet that saved the file may add.
        let text = match text.strip_prefix('\u{feff}') {
            Some(rest) => rest.to_string(),
            None => text,
        };
        // A file whose header names no `lp__` is not draws at all: say that,
        // not which of its cells is not a number.
        let header = text.lines().find(|l| !l.starts_with('#')).unwrap_or("");
        if !header
            .split(',')
            .any(|c| c.trim().trim_matches('"') == "lp__")
        {
            let what = if header.starts_with(rlc_driver::recover::CSV_HEADER.trim_end()) {
                "is the table of `rlc recover` (a row per fit and variable), not a file of draws: read it with pandas or R; `rlc recover` printed its summary"
            } else {
                "is not a file of draws: it has no `lp__` column (rlc summary reads the CSV files `rlc run` or CmdStan write, not data files)"
            };
            return Err(Failure::new(
                ExitCode::DataError,
                format!("error: {} {what}", path.display()),
            ));
        }
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
        for note in &chain.notes {
            errln!("note: {}: {note}", path.display());
        }
        if chain.rows.is_empty() {
            errln!(
                "note: {} holds no draws (its run stopped before sampling) and is left out",
                path.display()
            );
            continue;
        }
        lengths.push((path, chain.rows.len()));
        header_depth = header_depth.or(chain.max_depth);
        header_warmup = header_warmup.or(chain.num_warmup);
        header_adaptation = header_adaptation.or(chain.adaptation.clone());
        if dims.is_empty() {
            dims = chain.dims.clone();
            coords = chain.coords.clone();
        }
        if loop_outs.is_empty() {
            loop_outs = chain.loop_outs.clone();
        }
        let n = chain.columns.len();
        let by_column: Vec<Vec<f64>> = (0..n)
            .map(|k| chain.rows.iter().map(|r| r[k]).collect())
            .collect();
        chains.push(by_column);
    }
    if chains.is_empty() {
        return Err(Failure::new(
            ExitCode::DataError,
            format!(
                "error: no draws: {} (the runs stopped before their first draw)",
                if files.len() == 1 {
                    "the file holds only a header"
                } else {
                    "the files hold only headers"
                }
            ),
        ));
    }
    // The diagnostics compare chains of one length: longer chains are cut
    // to the shortest, and the table says so.
    let shortest = lengths.iter().map(|(_, n)| *n).min().unwrap_or(0);
    if lengths.iter().any(|(_, n)| *n != shortest) {
        let list: Vec<String> = lengths
            .iter()
            .map(|(p, n)| format!("{} has {n}", p.display()))
            .collect();
        errln!(
            "note: the chains have different numbers of draws ({}); the summary uses the first {shortest} draws of each",
            list.join(", ")
        );
        for chain in &mut chains {
            for column in chain.iter_mut() {
                column.truncate(shortest);
            }
        }
    }
    let draws = summary::RunDraws::new(columns.unwrap_or_default(), chains, None);
    // The per-draw extras (pointwise log-likelihood, predictive draws) are
    // not summarized unless asked for by name.
    let shown: Vec<String> = if vars.is_empty() {
        let mut v: Vec<String> = draws
            .columns
            .iter()
            .filter(|c| !c.ends_with("__"))
            .map(|c| c.split('.').next().unwrap_or("").to_string())
            .filter(|v| v != "log_lik" && !v.ends_with("_rep") && !loop_outs.contains(v))
            .collect();
        v.dedup();
        v
    } else {
        vars.to_vec()
    };
    let draws = draws
        .select(&shown)
        .map_err(|e| Failure::usage(format!("error: --vars: {e}")))?;
    print_table(&draws, labels, &dims, &coords);
    if vars.is_empty() && !loop_outs.is_empty() {
        outln!("{}", loop_outs_left_out(&loop_outs));
    }
    let max_depth = max_depth.or(header_depth).unwrap_or(10);
    let names = column_labels(&draws, labels, &dims, &coords);
    for w in summary::warnings_labelled(&draws, max_depth, &names) {
        outln!("warning: {w}");
    }
    let per_chain = draws
        .chains
        .first()
        .map_or(0, |c| c.first().map_or(0, Vec::len));
    // The run's settings, as the files' headers give them (CmdStan's files name no
    // adaptation: theirs is Stan's).
    outln!(
        "{} chains × {} draws{}",
        draws.chains.len(),
        per_chain,
        match (header_warmup, header_adaptation.as_deref()) {
            (Some(w), a) => format!(
                ", after {w} warmup iterations with {} adaptation",
                a.unwrap_or("stan")
            ),
            (None, _) => String::new(),
        }
    );
    Ok(())
}

fn display_name(path: &Path) -> String {
    path.display().to_string()
}

fn check(path: &Path, emit: Option<Emit>, color: bool) -> Result<(), Failure> {
    match emit {
        Some(Emit::Ast) => {
            let source = read_model(path)?;
            outln!("{:#?}", rlc_syntax::parse(&source).program);
            check_file(path, color)?;
        }
        Some(Emit::Shapes) => {
            let (source, model) = check_file(path, color)?;
            out!("{}", rlc_check::shapes_report(&model, &source));
        }
        Some(Emit::Ir) => {
            let compiled = compile_file(path, color)?;
            outln!(
                "{}",
                rlc_ir::print::print_function(&compiled.ir.log_density)
            );
            outln!("{}", rlc_ir::print::print_function(&compiled.ir.generated));
        }
        Some(Emit::GradIr) => {
            let compiled = compile_file(path, color)?;
            outln!("{}", rlc_ir::print::print_function(&compiled.gradient));
        }
        None => {
            check_file(path, color)?;
        }
    }
    Ok(())
}
