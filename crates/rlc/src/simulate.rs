//! `rlc simulate`: data sets drawn from the model on a design file, with
//! given parameter values or values drawn from the priors; each data set is
//! written in the design's own format beside a truth file of the values used.

use crate::exit::Failure;
use rlc_driver::generate::{self, ParamValues};
use rlc_driver::Compiled;
use std::path::{Path, PathBuf};

/// What to simulate and where to write it.
pub struct SimulateOptions {
    pub design: PathBuf,
    pub delimiter: Option<u8>,
    /// `--set NAME=VALUE`: data set apart from the design file.
    pub set: rlc_driver::data::Settings,
    pub params: ParamValues,
    pub count: usize,
    pub seed: u64,
    /// One data set: the file to write.
    pub output: Option<PathBuf>,
    /// Several data sets: the folder to write them into.
    pub output_dir: Option<PathBuf>,
    pub model_file: PathBuf,
    /// `--params FILE`: an input no data set may be written over.
    pub params_file: Option<PathBuf>,
    /// `--loop-outs`: the truth files also hold the outs written in loops.
    pub loop_outs: bool,
    pub quiet: bool,
}

fn write(path: &Path, bytes: &[u8]) -> Result<(), Failure> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| {
            Failure::usage(format!(
                "error: cannot create the folder {}: {e}",
                dir.display()
            ))
        })?;
    }
    std::fs::write(path, bytes).map_err(|e| {
        Failure::new(
            crate::exit::ExitCode::OutputError,
            format!("error: cannot write {}: {e}", path.display()),
        )
    })
}

/// `sim.csv` → `sim.truth.json`.
pub fn truth_path(data_path: &Path) -> PathBuf {
    let stem = data_path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "simulated".to_string());
    data_path.with_file_name(format!("{stem}.truth.json"))
}

pub fn run(compiled: &Compiled, options: &SimulateOptions) -> Result<(), Failure> {
    let bytes = crate::read_limited(&options.design, crate::data_limit(), "design file")?;
    let observed = generate::observed_variables(compiled)?;
    if !options.quiet {
        for note in generate::forward_notes(compiled) {
            errln!("note: {note}");
        }
        if options.loop_outs && compiled.model.loop_outs.is_empty() {
            errln!("note: the model has no outs written in loops: --loop-outs adds nothing to the truth files");
        }
    }
    let design = rlc_driver::data::load_design_set(
        &compiled.model,
        &options.design.display().to_string(),
        &bytes,
        options.delimiter,
        &observed,
        &options.set,
    )?;
    for note in &design.loaded.notes {
        if !options.quiet {
            errln!("note: {note}");
        }
    }
    let extension = options
        .design
        .extension()
        .map(|e| e.to_string_lossy().into_owned())
        .unwrap_or_else(|| "csv".to_string());
    let model_stem = options
        .model_file
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "model".to_string());
    // Each data set's file, named as it is written: `--n` may be far larger
    // than a list of every path should hold.
    let path_of = |k: usize| -> Result<PathBuf, Failure> {
        match (&options.output, &options.output_dir) {
            (Some(path), _) if options.count == 1 => Ok(path.clone()),
            (Some(_), _) => Err(Failure::usage(
                "error: --output names one file; with --n give --output-dir",
            )),
            (None, Some(dir)) => Ok(dir.join(format!("{model_stem}_sim_{}.{extension}", k + 1))),
            (None, None) if options.count == 1 => {
                Ok(PathBuf::from(format!("{model_stem}_sim.{extension}")))
            }
            (None, None) => Err(Failure::usage(
                "error: --n needs --output-dir, the folder to write the data sets into",
            )),
        }
    };
    path_of(0)?;
    // The file must read back as the format its name says (`--output sim.json` of a
    // CSV design is JSON; a JSON design cannot be one table).
    let as_json = match &options.output {
        Some(path) => generate::simulated_as_json(
            &design,
            &bytes,
            options.delimiter,
            &path.display().to_string(),
        )
        .map_err(|e| Failure::usage(format!("error: --output {e}")))?,
        None => false,
    };
    let model_file = options.model_file.display().to_string();
    // Ctrl-C stops between data sets, so that no file is left half-written.
    let stop = crate::signals::install();
    for k in 0..options.count {
        if stop.load(std::sync::atomic::Ordering::SeqCst) {
            return Err(Failure::new(
                crate::exit::ExitCode::Interrupted(crate::signals::received().unwrap_or(2)),
                format!(
                    "interrupted: {k} of {} data sets written, each with its truth file",
                    options.count
                ),
            ));
        }
        let path = &path_of(k)?;
        let inputs = crate::input_files(
            &options.model_file,
            Some(&options.design),
            None,
            options.params_file.as_deref(),
        );
        crate::output::refuse_to_replace(path, &inputs)?;
        crate::output::refuse_to_replace(&truth_path(path), &inputs)?;
        let stream = k as u64;
        let simulated =
            generate::simulate(compiled, &design, &options.params, options.seed, stream)?;
        let file =
            generate::simulated_file(&design, &bytes, options.delimiter, &simulated, as_json)?;
        write(path, &file)?;
        if !as_json
            && generate::design_format(&design, &bytes, options.delimiter)
                != rlc_driver::data::Format::Json
            && !options.quiet
        {
            for note in generate::sizes_a_table_would_lose(compiled, &design, &simulated) {
                errln!(
                    "note: {}: {note}: write it with --output NAME.json",
                    path.display()
                );
            }
        }
        let data_name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let loop_outs = if options.loop_outs {
            generate::loop_outs_at_truth(compiled, &simulated)?
        } else {
            Vec::new()
        };
        let truth = generate::truth_json(
            compiled,
            &simulated,
            &model_file,
            &data_name,
            options.seed,
            stream,
            &loop_outs,
        );
        let truth_file = truth_path(path);
        write(&truth_file, truth.as_bytes())?;
        if !options.quiet {
            outln!(
                "wrote {} ({} simulated) and {}",
                path.display(),
                simulated.observed.join(", "),
                truth_file.display()
            );
        }
    }
    Ok(())
}
