//! `rlc._rlc`, the native half of the Python package: a thin front end over
//! the driver library (`rlc-driver`), as the CLI is. It compiles models,
//! loads data from bytes, evaluates the log density, and runs the sampler on
//! a Rust thread that never touches Python, so that the calling thread can
//! poll progress and Ctrl-C while the chains run. Results leave as plain
//! Python values (dicts, lists, `bytes` of little-endian numbers) that the
//! pure-Python layer (`python/rlc/`) turns into numpy arrays and an
//! `xarray.DataTree`; driver errors become the package's exception classes in
//! one function, [`to_py_err`].

use pyo3::exceptions::{PyKeyboardInterrupt, PyRuntimeError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyList, PyTuple};
use rlc_driver::point::Point;
use rlc_driver::sample::{self, Adaptation, DrawRecord, Fit, Observer, SampleSettings};
use rlc_driver::tree::{self, Attr, Values};
use rlc_driver::{Backend, Compiled, Data, Density, Error, ErrorDetail, ErrorKind};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// Where data came from, which decides how its errors are located: a
/// DataFrame's rows are numbered from 0 under the header, a file's lines as
/// an editor numbers them.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Source {
    File,
    DataFrame,
}

/// A driver error as the package's exception: `rlc.CompileError`,
/// `rlc.DataError`, `rlc.SamplingError`, `rlc.UsageError` (also a
/// `ValueError`), `KeyboardInterrupt` for a run stopped before any draw, or
/// `rlc.Error`. The classes live in `rlc/_errors.py`; their constructors take
/// the message and the structured items built here.
fn to_py_err(py: Python<'_>, error: Error, source: Source) -> PyErr {
    to_py_err_in_rows(py, error, source, None)
}

/// [`to_py_err`] for errors in a DataFrame's data: `rows` holds the frame's
/// index labels, one per row (`None`: the default index, labels equal to
/// positions).
fn to_py_err_in_rows(
    py: Python<'_>,
    error: Error,
    source: Source,
    rows: Option<&Bound<'_, PyAny>>,
) -> PyErr {
    // Failing to build the exception (the package's Python half cannot be
    // imported) is itself the error to report.
    match build_py_err(py, error, source, rows) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn build_py_err(
    py: Python<'_>,
    error: Error,
    source: Source,
    rows: Option<&Bound<'_, PyAny>>,
) -> PyResult<PyErr> {
    let errors = py.import("rlc._errors")?;
    let (class, message, items) = match (&error.kind, &error.detail) {
        (ErrorKind::Model, ErrorDetail::Model(report)) => {
            // The same text as the CLI prints: the rendered report, then the
            // summary line.
            let mut message = report.render(false);
            message.push_str(&error.message);
            let items = PyList::empty(py);
            let lines = Lines::new(&report.source);
            for d in &report.diagnostics {
                items.append(diagnostic(py, d, &lines)?)?;
            }
            ("CompileError", message, items)
        }
        (ErrorKind::Model, _) => ("CompileError", error.message.clone(), PyList::empty(py)),
        (ErrorKind::Data, ErrorDetail::Data(list)) => {
            let items = PyList::empty(py);
            let mut lines = Vec::new();
            for e in list {
                let (item, line) = data_error(py, e, source, rows)?;
                items.append(item)?;
                lines.push(line);
            }
            // The driver's message ends with its summary line
            // (`error: … does not fit the model (n errors)`); keep it.
            if let Some(last) = error.message.lines().last() {
                lines.push(last.to_string());
            }
            ("DataError", lines.join("\n"), items)
        }
        (ErrorKind::Data, _) => ("DataError", error.message.clone(), PyList::empty(py)),
        (ErrorKind::Sampling, _) => ("SamplingError", error.message.clone(), PyList::empty(py)),
        (ErrorKind::Usage, _) => ("UsageError", error.message.clone(), PyList::empty(py)),
        (ErrorKind::Interrupted, _) => {
            return Ok(PyKeyboardInterrupt::new_err(error.message.clone()));
        }
        (ErrorKind::Internal, _) => ("Error", error.message.clone(), PyList::empty(py)),
    };
    let exception = errors
        .getattr(class)?
        .call1((in_python_words(&message), items))?;
    Ok(PyErr::from_value(exception))
}

/// The driver words its advice for the command line (`run fewer --draws`,
/// `raise --adapt-delta`); a Python user sets the same things as keyword
/// arguments of `sample`. Longer phrases first: each is replaced once.
const PYTHON_WORDS: &[(&str, &str)] = &[
    // Python has no memory setting: the limit is the memory available.
    (", or raise --max-memory if the machine has the memory", ""),
    ("--log-lik subject", "log_likelihood=\"subject\""),
    ("--log-lik", "log_likelihood"),
    (
        "--init 0 or --init FILE",
        "init=0, or init= a dict of values",
    ),
    (
        "give --unconstrained coordinates instead",
        "give the point as its unconstrained coordinates (an array) instead",
    ),
    ("--adapt-delta", "adapt_delta"),
    ("--max-depth", "max_depth"),
    ("--warmup", "warmup"),
    ("--draws", "draws"),
    ("--chains", "chains"),
    ("--threads", "threads"),
    ("--init", "init"),
];

/// A driver message in the words of the Python package's settings.
fn in_python_words(message: &str) -> String {
    PYTHON_WORDS
        .iter()
        .fold(message.to_string(), |text, (cli, python)| {
            text.replace(cli, python)
        })
}

/// 1-based line and column (in characters) of a byte offset.
/// Where each line of a model's text starts: locating the labels of many
/// diagnostics is a binary search each, not a scan of the text before each.
struct Lines<'s> {
    source: &'s str,
    starts: Vec<usize>,
}

impl<'s> Lines<'s> {
    fn new(source: &'s str) -> Lines<'s> {
        let starts = std::iter::once(0)
            .chain(source.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        Lines { source, starts }
    }

    /// The 1-based line and column (in characters) of a byte offset.
    fn line_column(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.source.len());
        let line = self.starts.partition_point(|&s| s <= offset).max(1);
        let start = self.starts.get(line - 1).copied().unwrap_or(0);
        let column = self
            .source
            .get(start..offset)
            .map_or(0, |l| l.chars().count())
            + 1;
        (line, column)
    }
}

fn diagnostic<'py>(
    py: Python<'py>,
    d: &rlc_syntax::Diagnostic,
    lines: &Lines<'_>,
) -> PyResult<Bound<'py, PyDict>> {
    let source = lines.source;
    let item = PyDict::new(py);
    item.set_item("code", d.code)?;
    item.set_item(
        "severity",
        match d.severity {
            rlc_syntax::diagnostic::Severity::Error => "error",
            rlc_syntax::diagnostic::Severity::Warning => "warning",
        },
    )?;
    item.set_item("message", &d.message)?;
    item.set_item("hint", d.hint.as_deref())?;
    let labels = PyList::empty(py);
    for label in &d.labels {
        let l = PyDict::new(py);
        let (line, column) = lines.line_column(label.span.start);
        let (end_line, end_column) = lines.line_column(label.span.end);
        l.set_item("line", line)?;
        l.set_item("column", column)?;
        l.set_item("end_line", end_line)?;
        l.set_item("end_column", end_column)?;
        l.set_item("message", &label.message)?;
        l.set_item(
            "text",
            source.get(label.span.start..label.span.end).unwrap_or(""),
        )?;
        l.set_item("primary", label.primary)?;
        labels.append(l)?;
    }
    item.set_item("labels", labels)?;
    Ok(item)
}

/// One data error as a dict, and its line of the message. A DataFrame's
/// CSV was written by the package with the header on line 1, so the row at
/// position `p` (0-based, as `df.iloc` counts) is line `p + 2`; the row as
/// `df.loc` counts is its label in `rows`, or `p` when no labels were given
/// (the default index 0, 1, 2, …).
fn data_error<'py>(
    py: Python<'py>,
    e: &rlc_data::DataError,
    source: Source,
    rows: Option<&Bound<'py, PyAny>>,
) -> PyResult<(Bound<'py, PyDict>, String)> {
    use rlc_data::Location;
    let item = PyDict::new(py);
    // A DataFrame's message names an earlier row it compares against (D0019) as
    // `df.loc` does, not by the line of the CSV text the package wrote.
    let message = match source {
        Source::DataFrame => e.kind.message_naming_rows(&|line| {
            let named = frame_row(rows, line.saturating_sub(2))
                .and_then(|(label, position)| row_name(label.as_ref(), position));
            match named {
                Ok(name) => format!("on {name}"),
                Err(_) => format!("on line {line}"),
            }
        }),
        Source::File => e.kind.to_string(),
    };
    item.set_item("file", &e.file)?;
    item.set_item("code", e.kind.code())?;
    item.set_item("message", &message)?;
    let (mut line, mut column, mut path) = (None, None, None);
    match &e.location {
        Location::File => {}
        Location::Line { line: l } => line = Some(*l),
        Location::Column { column: c } => column = Some(c.clone()),
        Location::Cell { line: l, column: c } => {
            line = Some(*l);
            column = Some(c.clone());
        }
        Location::JsonText { line: l, column: c } => {
            line = Some(*l);
            column = Some(c.to_string());
        }
        Location::JsonValue { path: p } => path = Some(p.clone()),
    }
    let position = match source {
        Source::DataFrame => line.and_then(|l| l.checked_sub(2)),
        Source::File => None,
    };
    let (label, position) = match position {
        Some(p) => {
            let (label, position) = frame_row(rows, p)?;
            (label, Some(position))
        }
        None => (None, None),
    };
    item.set_item("line", line)?;
    item.set_item("column", column.clone())?;
    match &label {
        Some(label) => item.set_item("row", label)?,
        None => item.set_item("row", position)?,
    }
    item.set_item("position", position)?;
    item.set_item("path", path)?;
    let text = match source {
        Source::DataFrame => {
            let mut where_ = e.file.clone();
            if let Some(p) = position {
                where_.push_str(&format!(", {}", row_name(label.as_ref(), p)?));
            }
            if let Some(c) = &column {
                where_.push_str(&format!(", column \"{c}\""));
            }
            format!("{where_}: {message}")
        }
        Source::File => e.to_string(),
    };
    Ok((item, text))
}

/// The label (None on the default index) and the `df.iloc` position of the
/// DataFrame row at `position` of the CSV text. `rows` is the frame's index
/// labels, one per row (None: the default index), or, for a part of a larger
/// frame (`fit_many(by=…)`), the pair (labels or None, positions) that name
/// each row as the frame the user holds does.
fn frame_row<'py>(
    rows: Option<&Bound<'py, PyAny>>,
    position: usize,
) -> PyResult<(Option<Bound<'py, PyAny>>, usize)> {
    let Some(rows) = rows else {
        return Ok((None, position));
    };
    match rows.cast::<PyTuple>() {
        Ok(pair) if pair.len() == 2 => {
            let labels = pair.get_item(0)?;
            let label = if labels.is_none() {
                None
            } else {
                Some(labels.get_item(position)?)
            };
            Ok((label, pair.get_item(1)?.get_item(position)?.extract()?))
        }
        _ => Ok((Some(rows.get_item(position)?), position)),
    }
}

/// A DataFrame's row at `position` as messages name it: `row 5` on the
/// default index (labels equal to positions), else by its label and its
/// position, `row df.loc[15] (df.iloc[5])`.
fn row_name(label: Option<&Bound<'_, PyAny>>, position: usize) -> PyResult<String> {
    Ok(match label {
        Some(label) => format!("row df.loc[{}] (df.iloc[{position}])", label.repr()?),
        None => format!("row {position}"),
    })
}

/// Names every row of a DataFrame's data ([`row_name`]) for the driver's
/// explanations, which would otherwise name the lines of the CSV text the
/// package wrote.
fn name_frame_rows(data: &mut Data, rows: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
    let count = match rows {
        Some(rows) => match rows.cast::<PyTuple>() {
            Ok(pair) if pair.len() == 2 => pair.get_item(1)?.len()?,
            _ => rows.len()?,
        },
        None => data.loaded.row_lines.iter().max().map_or(0, |l| l - 1),
    };
    let names = (0..count)
        .map(|p| {
            let (label, position) = frame_row(rows, p)?;
            row_name(label.as_ref(), position)
        })
        .collect::<PyResult<Vec<_>>>()?;
    data.row_names = Some(names);
    Ok(())
}

/// A compiled model (`rlc._rlc.compile`).
#[pyclass(frozen, module = "rlc._rlc")]
struct CompiledModel {
    compiled: Arc<Compiled>,
}

#[pymethods]
impl CompiledModel {
    /// The model's warnings as dicts (code, severity, message, hint, labels).
    fn warnings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        let lines = Lines::new(&self.compiled.source);
        for w in &self.compiled.warnings {
            list.append(diagnostic(py, w, &lines)?)?;
        }
        Ok(list)
    }

    /// The warnings rendered as `rlc check` prints them (no color).
    fn render_warnings(&self) -> String {
        self.compiled.render_warnings(false)
    }

    /// The data the model declares: the names of its `data` variables and
    /// of its sizes, each in declaration order.
    fn data_names(&self) -> (Vec<String>, Vec<String>) {
        self.compiled.declared_data()
    }

    /// The columns whose values name the groups of a `size N by COL` (subject
    /// ids), which the package keeps as text, as the loader reads them.
    fn grouping_columns(&self) -> Vec<String> {
        rlc_driver::data::data_spec(&self.compiled.model)
            .map(|spec| spec.sizes.into_iter().filter_map(|s| s.group_by).collect())
            .unwrap_or_default()
    }

    /// The parameters and `out` values, in declaration order: (name,
    /// "parameter" or "out").
    fn variables(&self) -> Vec<(String, &'static str)> {
        let ir = &self.compiled.ir;
        ir.params
            .iter()
            .map(|p| (p.name.clone(), "parameter"))
            .chain(ir.outs.iter().map(|o| (o.name.clone(), "out")))
            .collect()
    }

    /// The variables whose elements are one per subject (or arm, block…), for which
    /// a recovery study reports the correlation within fits.
    fn unit_variables(&self) -> Vec<String> {
        rlc_driver::recover::unit_variables(&self.compiled)
    }
}

/// Parses, checks, lowers and differentiates a model (`name` is how
/// diagnostics name it).
#[pyfunction]
fn compile(py: Python<'_>, source: &str, name: &str) -> PyResult<CompiledModel> {
    let result = py.detach(|| rlc_driver::compile(source, name));
    match result {
        Ok(compiled) => Ok(CompiledModel {
            compiled: Arc::new(compiled),
        }),
        Err(e) => Err(to_py_err(py, e, Source::File)),
    }
}

/// Data loaded and checked against a model (`rlc._rlc.load_data`).
#[pyclass(frozen, module = "rlc._rlc")]
struct LoadedData {
    data: Arc<Data>,
    source: Source,
}

#[pymethods]
impl LoadedData {
    /// What the loader noted, as `rlc run` prints it (a default used, columns ignored,
    /// several subjects in a column no size groups by).
    #[getter]
    fn notes(&self) -> Vec<String> {
        self.data.loaded.notes.clone()
    }
}

/// Loads a data file's bytes for `model` through the CLI's loader. `name`
/// names the data in errors and tells the format by its extension (else
/// the content does). `frame` says the bytes are CSV written from a
/// DataFrame, whose errors are then located by DataFrame row: by the labels
/// in `rows` (the frame's index, one label per row), or by position when
/// `rows` is None.
///
/// `set` gives data of constant dimensions their values apart from the data,
/// `NAME=VALUE` each with a JSON value (the CLI's `--set`; `set=` in Python).
#[pyfunction]
#[pyo3(signature = (model, name, content, frame=false, rows=None, set=None))]
fn load_data(
    py: Python<'_>,
    model: &CompiledModel,
    name: &str,
    content: &[u8],
    frame: bool,
    rows: Option<Bound<'_, PyAny>>,
    set: Option<Vec<String>>,
) -> PyResult<LoadedData> {
    let source = if frame {
        Source::DataFrame
    } else {
        Source::File
    };
    // The package writes DataFrames as comma-separated text.
    let delimiter = frame.then_some(b',');
    let loaded = rlc_driver::data::load_design_set(
        &model.compiled.model,
        name,
        content,
        delimiter,
        &[],
        &python_settings(set),
    );
    loaded_data(py, loaded, frame, source, rows.as_ref())
}

/// `set=`'s values as the loader takes them, named so in its messages.
fn python_settings(set: Option<Vec<String>>) -> rlc_driver::data::Settings {
    rlc_driver::data::Settings {
        source: "set=".to_string(),
        values: set.unwrap_or_default(),
    }
}

/// Loaded data (or design) as the package holds it: a DataFrame's rows named
/// as `df.loc` takes them, in the data and in its errors.
fn loaded_data(
    py: Python<'_>,
    loaded: Result<Data, Error>,
    frame: bool,
    source: Source,
    rows: Option<&Bound<'_, PyAny>>,
) -> PyResult<LoadedData> {
    match loaded {
        Ok(mut data) => {
            if frame {
                name_frame_rows(&mut data, rows)?;
            }
            Ok(LoadedData {
                data: Arc::new(data),
                source,
            })
        }
        Err(e) => Err(to_py_err_in_rows(py, e, source, rows)),
    }
}

fn backend(name: &str) -> PyResult<Backend> {
    match name {
        "jit" => Ok(Backend::Jit),
        "interp" => Ok(Backend::Interp),
        other => Err(pyo3::exceptions::PyValueError::new_err(format!(
            "backend must be \"jit\" or \"interp\", not {other:?}"
        ))),
    }
}

fn bind(
    py: Python<'_>,
    model: &CompiledModel,
    data: &LoadedData,
    backend: Backend,
) -> PyResult<Density> {
    Density::new(&model.compiled, &data.data, backend).map_err(|e| to_py_err(py, e, data.source))
}

/// logp, gradient, coordinate names, notes.
type LogpGrad = (f64, Vec<f64>, Vec<String>, Vec<String>);

/// A parameter's value from Python: its elements row-major and its array's shape.
type GivenElements = (Vec<f64>, Vec<usize>);

fn given_values(values: HashMap<String, GivenElements>) -> rlc_driver::density::GivenValues {
    values
        .into_iter()
        .map(|(name, (elements, shape))| (name, rlc_data::GivenValue::shaped(elements, shape)))
        .collect()
}

/// The log density (log-Jacobian included) and its gradient on the
/// unconstrained scale at one point: `values` gives constrained values by
/// name (each flattened row-major), or `unconstrained` the coordinates.
/// Returns (logp, gradient, coordinate names, notes); a log density or
/// gradient that is not finite raises `rlc.SamplingError` with the driver's
/// explanation, as `rlc logp` fails.
#[pyfunction]
#[pyo3(signature = (model, data, values=None, unconstrained=None, backend_name="jit"))]
fn logp_grad(
    py: Python<'_>,
    model: &CompiledModel,
    data: &LoadedData,
    values: Option<HashMap<String, GivenElements>>,
    unconstrained: Option<Vec<f64>>,
    backend_name: &str,
) -> PyResult<LogpGrad> {
    let mut density = bind(py, model, data, backend(backend_name)?)?;
    let (point, what) = match (values, unconstrained) {
        (Some(v), None) => (Point::Constrained(given_values(v)), "point"),
        (None, Some(u)) => (Point::Unconstrained(u), "the unconstrained point"),
        _ => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give either constrained values by name or unconstrained coordinates",
            ))
        }
    };
    let theta = point
        .theta(&density, what)
        .map_err(|e| to_py_err(py, e, data.source))?;
    let mut grad = vec![0.0; density.dim];
    let lp = density.logp_grad(&theta, &mut grad).map_err(|e| {
        to_py_err(
            py,
            Error::sampling(format!("error: evaluating the log density: {e}")),
            data.source,
        )
    })?;
    // As `rlc logp` (exit 4): a log density or gradient that is not finite
    // is a failure, explained by the first term that is not.
    if !(lp.is_finite() && grad.iter().all(|g| g.is_finite())) {
        let why = density
            .explain(&theta)
            .unwrap_or_else(|| "the log density or its gradient is not finite".to_string());
        return Err(to_py_err(
            py,
            Error::sampling(format!("error: {why}")),
            data.source,
        ));
    }
    Ok((lp, grad, density.coordinates.clone(), density.notes.clone()))
}

/// The names of the unconstrained coordinates (`alpha`, `A_pr.1`, …).
#[pyfunction]
fn coordinates(py: Python<'_>, model: &CompiledModel, data: &LoadedData) -> PyResult<Vec<String>> {
    Ok(bind(py, model, data, Backend::Interp)?.coordinates)
}

/// Counters the chains' threads increment and the Python thread reads: no
/// Python call is ever made from a sampler thread.
struct Progress {
    /// Iterations done per chain, warmup included.
    iterations: Vec<AtomicU64>,
    divergences: AtomicU64,
    /// Chains whose warmup is over.
    sampling: AtomicU64,
    /// Draws after warmup, per chain.
    chain_draws: Vec<AtomicU64>,
    /// Stop once this many draws (all chains) are made and every chain has
    /// made one: a test hook for the interrupted path that does not depend
    /// on timing (a chain starved of CPU may still be in its warmup when the
    /// others have made them all).
    stop_after: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl Progress {
    /// Draws after warmup, all chains.
    fn draws(&self) -> u64 {
        self.chain_draws
            .iter()
            .map(|n| n.load(Ordering::Relaxed))
            .sum()
    }
}

impl Observer for Progress {
    fn warmup_done(&self, _chain: usize, _adaptation: &Adaptation) {
        self.sampling.fetch_add(1, Ordering::Relaxed);
    }

    fn draw(&self, draw: &DrawRecord<'_>) {
        if let Some(n) = self.iterations.get(draw.chain) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        if !draw.kept {
            return;
        }
        if draw.stats[5] != 0.0 {
            self.divergences.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(n) = self.chain_draws.get(draw.chain) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        let every_chain = || {
            self.chain_draws
                .iter()
                .all(|n| n.load(Ordering::Relaxed) > 0)
        };
        if self.stop_after.is_some_and(|n| self.draws() >= n) && every_chain() {
            self.stop.store(true, Ordering::SeqCst);
        }
    }
}

/// A sampling run on its own thread (`rlc._rlc.start`).
#[pyclass(frozen, module = "rlc._rlc")]
struct Run {
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
    handle: Mutex<Option<JoinHandle<Result<Fit, Error>>>>,
    compiled: Arc<Compiled>,
    data: Arc<Data>,
    source: Source,
    /// Warmup iterations per chain (the adaptation's default when not given).
    warmup: usize,
    /// The notes of binding the model to its data (`rlc run` prints them):
    /// angles that look like degrees, the interpreter used for lack of JIT support.
    notes: Vec<String>,
}

#[pymethods]
impl Run {
    /// Warmup iterations per chain.
    fn warmup(&self) -> usize {
        self.warmup
    }

    /// (iterations done per chain, draws made, divergences, chains past warmup).
    fn progress(&self) -> (Vec<u64>, u64, u64, u64) {
        let p = &self.progress;
        (
            p.iterations
                .iter()
                .map(|n| n.load(Ordering::Relaxed))
                .collect(),
            p.draws(),
            p.divergences.load(Ordering::Relaxed),
            p.sampling.load(Ordering::Relaxed),
        )
    }

    /// Whether the run has ended (the result is ready).
    fn finished(&self) -> bool {
        match self.handle.lock() {
            Ok(h) => h.as_ref().is_none_or(|h| h.is_finished()),
            Err(_) => true,
        }
    }

    /// Asks every chain to stop after its current iteration.
    fn stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
    }

    /// Waits for the run to end (without holding the GIL) and returns
    /// `{"groups": [...], "interrupted": bool, "failures": [str], "notes": [str],
    /// "draws": n, "warnings": [str]}`.
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let handle = self
            .handle
            .lock()
            .map_err(|_| PyRuntimeError::new_err("the run's state was poisoned"))?
            .take()
            .ok_or_else(|| PyRuntimeError::new_err("the run's result was already taken"))?;
        let joined = py.detach(move || handle.join());
        let fit = match joined {
            Ok(Ok(fit)) => fit,
            Ok(Err(e)) => return Err(to_py_err(py, e, self.source)),
            Err(_) => {
                return Err(to_py_err(
                    py,
                    Error::internal("internal error: the sampler thread panicked"),
                    self.source,
                ))
            }
        };
        let built = py.detach(|| tree::build(&self.compiled, &self.data, &fit));
        let out = PyDict::new(py);
        out.set_item("groups", tree_to_py(py, &built)?)?;
        out.set_item("interrupted", fit.interrupted)?;
        out.set_item("draws", fit.draws_per_chain())?;
        let failures: Vec<String> = fit
            .chains
            .iter()
            .filter_map(|c| {
                c.error
                    .as_ref()
                    .map(|e| format!("chain {}: {e}", c.chain + 1))
            })
            .collect();
        out.set_item("failures", failures)?;
        out.set_item("notes", self.notes.clone())?;
        // Stan's warnings, as `rlc run` prints them after its table, naming
        // elements as the tree and `rlc.summary` do: `sigma[0]`, `A[S07]`.
        let warnings: Vec<String> = if fit.draws_per_chain() > 0 {
            let draws = fit.run_draws();
            let dims = rlc_driver::labels::dims(&self.compiled, &self.data);
            let axes: std::collections::HashMap<String, Vec<String>> = dims
                .variables
                .iter()
                .map(|a| (a.name.clone(), a.dims.clone()))
                .collect();
            let coords = dims.coords.iter().cloned().collect();
            let labels = rlc_driver::summary::model_labels(&draws.columns, &axes, &coords);
            fit.warnings_labelled(&draws, &labels)
                .iter()
                .map(|warning| in_python_words(warning))
                .collect()
        } else {
            Vec::new()
        };
        out.set_item("warnings", warnings)?;
        Ok(out)
    }
}

/// Binds the model to the data and starts sampling on a new thread;
/// returns at once. Errors in the settings or in binding raise here.
#[pyfunction]
#[pyo3(signature = (model, data, chains, warmup, draws, seed, max_depth, adapt_delta, backend_name="jit", log_lik=None, predict=None, stop_after=None, threads=0, adaptation=None, threads_per_chain=0, init_radius=None, init_values=None, loop_outs=false, thin=1))]
#[allow(clippy::too_many_arguments)]
fn start(
    py: Python<'_>,
    model: &CompiledModel,
    data: &LoadedData,
    chains: usize,
    warmup: Option<usize>,
    draws: usize,
    seed: u64,
    max_depth: u32,
    adapt_delta: f64,
    backend_name: &str,
    log_lik: Option<&str>,
    predict: Option<&str>,
    stop_after: Option<u64>,
    threads: usize,
    adaptation: Option<&str>,
    threads_per_chain: usize,
    init_radius: Option<f64>,
    init_values: Option<HashMap<String, GivenElements>>,
    loop_outs: bool,
    thin: usize,
) -> PyResult<Run> {
    use rlc_driver::generate::{DrawExtras, DrawOutputs, LogLikUnit, PredictKind};
    // The outs written in loops are computed only when asked for.
    let compiled = if loop_outs && !model.compiled.model.loop_outs.is_empty() {
        let with = (*model.compiled).clone().with_loop_outs();
        Arc::new(with.map_err(|e| to_py_err(py, e, data.source))?)
    } else {
        model.compiled.clone()
    };
    let value_error = |what: &str, value: &str, allowed: &str| {
        pyo3::exceptions::PyValueError::new_err(format!("{what} must be {allowed}, not {value:?}"))
    };
    let extras = DrawExtras {
        log_lik: match log_lik {
            None => None,
            Some("observation") => Some(LogLikUnit::Observation),
            Some("subject") => Some(LogLikUnit::Subject),
            Some(other) => {
                return Err(value_error(
                    "log_likelihood",
                    other,
                    "\"observation\" or \"subject\"",
                ))
            }
        },
        predict: match predict {
            None => None,
            Some("one-step") => Some(PredictKind::OneStep),
            Some("full") => Some(PredictKind::Full),
            Some(other) => return Err(value_error("predict", other, "\"one-step\" or \"full\"")),
        },
    };
    let adaptation = match adaptation {
        None => sample::DEFAULT_ADAPTATION,
        Some(name) => sample::WarmupKind::from_name(name).ok_or_else(|| {
            value_error(
                "adaptation",
                name,
                "\"stan\", \"fisher\" or \"fisher-lowrank\"",
            )
        })?,
    };
    let settings = SampleSettings {
        chains,
        adaptation,
        warmup: warmup.unwrap_or_else(|| sample::default_warmup(adaptation)),
        draws,
        thin,
        seed,
        max_depth,
        adapt_delta,
        threads,
        init_radius: init_radius.unwrap_or(SampleSettings::default().init_radius),
        init: init_values.map(given_values).unwrap_or_default(),
    };
    settings
        .validate()
        .map_err(|e| to_py_err(py, e, data.source))?;
    let threads_per_chain = rlc_driver::threads_per_chain(threads_per_chain, chains);
    let density = Density::with_threads(
        &compiled,
        &data.data,
        backend(backend_name)?,
        threads_per_chain,
    )
    .map_err(|e| to_py_err(py, e, data.source))?;
    let notes = density.notes.clone();
    let outputs = DrawOutputs::new(&compiled, &data.data, extras)
        .map_err(|e| to_py_err(py, e, data.source))?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress {
        iterations: (0..chains).map(|_| AtomicU64::new(0)).collect(),
        chain_draws: (0..chains).map(|_| AtomicU64::new(0)).collect(),
        divergences: AtomicU64::new(0),
        sampling: AtomicU64::new(0),
        stop_after,
        stop: stop.clone(),
    });
    let warmup = settings.warmup;
    let handle = {
        let progress = progress.clone();
        let stop = stop.clone();
        std::thread::Builder::new()
            .name("rlc-sampler".into())
            .spawn(move || {
                sample::sample_with(&density, &outputs, &settings, progress.as_ref(), &stop)
            })
            .map_err(|e| PyRuntimeError::new_err(format!("cannot start the sampler thread: {e}")))?
    };
    Ok(Run {
        progress,
        stop,
        handle: Mutex::new(Some(handle)),
        compiled,
        data: data.data.clone(),
        source: data.source,
        warmup,
        notes,
    })
}

/// Loads a design for simulation (`rlc simulate`'s and `rlc recover`'s
/// `--data`): like [`load_data`], but the variables the model observes with
/// `~` may be absent.
#[pyfunction]
#[pyo3(signature = (model, name, content, frame=false, rows=None, set=None))]
fn load_design(
    py: Python<'_>,
    model: &CompiledModel,
    name: &str,
    content: &[u8],
    frame: bool,
    rows: Option<Bound<'_, PyAny>>,
    set: Option<Vec<String>>,
) -> PyResult<LoadedData> {
    let source = if frame {
        Source::DataFrame
    } else {
        Source::File
    };
    let delimiter = frame.then_some(b',');
    let observed = rlc_driver::generate::observed_variables(&model.compiled)
        .map_err(|e| to_py_err(py, e, Source::File))?;
    let loaded = rlc_driver::data::load_design_set(
        &model.compiled.model,
        name,
        content,
        delimiter,
        &observed,
        &python_settings(set),
    );
    loaded_data(py, loaded, frame, source, rows.as_ref())
}

// A parameter or `out` value's truth: name, shape, row-major values.
use rlc_driver::generate::NamedArray as Truth;

/// Simulated data set `k` of a recovery study with seed `seed` (the data
/// `rlc recover --seed` fits as its `k`-th): parameters drawn from the priors,
/// the observed variables drawn on the design. Returns the data, ready to
/// sample, and the truth (parameters then `out` values).
#[pyfunction]
fn simulate(
    py: Python<'_>,
    model: &CompiledModel,
    design: &LoadedData,
    seed: u64,
    k: usize,
) -> PyResult<(LoadedData, Vec<Truth>)> {
    let (simulated, data) = py
        .detach(|| rlc_driver::recover::simulate_data_set(&model.compiled, &design.data, seed, k))
        .map_err(|e| to_py_err(py, e, design.source))?;
    Ok((
        LoadedData {
            data: Arc::new(data),
            source: design.source,
        },
        simulated.truth,
    ))
}

/// What a simulation of one data set returns to Python: the file in the
/// design's format, that format (`"json"`, or a delimited file's delimiter),
/// each observed variable with its element type, the truth, and what a
/// table of it would lose (`generate::sizes_a_table_would_lose`).
type SimulatedFile<'py> = (
    Bound<'py, PyBytes>,
    String,
    Vec<(String, &'static str)>,
    Vec<Truth>,
    Vec<String>,
);

/// `rlc simulate` on a design: data set `stream` of `seed`, with the
/// parameters given as constrained `values` by name or as `unconstrained`
/// coordinates, or (neither) drawn from the priors. `content` and `frame` are
/// the design's bytes as [`load_design`] read them: the simulated file keeps
/// every row and column of a long CSV and replaces the observed columns, as
/// the command's file does.
#[pyfunction]
#[pyo3(signature = (model, design, content, frame, seed, stream, values=None, unconstrained=None, loop_outs=false))]
#[allow(clippy::too_many_arguments)]
fn simulate_file<'py>(
    py: Python<'py>,
    model: &CompiledModel,
    design: &LoadedData,
    content: &[u8],
    frame: bool,
    seed: u64,
    stream: u64,
    values: Option<HashMap<String, GivenElements>>,
    unconstrained: Option<Vec<f64>>,
    loop_outs: bool,
) -> PyResult<SimulatedFile<'py>> {
    use rlc_driver::generate::{self, ParamValues};
    let params = match (values, unconstrained) {
        (Some(v), None) => ParamValues::Point(Point::Constrained(given_values(v))),
        (None, Some(u)) => ParamValues::Point(Point::Unconstrained(u)),
        (None, None) => ParamValues::Prior,
        (Some(_), Some(_)) => {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "give either constrained values by name or unconstrained coordinates",
            ))
        }
    };
    let delimiter = frame.then_some(b',');
    let (file, mut simulated, loop_out_values) = py
        .detach(|| {
            let simulated =
                generate::simulate(&model.compiled, &design.data, &params, seed, stream)?;
            let file =
                generate::simulated_file(&design.data, content, delimiter, &simulated, false)?;
            let loop_out_values = if loop_outs {
                generate::loop_outs_at_truth(&model.compiled, &simulated)?
            } else {
                Vec::new()
            };
            Ok::<_, Error>((file, simulated, loop_out_values))
        })
        .map_err(|e| to_py_err(py, e, design.source))?;
    // The outs written in loops join the truth by name, as the other outs.
    simulated.truth.extend(loop_out_values);
    let observed = simulated
        .observed
        .iter()
        .map(|name| {
            let elem = simulated
                .data
                .values
                .iter()
                .find(|(n, _)| n == name)
                .map_or("real", |(_, array)| match array.elem {
                    rlc_data::ElemType::Int => "int",
                    rlc_data::ElemType::Bool => "bool",
                    rlc_data::ElemType::Real => "real",
                });
            (name.clone(), elem)
        })
        .collect();
    let format = match generate::design_format(&design.data, content, delimiter) {
        rlc_data::Format::Json => "json".to_string(),
        // design_format names the delimiter.
        rlc_data::Format::Csv { delimiter } => char::from(delimiter.unwrap_or(b',')).to_string(),
    };
    let notes = match format.as_str() {
        "json" => Vec::new(),
        _ => generate::sizes_a_table_would_lose(&model.compiled, &design.data, &simulated),
    };
    Ok((
        PyBytes::new(py, &file),
        format,
        observed,
        simulated.truth,
        notes,
    ))
}

/// What running the model forward cannot do, said before a simulation (the
/// notes `rlc simulate` prints).
#[pyfunction]
fn forward_notes(model: &CompiledModel) -> Vec<String> {
    rlc_driver::generate::forward_notes(&model.compiled)
}

/// The sampler's seed of fit `k` of a recovery study with seed `seed`.
#[pyfunction]
fn recover_fit_seed(seed: u64, k: usize) -> u64 {
    rlc_driver::recover::fit_seed(seed, k)
}

/// `thin`, or with 0 the thinning that keeps about 100 of `draws` for the ranks.
#[pyfunction]
fn recover_thinning(thin: usize, draws: usize) -> usize {
    rlc_driver::recover::thinning(thin, draws)
}

/// An array of draws given as the bytes of a C-ordered `(chain, draw,
/// element)` float64 array: one `Vec` per element, holding one `Vec` per chain.
fn elements_per_chain(
    values: &[u8],
    chains: usize,
    draws: usize,
    elements: usize,
) -> PyResult<Vec<Vec<Vec<f64>>>> {
    if values.len() != chains * draws * elements * 8 {
        return Err(pyo3::exceptions::PyValueError::new_err(format!(
            "{} bytes are not {chains} chains × {draws} draws × {elements} elements of float64",
            values.len()
        )));
    }
    let x = |c: usize, d: usize, e: usize| {
        let at = ((c * draws + d) * elements + e) * 8;
        let mut b = [0u8; 8];
        b.copy_from_slice(&values[at..at + 8]);
        f64::from_le_bytes(b)
    };
    Ok((0..elements)
        .map(|e| {
            (0..chains)
                .map(|c| (0..draws).map(|d| x(c, d, e)).collect())
                .collect()
        })
        .collect())
}

/// Mean, MCSE of the mean, sd, MAD, 5%, 50%, 95%, bulk and tail ESS, R-hat.
type SummaryRow = (f64, f64, f64, f64, f64, f64, f64, f64, f64, f64);

/// The summary `rlc run` prints, of each element of a variable's draws
/// (`values`: the bytes of a C-ordered `(chain, draw, element)` float64 array).
#[pyfunction]
fn summarize(
    py: Python<'_>,
    values: &[u8],
    chains: usize,
    draws: usize,
    elements: usize,
) -> PyResult<Vec<SummaryRow>> {
    let per_element = elements_per_chain(values, chains, draws, elements)?;
    Ok(py.detach(|| {
        per_element
            .iter()
            .map(|chains| {
                let s = rlc_diagnostics::summarize(chains);
                (
                    s.mean,
                    s.mcse_mean,
                    s.sd,
                    s.mad,
                    s.q5,
                    s.q50,
                    s.q95,
                    s.ess_bulk,
                    s.ess_tail,
                    s.rhat,
                )
            })
            .collect()
    }))
}

/// A row of `rlc recover`'s CSV: fit, name, variable, is_parameter,
/// [truth, mean, sd, q5, q25, q50, q75, q95], rank, ranked draws, R-hat,
/// bulk ESS.
type RecoveredRow = (
    usize,
    String,
    String,
    bool,
    Vec<f64>,
    usize,
    usize,
    f64,
    f64,
);

fn recovered_row(r: rlc_driver::recover::Recovered) -> RecoveredRow {
    (
        r.fit,
        r.name,
        r.variable,
        r.is_parameter,
        vec![r.truth, r.mean, r.sd, r.q5, r.q25, r.q50, r.q75, r.q95],
        r.rank,
        r.ranked,
        r.rhat,
        r.ess_bulk,
    )
}

/// The rows of `rlc recover`'s CSV for one variable of fit `k`: each element
/// (named by `labels`) against its truth, from the variable's draws (as for
/// [`summarize`]), ranked among every `thin`-th draw.
#[pyfunction]
#[allow(clippy::too_many_arguments)]
fn recovered(
    py: Python<'_>,
    values: &[u8],
    chains: usize,
    draws: usize,
    k: usize,
    variable: String,
    is_parameter: bool,
    labels: Vec<String>,
    truths: Vec<f64>,
    thin: usize,
) -> PyResult<Vec<RecoveredRow>> {
    if labels.len() != truths.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "one label per truth is needed",
        ));
    }
    let per_element = elements_per_chain(values, chains, draws, truths.len())?;
    Ok(py.detach(|| {
        per_element
            .iter()
            .zip(labels)
            .zip(&truths)
            .map(|((chains, label), truth)| {
                recovered_row(rlc_driver::recover::recovered(
                    k,
                    label,
                    variable.clone(),
                    is_parameter,
                    *truth,
                    chains,
                    thin,
                ))
            })
            .collect()
    }))
}

/// The table of `rlc recover`, one dict per variable (in the order the
/// variables first appear), from the rows of all fits.
#[pyfunction]
fn variable_recovery<'py>(
    py: Python<'py>,
    rows: Vec<RecoveredRow>,
    units: Vec<String>,
) -> PyResult<Bound<'py, PyList>> {
    let mut recovered = Vec::with_capacity(rows.len());
    for (fit, name, variable, is_parameter, x, rank, ranked, rhat, ess_bulk) in rows {
        let [truth, mean, sd, q5, q25, q50, q75, q95] = x[..] else {
            return Err(pyo3::exceptions::PyValueError::new_err(
                "a row's values are truth, mean, sd, q5, q25, q50, q75, q95",
            ));
        };
        recovered.push(rlc_driver::recover::Recovered {
            fit,
            name,
            variable,
            is_parameter,
            truth,
            mean,
            sd,
            q5,
            q25,
            q50,
            q75,
            q95,
            rank,
            ranked,
            rhat,
            ess_bulk,
            // The table is of the variables; each fit's count is in its rows.
            divergences: 0,
        });
    }
    let out = PyList::empty(py);
    for v in rlc_driver::recover::variable_recovery(&recovered, &units) {
        let d = PyDict::new(py);
        d.set_item("warning", v.calibration_warning())?;
        d.set_item("variable", v.variable)?;
        d.set_item("kind", if v.is_parameter { "param" } else { "out" })?;
        d.set_item("n", v.count)?;
        d.set_item("correlation", v.correlation)?;
        d.set_item("correlation_within_fits", v.within_fits)?;
        d.set_item("coverage_50", v.coverage_50)?;
        d.set_item("coverage_90", v.coverage_90)?;
        d.set_item("rank_chi2_p", v.ranks.p_value)?;
        d.set_item("rank_z_mean", v.ranks.z_mean)?;
        d.set_item("rank_z_variance", v.ranks.z_variance)?;
        d.set_item("rank_bins", v.ranks.bins)?;
        out.append(d)?;
    }
    Ok(out)
}

/// PSIS-LOO of a pointwise log-likelihood (`values`: the bytes of a
/// C-ordered `(chain, draw, observation)` float64 array), as `rlc run --loo`
/// computes it: a dict of the estimates, the pointwise `elpd_loo_i`,
/// `p_loo_i` and `pareto_k`, the k counts and the warning (or None).
#[pyfunction]
fn psis_loo<'py>(
    py: Python<'py>,
    values: &[u8],
    chains: usize,
    draws: usize,
    observations: usize,
) -> PyResult<Bound<'py, PyDict>> {
    if values.len() != chains * draws * observations * 8 {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "the log-likelihood's bytes do not match its shape",
        ));
    }
    let matrix: Vec<Vec<f64>> = values
        .chunks_exact(observations.max(1) * 8)
        .map(|row| {
            row.chunks_exact(8)
                .map(|b| {
                    let mut a = [0u8; 8];
                    a.copy_from_slice(b);
                    f64::from_le_bytes(a)
                })
                .collect()
        })
        .collect();
    let result = py
        .detach(|| rlc_driver::predictive::psis_loo(&matrix, chains))
        .map_err(|e| {
            to_py_err(
                py,
                Error::sampling(format!("error: PSIS-LOO: {e}")),
                Source::File,
            )
        })?;
    let d = PyDict::new(py);
    d.set_item("elpd_loo", result.elpd_loo)?;
    d.set_item("se_elpd_loo", result.se_elpd_loo)?;
    d.set_item("p_loo", result.p_loo)?;
    d.set_item("se_p_loo", result.se_p_loo)?;
    d.set_item("looic", result.looic)?;
    d.set_item("se_looic", result.se_looic)?;
    d.set_item("draws", result.draws)?;
    d.set_item("observations", result.observations)?;
    d.set_item("k_threshold", result.k_threshold)?;
    d.set_item("k_good", result.k_counts.good)?;
    d.set_item("k_bad", result.k_counts.bad)?;
    d.set_item("k_very_bad", result.k_counts.very_bad)?;
    d.set_item("warning", result.warning())?;
    d.set_item("elpd_loo_i", &result.elpd_loo_i)?;
    d.set_item("p_loo_i", &result.p_loo_i)?;
    d.set_item("pareto_k", &result.pareto_k)?;
    Ok(d)
}

/// `rlc compare`'s table from each model's pointwise `elpd_loo_i` and
/// `p_loo_i` (concatenated over data sets when a model was fitted to
/// several), with stacking weights: one dict per model, best first.
#[pyfunction]
fn compare<'py>(
    py: Python<'py>,
    names: Vec<String>,
    elpd_loo_i: Vec<Vec<f64>>,
    p_loo_i: Vec<Vec<f64>>,
) -> PyResult<Bound<'py, PyList>> {
    let usage = |e: rlc_diagnostics::LooError| {
        to_py_err(py, Error::usage(format!("error: {e}")), Source::File)
    };
    if names.len() != elpd_loo_i.len() || names.len() != p_loo_i.len() {
        return Err(pyo3::exceptions::PyValueError::new_err(
            "one name, one elpd_loo_i and one p_loo_i per model",
        ));
    }
    let models: Vec<(&str, &[f64], &[f64])> = names
        .iter()
        .zip(&elpd_loo_i)
        .zip(&p_loo_i)
        .map(|((n, e), p)| (n.as_str(), e.as_slice(), p.as_slice()))
        .collect();
    let rows = rlc_diagnostics::compare_pointwise(&models).map_err(usage)?;
    let slices: Vec<&[f64]> = elpd_loo_i.iter().map(|e| e.as_slice()).collect();
    let weights = rlc_diagnostics::stacking_weights(&slices).map_err(usage)?;
    let out = PyList::empty(py);
    for (rank, r) in rows.into_iter().enumerate() {
        let weight = names
            .iter()
            .position(|n| *n == r.name)
            .and_then(|k| weights.get(k))
            .copied()
            .unwrap_or(f64::NAN);
        let d = PyDict::new(py);
        d.set_item("model", r.name)?;
        d.set_item("rank", rank)?;
        d.set_item("elpd_loo", r.elpd_loo)?;
        d.set_item("se", r.se_elpd_loo)?;
        d.set_item("p_loo", r.p_loo)?;
        d.set_item("elpd_diff", r.elpd_diff)?;
        d.set_item("se_diff", r.se_diff)?;
        d.set_item("weight", weight)?;
        d.set_item("looic", r.looic)?;
        d.set_item("se_looic", r.se_looic)?;
        out.append(d)?;
    }
    Ok(out)
}

/// A tree's groups as Python values: each group a dict with `name`,
/// `attrs`, `variables` and `coords`; each array a dict with `name`, `dims`,
/// `shape`, `dtype` (a numpy type string) and `data` (`bytes`, or a list of
/// str for text).
fn tree_to_py<'py>(py: Python<'py>, t: &tree::Tree) -> PyResult<Bound<'py, PyList>> {
    let groups = PyList::empty(py);
    for g in &t.groups {
        let group = PyDict::new(py);
        group.set_item("name", &g.name)?;
        let attrs = PyDict::new(py);
        for (k, v) in &g.attrs {
            match v {
                Attr::Text(s) => attrs.set_item(k, s)?,
                Attr::Int(i) => attrs.set_item(k, i)?,
                Attr::UInt(i) => attrs.set_item(k, i)?,
                Attr::Float(x) => attrs.set_item(k, x)?,
                Attr::Texts(s) => attrs.set_item(k, s)?,
                Attr::Floats(x) => attrs.set_item(k, x)?,
                Attr::Ints(i) => attrs.set_item(k, i)?,
            }
        }
        group.set_item("attrs", attrs)?;
        let arrays = |list: &[tree::Array]| -> PyResult<Bound<'py, PyList>> {
            let out = PyList::empty(py);
            for a in list {
                out.append(array_to_py(py, a)?)?;
            }
            Ok(out)
        };
        group.set_item("variables", arrays(&g.variables)?)?;
        group.set_item("coords", arrays(&g.coords)?)?;
        groups.append(group)?;
    }
    Ok(groups)
}

fn array_to_py<'py>(py: Python<'py>, a: &tree::Array) -> PyResult<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("name", &a.name)?;
    d.set_item("dims", &a.dims)?;
    d.set_item("shape", &a.shape)?;
    match &a.values {
        Values::Float(v) => {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            d.set_item("dtype", "<f8")?;
            d.set_item("data", PyBytes::new(py, &bytes))?;
        }
        Values::Int(v) => {
            let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            d.set_item("dtype", "<i8")?;
            d.set_item("data", PyBytes::new(py, &bytes))?;
        }
        Values::Bool(v) => {
            let bytes: Vec<u8> = v.iter().map(|b| u8::from(*b)).collect();
            d.set_item("dtype", "|b1")?;
            d.set_item("data", PyBytes::new(py, &bytes))?;
        }
        Values::Text(v) => {
            d.set_item("dtype", "str")?;
            d.set_item("data", v)?;
        }
    }
    Ok(d)
}

/// The native module.
#[pymodule]
fn _rlc(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // The driver's limits on a run's settings, which the Python layer checks
    // in its own words (the driver's errors name the CLI's flags).
    m.add("MAX_CHAINS", sample::MAX_CHAINS)?;
    m.add("MAX_ITERATIONS", sample::MAX_ITERATIONS)?;
    m.add("MAX_TREE_DEPTH", sample::MAX_TREE_DEPTH)?;
    m.add_class::<CompiledModel>()?;
    m.add_class::<LoadedData>()?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(load_data, m)?)?;
    m.add_function(wrap_pyfunction!(logp_grad, m)?)?;
    m.add_function(wrap_pyfunction!(coordinates, m)?)?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    m.add_function(wrap_pyfunction!(load_design, m)?)?;
    m.add_function(wrap_pyfunction!(simulate, m)?)?;
    m.add_function(wrap_pyfunction!(simulate_file, m)?)?;
    m.add_function(wrap_pyfunction!(forward_notes, m)?)?;
    m.add_function(wrap_pyfunction!(recover_fit_seed, m)?)?;
    m.add_function(wrap_pyfunction!(recover_thinning, m)?)?;
    m.add_function(wrap_pyfunction!(summarize, m)?)?;
    m.add_function(wrap_pyfunction!(recovered, m)?)?;
    m.add_function(wrap_pyfunction!(variable_recovery, m)?)?;
    m.add_function(wrap_pyfunction!(psis_loo, m)?)?;
    m.add_function(wrap_pyfunction!(compare, m)?)?;
    Ok(())
}
