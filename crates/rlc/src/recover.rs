//! `rlc recover`: a parameter-recovery and calibration study from one
//! command — data sets simulated from the priors on a design, each fitted,
//! a table per variable on screen and every fit's truth and summary in a CSV.

use crate::exit::{ExitCode, Failure};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use rlc_driver::recover::{self, RecoverSettings};
use rlc_driver::Compiled;
use std::io::Write;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Mutex;

pub fn run(
    compiled: &Compiled,
    design_path: &Path,
    delimiter: Option<u8>,
    set: &rlc_driver::data::Settings,
    settings: &RecoverSettings,
    output: &Path,
    quiet: bool,
) -> Result<(), Failure> {
    let bytes = crate::read_limited(design_path, crate::data_limit(), "design file")?;
    let observed = rlc_driver::generate::observed_variables(compiled)?;
    if !quiet {
        for note in rlc_driver::generate::forward_notes(compiled) {
            errln!("note: {note}");
        }
    }
    let design = rlc_driver::data::load_design_set(
        &compiled.model,
        &design_path.display().to_string(),
        &bytes,
        delimiter,
        &observed,
        set,
    )?;
    let bar = ProgressBar::with_draw_target(
        Some(settings.fits as u64),
        if quiet || !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            ProgressDrawTarget::hidden()
        } else {
            ProgressDrawTarget::stderr()
        },
    );
    bar.set_style(
        ProgressStyle::with_template("fits {bar:30} {pos:>4}/{len} {elapsed}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let stop = crate::signals::install();
    let started = std::time::Instant::now();
    // Each fit's rows are appended to the output as the fit finishes, so a
    // study killed outright (SIGKILL, out of memory, a lost node) keeps the
    // fits it finished; at the end the file is replaced by the whole table,
    // in fit order.
    // The table is created (and locked against a second study writing it)
    // before the first fit, so a path that cannot be written fails at once.
    let _lock = crate::lock::OutputLock::acquire_for_file(output)?;
    let cannot_write = |e: std::io::Error| {
        Failure::new(
            ExitCode::OutputError,
            format!("error: cannot write {}: {e}", output.display()),
        )
    };
    let mut file = std::fs::File::create(output).map_err(cannot_write)?;
    file.write_all(recover::CSV_HEADER.as_bytes())
        .map_err(cannot_write)?;
    let partial = Mutex::new(file);
    let adaptation = settings.sample.adaptation.name();
    let keep = |rows: &[recover::Recovered]| {
        if let Ok(mut f) = partial.lock() {
            // Errors here are reported by the final write.
            let _ = f.write_all(recover::csv_rows(rows, adaptation).as_bytes());
            let _ = f.flush();
        }
    };
    let result = recover::recover(
        compiled,
        &design,
        settings,
        &|done, _| bar.set_position(done as u64),
        &keep,
        stop,
    );
    let result = match result {
        Ok(r) => r,
        Err(e) => {
            // A study that cannot stand (a data set drawn outside its
            // declaration) leaves no table behind.
            let _ = std::fs::remove_file(output);
            return Err(e.into());
        }
    };
    bar.finish_and_clear();
    let whole = output.with_extension("csv.tmp");
    std::fs::write(&whole, result.csv())
        .and_then(|_| std::fs::rename(&whole, output))
        .map_err(|e| {
            let _ = std::fs::remove_file(&whole);
            cannot_write(e)
        })?;
    let fitted = result.fitted;
    outln!(
        "{} of {} simulated data sets fitted{} in {:.1} s ({} chains × {} warmup ({}) + {} draws each, seed {}{}); every fit's truth and summary: {}",
        fitted,
        settings.fits,
        unfitted(settings.fits, &result),
        started.elapsed().as_secs_f64(),
        settings.sample.chains,
        settings.sample.warmup,
        settings.sample.adaptation.name(),
        settings.sample.draws,
        settings.seed,
        initial_values(&settings.sample),
        output.display()
    );
    outln!();
    let width = result
        .variables
        .iter()
        .map(|v| v.variable.len())
        .max()
        .unwrap_or(8)
        .max(8);
    outln!(
        "{}  {:>5}  {:>6}  {:>14}  {:>9}  {:>9}  {:>9}  {:>11}  {:>6}  {:>6}",
        crate::console::pad("variable", width),
        "kind",
        "n",
        "r(truth,mean)",
        "r in fit",
        "50% cov",
        "90% cov",
        "rank chi2 p",
        "z mean",
        "z var"
    );
    let mut flagged = Vec::new();
    for v in &result.variables {
        outln!(
            "{}  {:>5}  {:>6}  {:>14.3}  {:>9}  {:>9.3}  {:>9.3}  {:>11.3}  {:>6.2}  {:>6.2}",
            crate::console::pad(&v.variable, width),
            if v.is_parameter { "param" } else { "out" },
            v.count,
            v.correlation,
            v.within_fits
                .map_or_else(|| "-".to_string(), |r| format!("{r:.3}")),
            v.coverage_50,
            v.coverage_90,
            v.ranks.p_value,
            v.ranks.z_mean,
            v.ranks.z_variance
        );
        if let Some(warning) = v.calibration_warning() {
            flagged.push((v, warning));
        }
    }
    outln!();
    outln!("(n: fits × elements; coverage: share of truths inside the central 50% and 90% posterior intervals; ranks: simulation-based calibration, uniform when the fits are calibrated)");
    for (v, warning) in flagged {
        outln!("warning: {}: {warning}", v.variable);
    }
    if result.fitted < rlc_driver::recover::MIN_FITS_FOR_RANKS {
        outln!(
            "note: {} fitted: the rank tests need at least {} fits to flag miscalibration, so none is flagged",
            result.fitted,
            rlc_driver::recover::MIN_FITS_FOR_RANKS
        );
    }
    if result.divergences > 0 {
        // Rows are in fit order, each fit's together.
        let mut diverged: Vec<usize> = result
            .rows
            .iter()
            .filter(|r| r.divergences > 0)
            .map(|r| r.fit)
            .collect();
        diverged.dedup();
        let named: Vec<String> = diverged.iter().take(10).map(|k| k.to_string()).collect();
        let more = match diverged.len().saturating_sub(10) {
            0 => String::new(),
            n => format!(" and {n} more"),
        };
        outln!(
            "warning: {} divergent transitions in {} of {} fits ({} {}{}: the `divergences` column of {}); calibration may be off where the posteriors are hard to sample",
            result.divergences,
            diverged.len(),
            fitted,
            if diverged.len() == 1 { "fit" } else { "fits" },
            named.join(", "),
            more,
            output.display()
        );
    }
    for (k, e) in result.failures.iter().take(5) {
        errln!("error: fit {k}: {}", e.strip_prefix("error: ").unwrap_or(e));
    }
    if result.failures.len() > 5 {
        errln!(
            "error: … and {} more failed fits",
            result.failures.len() - 5
        );
    }
    if stop.load(Ordering::SeqCst) {
        return Err(Failure::new(
            ExitCode::Interrupted(crate::signals::received().unwrap_or(2)),
            "interrupted: the table and the CSV hold the fits that finished (a fit stopped part-way is left out)",
        ));
    }
    if fitted == 0 {
        return Err(Failure::new(
            ExitCode::SamplingFailure,
            "error: no fit succeeded",
        ));
    }
    Ok(())
}

/// Why fewer than all fits are in the table, when they are not:
/// ` (2 failed; 63 not fitted: interrupted, fit 137 part-way)`.
fn unfitted(fits: usize, result: &rlc_driver::recover::Recovery) -> String {
    let failed = result.failures.len();
    let not_fitted = fits.saturating_sub(result.fitted + failed);
    let mut parts = Vec::new();
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if not_fitted > 0 {
        let part_way = match result.interrupted.as_slice() {
            [] => String::new(),
            [k] => format!(", fit {k} part-way"),
            ks => format!(
                ", fits {} part-way",
                ks.iter()
                    .map(|k| k.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        parts.push(format!("{not_fitted} not fitted: interrupted{part_way}"));
    }
    if parts.is_empty() {
        String::new()
    } else {
        format!(" ({})", parts.join("; "))
    }
}

/// How the fits' chains started, where not from rlc's default radius: `, init 0`,
/// `, init x, y given (others from (-2, 2))`.
fn initial_values(sample: &rlc_driver::sample::SampleSettings) -> String {
    let default_radius = rlc_driver::sample::SampleSettings::default().init_radius;
    if sample.init.is_empty() {
        if sample.init_radius == default_radius {
            return String::new();
        }
        return format!(", init {}", sample.init_radius);
    }
    let mut names: Vec<&str> = sample.init.keys().map(String::as_str).collect();
    names.sort_unstable();
    format!(
        ", init {} given (others from (-{r}, {r}))",
        names.join(", "),
        r = sample.init_radius
    )
}
