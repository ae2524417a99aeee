//! Draws in CmdStan's CSV format, one file per chain, streamed as they are
//! made: the comment header with the settings, the column names, the
//! adaptation results after warmup, one row per draw, the elapsed times.
//! ArviZ's `from_cmdstan`, cmdstanpy's `from_csv` and R's posterior read it.

use crate::exit::Failure;
use rlc_driver::sample::{times_extended, Adaptation, ExtensionReason};
use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::time::Duration;

pub use rlc_driver::sample::{column_names, Variable as Column, STAT_COLUMNS};

/// What the header records about a run.
pub struct RunSettings {
    pub model_name: String,
    pub data_file: String,
    /// The values set apart from the data file (`--set NAME=VALUE`), as given
    /// (and checked).
    pub set: Vec<String>,
    pub num_warmup: usize,
    /// The iterations after warmup (CmdStan's `num_samples`), of which every
    /// `thin`-th is written.
    pub num_draws: usize,
    pub thin: usize,
    /// The warmup's adaptation strategy.
    pub adaptation: rlc_driver::sample::WarmupKind,
    pub max_depth: u32,
    pub adapt_delta: f64,
    pub seed: u64,
    /// CmdStan's `init`: the radius initial values are drawn from, or the file that gave
    /// them (CmdStan writes either).
    pub init: String,
    /// `--log-lik`'s unit, if pointwise log-likelihood columns are written.
    pub log_lik: Option<&'static str>,
    /// Which data cells make the `log_lik` columns (`LogLikCells::header`).
    pub log_lik_cells: Option<String>,
    /// `--predict`'s kind, if predictive draws are written.
    pub predict: Option<&'static str>,
    /// Each array variable's axis names (`A` → `N`), and the labels of the
    /// axes grouped from the data (`N` → subject ids): written as comments
    /// so `rlc summary --labels model` can name `A[S07]`.
    pub dims: Vec<(String, Vec<String>)>,
    pub coords: Vec<(String, Vec<String>)>,
    /// The outs written in loops the files hold (`--loop-outs`), which `rlc
    /// summary` leaves out unless asked for.
    pub loop_outs: Vec<String>,
}

/// The gradient-based warmup's schedule, as every run uses it.
fn rlc_nuts_fisher_defaults() -> rlc_driver::sample::FisherWarmupSettings {
    rlc_driver::sample::FisherWarmupSettings::default()
}

/// A JSON string.
fn json_string(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A chain's CSV file, written as the chain runs. Each piece (the header,
/// the adaptation block, a row) is written with one `write_all` of the
/// unbuffered file, so a process killed at any instant (even by SIGKILL)
/// leaves whole rows and at most one partial last line, which
/// `read_chain` skips with a note.
pub struct ChainWriter {
    file: File,
    path: std::path::PathBuf,
    order: Vec<usize>,
    /// Draws written whole.
    pub rows: usize,
    /// Bytes written whole: where a piece that failed part-way is cut back
    /// to, so the file never ends in a partial row.
    length: u64,
    /// The row being written, reused so a draw allocates nothing.
    line: String,
}

/// The shortest text that reads back as exactly `x` (so draws round-trip).
fn number(x: f64) -> String {
    let mut text = String::new();
    push_number(&mut text, x);
    text
}

/// [`number`], appended to `out`.
fn push_number(out: &mut String, x: f64) {
    if x.is_nan() {
        out.push_str("nan");
    } else if x.is_infinite() {
        out.push_str(if x > 0.0 { "inf" } else { "-inf" });
    } else {
        out.push_str(ryu::Buffer::new().format_finite(x));
    }
}

/// The CSV file of chain `chain` (from 0) of a run of `model` in `dir`:
/// `MODEL_1.csv`, `MODEL_2.csv`, … as CmdStan names them.
pub fn chain_path(dir: &Path, model: &str, chain: usize) -> std::path::PathBuf {
    dir.join(format!("{model}_{}.csv", chain + 1))
}

impl ChainWriter {
    pub fn create(
        dir: &Path,
        chain: usize,
        settings: &RunSettings,
        columns: &[Column],
    ) -> std::io::Result<ChainWriter> {
        let path = chain_path(dir, &settings.model_name, chain);
        let mut file = File::create(&path)?;
        let mut out: Vec<u8> = Vec::new();
        let (names, order) = column_names(columns);
        let s = settings;
        writeln!(out, "# stan_version_major = 2")?;
        writeln!(out, "# stan_version_minor = 36")?;
        writeln!(out, "# stan_version_patch = 0")?;
        writeln!(out, "# model = {}_model", s.model_name)?;
        writeln!(out, "# written by = rlc {}", env!("CARGO_PKG_VERSION"))?;
        writeln!(out, "# method = sample (Default)")?;
        writeln!(out, "#   sample")?;
        writeln!(out, "#     num_samples = {}", s.num_draws)?;
        writeln!(out, "#     num_warmup = {}", s.num_warmup)?;
        writeln!(out, "#     save_warmup = false (Default)")?;
        if s.thin == 1 {
            writeln!(out, "#     thin = 1 (Default)")?;
        } else {
            writeln!(out, "#     thin = {}", s.thin)?;
        }
        writeln!(out, "#     adapt")?;
        writeln!(out, "#       engaged = true (Default)")?;
        // rlc's own line: which warmup ran (readers skip keys they do not know).
        writeln!(out, "#       adaptation = {}", s.adaptation.name())?;
        writeln!(out, "#       gamma = 0.05 (Default)")?;
        writeln!(out, "#       delta = {}", s.adapt_delta)?;
        writeln!(out, "#       kappa = 0.75 (Default)")?;
        writeln!(out, "#       t0 = 10 (Default)")?;
        match s.adaptation {
            rlc_driver::sample::WarmupKind::Stan => {
                writeln!(out, "#       init_buffer = 75 (Default)")?;
                writeln!(out, "#       term_buffer = 50 (Default)")?;
                writeln!(out, "#       window = 25 (Default)")?;
            }
            rlc_driver::sample::WarmupKind::Fisher
            | rlc_driver::sample::WarmupKind::FisherLowRank => {
                // The gradient-based schedule's shares and windows (rlc's own keys).
                let f = rlc_nuts_fisher_defaults();
                writeln!(out, "#       initial_fraction = {}", f.initial_fraction)?;
                writeln!(out, "#       early_fraction = {}", f.early_fraction)?;
                writeln!(out, "#       final_fraction = {}", f.final_fraction)?;
                writeln!(out, "#       early_window = {}", f.early_window)?;
                writeln!(out, "#       window = {}", f.window)?;
                writeln!(out, "#       window_growth = {}", f.window_growth)?;
            }
        }
        writeln!(out, "#       save_metric = false (Default)")?;
        writeln!(out, "#     algorithm = hmc (Default)")?;
        writeln!(out, "#       hmc")?;
        writeln!(out, "#         engine = nuts (Default)")?;
        writeln!(out, "#           nuts")?;
        writeln!(out, "#             max_depth = {}", s.max_depth)?;
        writeln!(out, "#         metric = diag_e (Default)")?;
        writeln!(out, "#         metric_file =  (Default)")?;
        writeln!(out, "#         stepsize = 1 (Default)")?;
        writeln!(out, "#         stepsize_jitter = 0 (Default)")?;
        writeln!(out, "#     num_chains = 1 (Default)")?;
        writeln!(out, "# id = {}", chain + 1)?;
        writeln!(out, "# data")?;
        writeln!(out, "#   file = {}", s.data_file)?;
        // One `=` a line, as CmdStan's readers split these lines: `#   set RTbound = 0.2`.
        for setting in &s.set {
            if let Some((name, value)) = rlc_driver::data::split_setting(setting) {
                writeln!(out, "#   set {name} = {value}")?;
            }
        }
        writeln!(out, "# init = {}", s.init)?;
        writeln!(out, "# random")?;
        writeln!(out, "#   seed = {}", s.seed)?;
        writeln!(out, "# output")?;
        writeln!(out, "#   file = {}", path.display())?;
        writeln!(out, "#   diagnostic_file =  (Default)")?;
        writeln!(out, "#   refresh = 100 (Default)")?;
        writeln!(out, "#   sig_figs = -1 (Default)")?;
        writeln!(out, "#   profile_file = profile.csv (Default)")?;
        writeln!(out, "#   save_cmdstan_config = false (Default)")?;
        writeln!(out, "# num_threads = 1 (Default)")?;
        writeln!(out, "# stanc_version = rlc {}", env!("CARGO_PKG_VERSION"))?;
        if let Some(unit) = s.log_lik {
            writeln!(out, "# log_lik = {unit}")?;
        }
        if let Some(cells) = &s.log_lik_cells {
            writeln!(out, "# log_lik_cells = {cells}")?;
        }
        if let Some(kind) = s.predict {
            writeln!(out, "# predict = {kind}")?;
        }
        if !s.loop_outs.is_empty() {
            writeln!(out, "# loop_outs = {}", s.loop_outs.join(","))?;
        }
        for (name, dims) in &s.dims {
            writeln!(out, "# dims {name} = {}", dims.join(","))?;
        }
        for (dim, labels) in &s.coords {
            let items: Vec<String> = labels.iter().map(|l| json_string(l)).collect();
            writeln!(out, "# coords {dim} = [{}]", items.join(", "))?;
        }
        writeln!(out, "# stancflags = ")?;
        let mut header: Vec<String> = STAT_COLUMNS.iter().map(|s| s.to_string()).collect();
        header.extend(names);
        writeln!(out, "{}", header.join(","))?;
        file.write_all(&out)?;
        Ok(ChainWriter {
            file,
            path,
            order,
            rows: 0,
            length: out.len() as u64,
            line: String::new(),
        })
    }

    /// Writes one piece whole, or (on a full disk or a file-size limit, where
    /// a write may stop part-way) cuts the file back to the last whole piece.
    fn write_whole(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        match self.file.write_all(bytes) {
            Ok(()) => {
                self.length += bytes.len() as u64;
                Ok(())
            }
            Err(e) => {
                // Best effort: shrinking a file needs no space.
                let _ = self.file.set_len(self.length);
                let _ = std::io::Seek::seek(&mut self.file, std::io::SeekFrom::Start(self.length));
                Err(e)
            }
        }
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The adaptation results, written when warmup ends. The times warmup ran beyond
    /// the planned iterations, and why, and a target acceptance rate warmup raised are
    /// rlc's own comment lines, written only when there were any.
    pub fn adaptation(&mut self, adaptation: &Adaptation) -> std::io::Result<()> {
        let mut out: Vec<u8> = Vec::new();
        writeln!(out, "# Adaptation terminated")?;
        for extension in &adaptation.extensions {
            let why = match extension.reason {
                ExtensionReason::Stuck => {
                    "20 transitions in a row early in warmup stayed put or diverged; the chain started again from a new initial point"
                }
                ExtensionReason::CouldNotMove => {
                    "the chain could not move at the step size warmup first ended with"
                }
                ExtensionReason::Diverged => {
                    "more than a tenth of the transitions at the end of warmup diverged; the step size was adapted again at a higher target acceptance rate"
                }
                ExtensionReason::MovedAfterMetric => {
                    "the chain moved to a region of another log density after its metric was set; the metric was adapted again there"
                }
                ExtensionReason::KeptDiverging => {
                    "more than a tenth of the transitions at the end of warmup still diverged after two raises of the target acceptance rate; warmup started again from a new initial point"
                }
                ExtensionReason::AtMaxDepth => {
                    "more than half of the transitions at the end of warmup reached the maximum tree depth; the metric was adapted again from where the chain stood"
                }
            };
            writeln!(
                out,
                "# Warmup extended by {} iterations: {why}",
                extension.iterations
            )?;
        }
        if times_extended(&adaptation.extensions, ExtensionReason::Diverged) > 0
            && times_extended(&adaptation.extensions, ExtensionReason::KeptDiverging) == 0
        {
            writeln!(
                out,
                "# Target acceptance rate raised to {}",
                number(adaptation.target_accept)
            )?;
        }
        writeln!(out, "# Step size = {}", number(adaptation.step_size))?;
        writeln!(out, "# Diagonal elements of inverse mass matrix:")?;
        let m: Vec<String> = adaptation
            .inv_mass_matrix
            .iter()
            .map(|x| number(*x))
            .collect();
        writeln!(out, "# {}", m.join(", "))?;
        self.write_whole(&out)
    }

    /// The low-rank correction of the metric (`--adaptation fisher-lowrank`),
    /// after the adaptation block; nothing when there is none. rlc's own
    /// comment lines: the metric is `S (I + U (Λ - I) U') S` with `S^2` the
    /// diagonal above, `Λ` the eigenvalues and `U` the directions.
    pub fn low_rank(&mut self, values: &[f64], vectors: &[Vec<f64>]) -> std::io::Result<()> {
        if values.is_empty() {
            return Ok(());
        }
        let mut out: Vec<u8> = Vec::new();
        writeln!(
            out,
            "# Low-rank correction: {} directions, in the coordinates scaled by the square roots of the diagonal",
            values.len()
        )?;
        let v: Vec<String> = values.iter().map(|x| number(*x)).collect();
        writeln!(out, "# Eigenvalues: {}", v.join(", "))?;
        for (k, u) in vectors.iter().enumerate() {
            let u: Vec<String> = u.iter().map(|x| number(*x)).collect();
            writeln!(out, "# Direction {}: {}", k + 1, u.join(", "))?;
        }
        self.write_whole(&out)
    }

    /// One draw: the sampler statistics, then the values (row-major per array).
    pub fn draw(&mut self, stats: &[f64; 7], values: &[f64]) -> std::io::Result<()> {
        let line = &mut self.line;
        line.clear();
        for (i, s) in stats.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            // treedepth__, n_leapfrog__ and divergent__ are integers.
            if (3..=5).contains(&i) {
                let _ = std::fmt::Write::write_fmt(line, format_args!("{}", *s as i64));
            } else {
                push_number(line, *s);
            }
        }
        for &k in &self.order {
            line.push(',');
            push_number(line, values.get(k).copied().unwrap_or(f64::NAN));
        }
        line.push('\n');
        // One write per row, straight to the file: an interrupted run's
        // file is complete to its last draw.
        let line = std::mem::take(&mut self.line);
        let written = self.write_whole(line.as_bytes());
        self.line = line;
        written?;
        self.rows += 1;
        Ok(())
    }

    pub fn finish(
        &mut self,
        warmup: Duration,
        sampling: Duration,
        interrupted: bool,
    ) -> std::io::Result<()> {
        let mut out: Vec<u8> = Vec::new();
        writeln!(out, "# ")?;
        if interrupted {
            writeln!(
                out,
                "# Interrupted: the chain was stopped before all draws were made."
            )?;
        }
        writeln!(
            out,
            "#  Elapsed Time: {:.3} seconds (Warm-up)",
            warmup.as_secs_f64()
        )?;
        writeln!(
            out,
            "#                {:.3} seconds (Sampling)",
            sampling.as_secs_f64()
        )?;
        writeln!(
            out,
            "#                {:.3} seconds (Total)",
            (warmup + sampling).as_secs_f64()
        )?;
        writeln!(out, "# ")?;
        self.write_whole(&out)?;
        // The data must reach the disk for the run to be a success (a
        // full disk may only show here, on NFS for one).
        self.file.sync_all()
    }
}

/// Draws read back from CmdStan-format CSV files (rlc's or CmdStan's).
#[derive(Debug, Clone, PartialEq)]
pub struct ChainDraws {
    pub columns: Vec<String>,
    /// One row per draw.
    pub rows: Vec<Vec<f64>>,
    /// The run's maximum tree depth, from the header comments
    /// (`max_depth = 10`, as rlc and CmdStan write it), if given.
    pub max_depth: Option<u32>,
    /// The run's warmup length and adaptation (`num_warmup`, and rlc's
    /// `adaptation`: CmdStan's files have none, and ran Stan's), if given.
    pub num_warmup: Option<usize>,
    pub adaptation: Option<String>,
    /// The `# dims` and `# coords` comments rlc writes (empty for CmdStan's files).
    pub dims: std::collections::HashMap<String, Vec<String>>,
    pub coords: std::collections::HashMap<String, Vec<String>>,
    /// The outs written in loops (`# loop_outs = pe,ev_c`).
    pub loop_outs: Vec<String>,
    /// What was skipped: a partial last line (a run killed while writing).
    pub notes: Vec<String>,
}

/// The value of a header comment `# key = value …` (CmdStan may follow the
/// value with `(Default)`).
fn header_value<'t>(line: &'t str, key: &str) -> Option<&'t str> {
    let (k, v) = line.trim_start_matches('#').split_once('=')?;
    (k.trim() == key)
        .then(|| v.split_whitespace().next())
        .flatten()
}

/// A header whose columns cannot be told apart is refused: an empty name,
/// a name given twice (two columns would be summarized under one name), an
/// element index that is not 1-based (`x.0`, as CmdStan counts from 1).
fn check_header(names: &[String]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    for (k, name) in names.iter().enumerate() {
        if name.is_empty() {
            return Err(format!("column {} of the header has no name", k + 1));
        }
        if !seen.insert(name.as_str()) {
            return Err(format!("column `{name}` appears twice in the header"));
        }
        if name
            .split('.')
            .skip(1)
            .any(|part| part.parse::<i64>().is_ok_and(|i| i < 1))
        {
            return Err(format!(
                "column `{name}`: element indices count from 1, as CmdStan's do"
            ));
        }
    }
    Ok(())
}

/// Parses one CmdStan CSV: comment lines are skipped, the first other line
/// is the header, the rest are draws.
pub fn read_chain(text: &str) -> Result<ChainDraws, String> {
    let mut columns: Option<Vec<String>> = None;
    let mut rows = Vec::new();
    let mut max_depth = None;
    let mut num_warmup = None;
    let mut adaptation = None;
    let mut dims = std::collections::HashMap::new();
    let mut coords = std::collections::HashMap::new();
    let mut loop_outs = Vec::new();
    let mut notes = Vec::new();
    let line_count = text.lines().count();
    // A last line without its newline was cut short by a killed run (rows
    // are written whole, newline included).
    let cut_short = !text.is_empty() && !text.ends_with('\n');
    for (line_no, line) in text.lines().enumerate() {
        let partial = cut_short && line_no + 1 == line_count;
        let line = line.trim();
        if let Some((name, value)) = line
            .strip_prefix("# dims ")
            .and_then(|r| r.split_once(" = "))
        {
            dims.insert(
                name.trim().to_string(),
                value.split(',').map(|d| d.trim().to_string()).collect(),
            );
            continue;
        }
        if let Some((dim, value)) = line
            .strip_prefix("# coords ")
            .and_then(|r| r.split_once(" = "))
        {
            if let Ok(labels) = serde_json::from_str::<Vec<String>>(value) {
                coords.insert(dim.trim().to_string(), labels);
            }
            continue;
        }
        if line.starts_with('#') {
            if let Some(depth) = header_value(line, "max_depth").and_then(|v| v.parse().ok()) {
                max_depth = Some(depth);
            }
            if let Some(n) = header_value(line, "num_warmup").and_then(|v| v.parse().ok()) {
                num_warmup = Some(n);
            }
            if let Some(a) = header_value(line, "adaptation") {
                adaptation = Some(a.to_string());
            }
            if let Some(names) = header_value(line, "loop_outs") {
                loop_outs = names.split(',').map(str::to_string).collect();
            }
            continue;
        }
        if line.is_empty() {
            continue;
        }
        match &columns {
            None => {
                let names: Vec<String> = line.split(',').map(|s| s.trim().to_string()).collect();
                check_header(&names).map_err(|e| format!("line {}: {e}", line_no + 1))?;
                columns = Some(names);
            }
            Some(cols) => {
                let row: Result<Vec<f64>, String> = line
                    .split(',')
                    .map(|s| {
                        let s = s.trim();
                        match s {
                            "nan" | "NaN" => Ok(f64::NAN),
                            "inf" => Ok(f64::INFINITY),
                            "-inf" => Ok(f64::NEG_INFINITY),
                            _ => s.parse::<f64>().map_err(|_| {
                                format!("line {}: `{s}` is not a number", line_no + 1)
                            }),
                        }
                    })
                    .collect();
                // Even a partial row that parses may have lost digits.
                if partial {
                    notes.push(format!(
                        "line {} is a partial row (the run was stopped while writing it) and was skipped",
                        line_no + 1
                    ));
                    continue;
                }
                let row = row?;
                if row.len() != cols.len() {
                    return Err(format!(
                        "line {}: {} values for {} columns",
                        line_no + 1,
                        row.len(),
                        cols.len()
                    ));
                }
                rows.push(row);
            }
        }
    }
    let columns = columns.ok_or_else(|| "no header line".to_string())?;
    Ok(ChainDraws {
        columns,
        rows,
        max_depth,
        num_warmup,
        adaptation,
        dims,
        coords,
        loop_outs,
        notes,
    })
}

/// Refuses to write `output` where it would replace one of the command's own
/// inputs (`inputs`: what each is, and its path): a data file given as
/// `--output`, or a data file in `--output-dir` under a chain file's name.
/// A path that does not exist yet replaces nothing.
pub fn refuse_to_replace(output: &Path, inputs: &[(&str, &Path)]) -> Result<(), Failure> {
    let Ok(written) = output.canonicalize() else {
        return Ok(());
    };
    match inputs
        .iter()
        .find(|(_, input)| input.canonicalize().is_ok_and(|read| read == written))
    {
        Some((what, _)) => Err(Failure::usage(format!(
            "error: {} is {what}: writing there would replace it; choose another output name",
            output.display()
        ))),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rlc_driver::sample::WarmupExtension;

    #[test]
    fn headers_whose_columns_cannot_be_told_apart_are_refused() {
        for (header, expected) in [
            ("lp__,x,x", "line 2: column `x` appears twice"),
            ("lp__,x.0,x.1", "column `x.0`: element indices count from 1"),
            ("lp__,,x", "column 2 of the header has no name"),
        ] {
            let text = format!("# model = m\n{header}\n1,2,3\n");
            let error = read_chain(&text).expect_err(header);
            assert!(error.contains(expected), "{header}: {error}");
        }
        let fine = read_chain("lp__,z.1.real,z.1.imag,x.10\n1,2,3,4\n").expect("valid");
        assert_eq!(fine.columns.len(), 4);
    }

    #[test]
    fn max_depth_is_read_from_rlc_and_cmdstan_headers() {
        let body = "lp__,x\n1,2\n";
        for (header, depth) in [
            ("#             max_depth = 7\n", Some(7)),
            ("#       max_depth = 12 (Default)\n", Some(12)),
            ("# max_depth_other = 3\n", None),
            ("", None),
        ] {
            let chain = read_chain(&format!("{header}{body}")).expect("parses");
            assert_eq!(chain.max_depth, depth, "{header}");
        }
    }

    fn settings() -> RunSettings {
        RunSettings {
            model_name: "m".into(),
            data_file: "d.csv".into(),
            set: Vec::new(),
            num_warmup: 10,
            num_draws: 3,
            thin: 1,
            adaptation: rlc_driver::sample::WarmupKind::Fisher,
            max_depth: 10,
            adapt_delta: 0.8,
            seed: 7,
            init: "2".into(),
            log_lik: None,
            log_lik_cells: None,
            predict: None,
            dims: vec![("w".into(), vec!["K".into()])],
            coords: vec![("K".into(), vec!["a,b".into(), "c\"d".into()])],
            loop_outs: vec!["pe".into(), "ev_c".into()],
        }
    }

    fn column(name: &str, shape: Vec<usize>) -> Column {
        Column {
            name: name.into(),
            shape,
            kind: rlc_driver::sample::VariableKind::Parameter,
        }
    }

    #[test]
    fn column_names_are_one_based_and_column_major() {
        let columns = [column("a", vec![]), column("w", vec![2, 3])];
        let (names, order) = column_names(&columns);
        assert_eq!(
            names,
            ["a", "w.1.1", "w.2.1", "w.1.2", "w.2.2", "w.1.3", "w.2.3"]
        );
        // Row-major positions (after `a`): w[0,0]=1, w[1,0]=4, w[0,1]=2, …
        assert_eq!(order, [0, 1, 4, 2, 5, 3, 6]);
    }

    #[test]
    fn a_written_file_parses_back_into_the_same_draws() {
        let dir = std::env::temp_dir().join(format!("rlc-output-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let columns = [column("alpha", vec![]), column("w", vec![2])];
        let mut writer = ChainWriter::create(&dir, 0, &settings(), &columns).expect("create");
        writer
            .adaptation(&Adaptation {
                step_size: 0.123456789,
                target_accept: 0.9,
                inv_mass_matrix: vec![1.5, 0.25, 3.0],
                low_rank: Default::default(),
                extra_warmup: 500,
                extensions: vec![
                    WarmupExtension {
                        iterations: 190,
                        reason: ExtensionReason::MovedAfterMetric,
                    },
                    WarmupExtension {
                        iterations: 190,
                        reason: ExtensionReason::AtMaxDepth,
                    },
                    WarmupExtension {
                        iterations: 60,
                        reason: ExtensionReason::Diverged,
                    },
                    WarmupExtension {
                        iterations: 60,
                        reason: ExtensionReason::CouldNotMove,
                    },
                ],
            })
            .expect("write");
        let draws = [
            (
                [-12.3456789012345, 0.9, 0.5, 3.0, 7.0, 0.0, 13.1],
                [0.1, 1e-300, -2.5e17],
            ),
            (
                [-11.0, 0.8, 0.5, 2.0, 3.0, 1.0, 12.0],
                [0.30000000000000004, f64::MIN_POSITIVE, 7.0],
            ),
        ];
        for (stats, values) in &draws {
            writer.draw(stats, values).expect("write");
        }
        writer
            .finish(
                std::time::Duration::from_millis(5),
                std::time::Duration::from_millis(7),
                false,
            )
            .expect("finish");
        let text = std::fs::read_to_string(dir.join("m_1.csv")).expect("read");
        let back = read_chain(&text).expect("parses");
        assert_eq!(back.loop_outs, ["pe", "ev_c"]);
        assert_eq!(
            back.columns,
            [
                "lp__",
                "accept_stat__",
                "stepsize__",
                "treedepth__",
                "n_leapfrog__",
                "divergent__",
                "energy__",
                "alpha",
                "w.1",
                "w.2"
            ]
        );
        for ((stats, values), row) in draws.iter().zip(&back.rows) {
            let expected: Vec<f64> = stats.iter().chain(values.iter()).copied().collect();
            assert_eq!(&expected, row);
        }
        // Each extension of warmup is said after `# Adaptation terminated`, in order.
        assert!(text.contains(
            "# Adaptation terminated\n# Warmup extended by 190 iterations: the chain moved to a region of another log density after its metric was set; the metric was adapted again there\n# Warmup extended by 190 iterations: more than half of the transitions at the end of warmup reached the maximum tree depth; the metric was adapted again from where the chain stood\n# Warmup extended by 60 iterations: more than a tenth of the transitions at the end of warmup diverged; the step size was adapted again at a higher target acceptance rate\n# Warmup extended by 60 iterations: the chain could not move"
        ));
        assert!(text.contains("# Target acceptance rate raised to 0.9\n# Step size = 0.123456789"));
        assert!(text.contains("# Diagonal elements of inverse mass matrix:\n# 1.5, 0.25, 3.0"));
        assert!(text.contains("Elapsed Time"));
        assert_eq!(back.dims["w"], ["K"]);
        assert_eq!(back.num_warmup, Some(10));
        assert_eq!(back.adaptation.as_deref(), Some("fisher"));
        assert_eq!(back.coords["K"], ["a,b", "c\"d"]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
