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
use pyo3::types::{PyBytes, PyDict, PyList};
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
    // Failing to build the exception (the package's Python half cannot be
    // imported) is itself the error to report.
    match build_py_err(py, error, source) {
        Ok(err) => err,
        Err(err) => err,
    }
}

fn build_py_err(py: Python<'_>, error: Error, source: Source) -> PyResult<PyErr> {
    let errors = py.import("rlc._errors")?;
    let (class, message, items) = match (&error.kind, &error.detail) {
        (ErrorKind::Model, ErrorDetail::Model(report)) => {
            // The same text as the CLI prints: the rendered report, then the
            // summary line.
            let mut message = report.render(false);
            message.push_str(&error.message);
            let items = PyList::empty(py);
            for d in &report.diagnostics {
                items.append(diagnostic(py, d, &report.source)?)?;
            }
            ("CompileError", message, items)
        }
        (ErrorKind::Model, _) => ("CompileError", error.message.clone(), PyList::empty(py)),
        (ErrorKind::Data, ErrorDetail::Data(list)) => {
            let items = PyList::empty(py);
            let mut lines = Vec::new();
            for e in list {
                let (item, line) = data_error(py, e, source)?;
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
    let exception = errors.getattr(class)?.call1((message, items))?;
    Ok(PyErr::from_value(exception))
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(source.len());
    let before = source.get(..offset).unwrap_or("");
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

fn diagnostic<'py>(
    py: Python<'py>,
    d: &rlc_syntax::Diagnostic,
    source: &str,
) -> PyResult<Bound<'py, PyDict>> {
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
        let (line, column) = line_column(source, label.span.start);
        let (end_line, end_column) = line_column(source, label.span.end);
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
/// CSV was written by the package with the header on line 1, so data row
/// `r` (0-based) is line `r + 2`.
fn data_error<'py>(
    py: Python<'py>,
    e: &rlc_data::DataError,
    source: Source,
) -> PyResult<(Bound<'py, PyDict>, String)> {
    use rlc_data::Location;
    let item = PyDict::new(py);
    item.set_item("file", &e.file)?;
    item.set_item("code", e.kind.code())?;
    item.set_item("message", e.kind.to_string())?;
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
    let row = match source {
        Source::DataFrame => line.and_then(|l| l.checked_sub(2)),
        Source::File => None,
    };
    item.set_item("line", line)?;
    item.set_item("column", column.clone())?;
    item.set_item("row", row)?;
    item.set_item("path", path)?;
    let text = match (source, row) {
        (Source::DataFrame, _) => {
            let mut where_ = e.file.clone();
            if let Some(r) = row {
                where_.push_str(&format!(", row {r}"));
            }
            if let Some(c) = &column {
                where_.push_str(&format!(", column \"{c}\""));
            }
            format!("{where_}: {}", e.kind)
        }
        (Source::File, _) => e.to_string(),
    };
    Ok((item, text))
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
        for w in &self.compiled.warnings {
            list.append(diagnostic(py, w, &self.compiled.source)?)?;
        }
        Ok(list)
    }

    /// The warnings rendered as `rlc check` prints them (no color).
    fn render_warnings(&self) -> String {
        self.compiled.render_warnings(false)
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

/// Loads a data file's bytes for `model` through the CLI's loader. `name`
/// names the data in errors and tells the format by its extension (else
/// the content does). `frame` says the bytes are CSV written from a
/// DataFrame, whose errors are then located by DataFrame row.
#[pyfunction]
#[pyo3(signature = (model, name, content, frame=false))]
fn load_data(
    py: Python<'_>,
    model: &CompiledModel,
    name: &str,
    content: &[u8],
    frame: bool,
) -> PyResult<LoadedData> {
    let source = if frame {
        Source::DataFrame
    } else {
        Source::File
    };
    // The package writes DataFrames as comma-separated text.
    let delimiter = frame.then_some(b',');
    match rlc_driver::data::load(&model.compiled.model, name, content, delimiter) {
        Ok(data) => Ok(LoadedData {
            data: Arc::new(data),
            source,
        }),
        Err(e) => Err(to_py_err(py, e, source)),
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

/// The log density (log-Jacobian included) and its gradient on the
/// unconstrained scale at one point: `values` gives constrained values by
/// name (each flattened row-major), or `unconstrained` the coordinates.
/// Returns (logp, gradient, coordinate names, notes).
#[pyfunction]
#[pyo3(signature = (model, data, values=None, unconstrained=None, backend_name="jit"))]
fn logp_grad(
    py: Python<'_>,
    model: &CompiledModel,
    data: &LoadedData,
    values: Option<HashMap<String, Vec<f64>>>,
    unconstrained: Option<Vec<f64>>,
    backend_name: &str,
) -> PyResult<LogpGrad> {
    let mut density = bind(py, model, data, backend(backend_name)?)?;
    let (point, what) = match (values, unconstrained) {
        (Some(v), None) => (Point::Constrained(v), "point"),
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
    /// Draws after warmup, all chains.
    draws: AtomicU64,
    divergences: AtomicU64,
    /// Chains whose warmup is over.
    sampling: AtomicU64,
    /// Stop once this many draws (all chains) are made: a test hook for the
    /// interrupted path that does not depend on timing.
    stop_after: Option<u64>,
    stop: Arc<AtomicBool>,
}

impl Observer for Progress {
    fn warmup_done(&self, _chain: usize, _adaptation: &Adaptation) {
        self.sampling.fetch_add(1, Ordering::Relaxed);
    }

    fn draw(&self, draw: &DrawRecord<'_>) {
        if let Some(n) = self.iterations.get(draw.chain) {
            n.fetch_add(1, Ordering::Relaxed);
        }
        if draw.is_warmup {
            return;
        }
        if draw.stats[5] != 0.0 {
            self.divergences.fetch_add(1, Ordering::Relaxed);
        }
        let made = self.draws.fetch_add(1, Ordering::Relaxed) + 1;
        if self.stop_after.is_some_and(|n| made >= n) {
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
            p.draws.load(Ordering::Relaxed),
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
    /// `{"groups": [...], "interrupted": bool, "failures": [str], "draws": n}`.
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
        // Stan's warnings, as `rlc run` prints them after its table.
        let warnings = if fit.draws_per_chain() > 0 {
            rlc_driver::summary::warnings(&fit.run_draws(), fit.settings.max_depth)
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
#[pyo3(signature = (model, data, chains, warmup, draws, seed, max_depth, adapt_delta, backend_name="jit", log_lik=None, predict=None, stop_after=None, adaptation=None))]
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
    adaptation: Option<&str>,
) -> PyResult<Run> {
    use rlc_driver::generate::{DrawExtras, DrawOutputs, LogLikUnit, PredictKind};
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
        Some(name) => sample::WarmupKind::from_name(name)
            .ok_or_else(|| value_error("adaptation", name, "\"stan\" or \"fisher\""))?,
    };
    let settings = SampleSettings {
        chains,
        adaptation,
        warmup: warmup.unwrap_or_else(|| sample::default_warmup(adaptation)),
        draws,
        seed,
        max_depth,
        adapt_delta,
        threads: 0,
    };
    settings
        .validate()
        .map_err(|e| to_py_err(py, e, data.source))?;
    let density = bind(py, model, data, backend(backend_name)?)?;
    let outputs = DrawOutputs::new(&model.compiled, &data.data, extras)
        .map_err(|e| to_py_err(py, e, data.source))?;
    let stop = Arc::new(AtomicBool::new(false));
    let progress = Arc::new(Progress {
        iterations: (0..chains).map(|_| AtomicU64::new(0)).collect(),
        draws: AtomicU64::new(0),
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
        compiled: model.compiled.clone(),
        data: data.data.clone(),
        source: data.source,
        warmup,
    })
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
    m.add_class::<CompiledModel>()?;
    m.add_class::<LoadedData>()?;
    m.add_class::<Run>()?;
    m.add_function(wrap_pyfunction!(compile, m)?)?;
    m.add_function(wrap_pyfunction!(load_data, m)?)?;
    m.add_function(wrap_pyfunction!(logp_grad, m)?)?;
    m.add_function(wrap_pyfunction!(coordinates, m)?)?;
    m.add_function(wrap_pyfunction!(start, m)?)?;
    Ok(())
}
