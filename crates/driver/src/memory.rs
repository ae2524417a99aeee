//! Memory limits: a model whose arrays, at the data's sizes, would need more
//! memory than allowed is refused before anything is allocated, with an
//! error naming the largest array, where it is in the model, and the bytes
//! (an allocation that fails aborts the process, which no front end can
//! report). The front end chooses the limit (the CLI's `--max-memory`,
//! by default the memory available); this module knows no files.

use crate::{Compiled, Data, Error, ErrorKind};
use rlc_syntax::ast;

/// Bytes per element: every value is an `f64` in both backends.
const ELEMENT_BYTES: u128 = 8;

/// Gradient evaluation keeps, beyond the values of the log density, their
/// adjoints and the values a reverse scan needs: about three times the
/// forward values (measured on the bundled models: 2.1 to 2.9).
const GRADIENT_FACTOR: u128 = 3;

/// `bytes` for a person: `8.0 GB`.
pub fn human_bytes(bytes: u128) -> String {
    let units = ["bytes", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut x = bytes as f64;
    let mut unit = 0;
    while x >= 1000.0 && unit + 1 < units.len() {
        x /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} bytes")
    } else {
        format!("{x:.1} {}", units[unit])
    }
}

/// One array of the model at the data's sizes.
struct Array {
    /// How the model names it: `` `Q` `` or `` `zeros(N, N)` at m.rlm:3:9 ``.
    what: String,
    shape: Vec<i128>,
    elements: u128,
}

/// The 1-based line and column of byte `offset` of `source`.
fn line_column(source: &str, offset: usize) -> (usize, usize) {
    let before = source.get(..offset).unwrap_or(source);
    let line = before.matches('\n').count() + 1;
    let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Every array-valued expression of the model with its size at `sizes`
/// (sizes the data lack count as 0).
fn arrays(compiled: &Compiled, data: &Data) -> Vec<Array> {
    let model = &compiled.model;
    let mut out = Vec::new();
    let mut visit = |e: &ast::Expr| {
        let Some(info) = model.info(e.id) else {
            return;
        };
        if info.ty.shape.is_empty() {
            return;
        }
        let shape = concrete(&info.ty.shape, &data.sizes);
        let elements = shape
            .iter()
            .try_fold(1u128, |acc, n| acc.checked_mul(*n as u128))
            .unwrap_or(u128::MAX);
        let text = compiled
            .source
            .get(e.span.range())
            .unwrap_or("an expression");
        let text = if text.chars().count() > 40 {
            format!("{}…", text.chars().take(40).collect::<String>())
        } else {
            text.to_string()
        };
        let (line, column) = line_column(&compiled.source, e.span.start);
        out.push(Array {
            what: format!("`{text}` at {}:{line}:{column}", compiled.name),
            shape,
            elements,
        });
    };
    ast::visit_exprs(&model.program, &mut visit);
    // Declared arrays (data, parameters) by name.
    for symbol in &model.symbols {
        if symbol.info.ty.shape.is_empty() || !symbol.top_level {
            continue;
        }
        let shape = concrete(&symbol.info.ty.shape, &data.sizes);
        let elements = shape
            .iter()
            .try_fold(1u128, |acc, n| acc.checked_mul(*n as u128))
            .unwrap_or(u128::MAX);
        out.push(Array {
            what: format!("`{}`", symbol.name),
            shape,
            elements,
        });
    }
    out
}

/// A shape at the data's sizes (sizes the data lack count as 0). Shapes
/// are polynomials in the sizes: evaluated in saturating i128, a huge one
/// stays huge instead of wrapping.
fn concrete(shape: &[rlc_check::Dim], sizes: &std::collections::HashMap<String, i64>) -> Vec<i128> {
    shape
        .iter()
        .map(|d| {
            let mut total = d.constant_part() as i128;
            for (monomial, coef) in d.terms() {
                let term = monomial.iter().fold(coef as i128, |acc, name| {
                    acc.saturating_mul(*sizes.get(name).unwrap_or(&0) as i128)
                });
                total = total.saturating_add(term);
            }
            total.max(0)
        })
        .collect()
}

fn shape_text(shape: &[i128]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// Refuses a model whose arrays, at the data's sizes, need more than
/// `limit` bytes: one array alone, or all of them while computing the
/// gradient. `limit_source` says where the limit came from, for the message.
pub fn check(
    compiled: &Compiled,
    data: &Data,
    limit: u64,
    limit_source: &str,
) -> Result<(), Error> {
    check_threads(compiled, data, limit, limit_source, 1)
}

/// `check` for a log density whose loop over subjects runs on `threads`
/// threads: each thread computes in its own copy of the arrays.
pub fn check_threads(
    compiled: &Compiled,
    data: &Data,
    limit: u64,
    limit_source: &str,
    threads: usize,
) -> Result<(), Error> {
    let arrays = arrays(compiled, data);
    let limit = limit as u128;
    let Some(largest) = arrays.iter().max_by_key(|a| a.elements) else {
        return Ok(());
    };
    let bytes = |n: u128| n.saturating_mul(ELEMENT_BYTES);
    let refuse = |message: String| {
        Err(Error::new(
            ErrorKind::Data,
            format!(
                "{message}; more than the {} that may be used ({limit_source}). Check the sizes in the data ({}), or raise --max-memory if the machine has the memory",
                human_bytes(limit),
                sizes_text(data)
            ),
        ))
    };
    if bytes(largest.elements) > limit {
        return refuse(format!(
            "error: {} would hold {} elements ({}) at the data's sizes: {}",
            largest.what,
            largest.elements,
            shape_text(&largest.shape),
            human_bytes(bytes(largest.elements))
        ));
    }
    let total = arrays
        .iter()
        .fold(0u128, |acc, a| acc.saturating_add(a.elements))
        .saturating_mul(GRADIENT_FACTOR)
        .saturating_mul(threads.max(1) as u128);
    let on_threads = if threads > 1 {
        format!(" on {threads} threads (--threads)")
    } else {
        String::new()
    };
    if bytes(total) > limit {
        return refuse(format!(
            "error: the model's arrays would need about {} at the data's sizes to compute the gradient{on_threads} (the largest: {}, {} elements, {})",
            human_bytes(bytes(total)),
            largest.what,
            largest.elements,
            shape_text(&largest.shape)
        ));
    }
    Ok(())
}

/// `T = 100, N = 20`, the sizes as the data gave them.
fn sizes_text(data: &Data) -> String {
    let mut sizes: Vec<(&String, &i64)> = data.sizes.iter().collect();
    sizes.sort();
    let items: Vec<String> = sizes.iter().map(|(k, v)| format!("{k} = {v}")).collect();
    if items.is_empty() {
        "it gives no sizes".into()
    } else {
        items.join(", ")
    }
}

/// The bytes a run keeps in memory for its draws: `chains × draws ×
/// values` (the summary and the Zarr store are computed from them).
pub fn check_draws(
    chains: usize,
    draws: usize,
    values_per_draw: usize,
    limit: u64,
    limit_source: &str,
) -> Result<(), Error> {
    let elements = (chains as u128)
        .saturating_mul(draws as u128)
        .saturating_mul(values_per_draw as u128 + 7);
    let bytes = elements.saturating_mul(ELEMENT_BYTES);
    if bytes > limit as u128 {
        return Err(Error::usage(format!(
            "error: {chains} chains × {draws} draws of {values_per_draw} values would need {} of memory for the draws, more than the {} that may be used ({limit_source}); run fewer --draws, or raise --max-memory if the machine has the memory",
            human_bytes(bytes),
            human_bytes(limit as u128)
        )));
    }
    Ok(())
}

/// [`check_draws`] against the process's [`limit`].
pub fn check_draws_fit(chains: usize, draws: usize, values_per_draw: usize) -> Result<(), Error> {
    let (limit, limit_source) = limit();
    check_draws(chains, draws, values_per_draw, limit, &limit_source)
}

/// The limit `Density::new` and sampling check against, and where it came
/// from. A front end sets it once (the CLI from `--max-memory` or the
/// memory available); by default it is the largest allocation possible, so
/// a size that overflows is an error rather than an abort.
static LIMIT: std::sync::Mutex<Option<(u64, String)>> = std::sync::Mutex::new(None);

/// Sets the memory limit for the process.
pub fn set_limit(bytes: u64, source: impl Into<String>) {
    if let Ok(mut limit) = LIMIT.lock() {
        *limit = Some((bytes, source.into()));
    }
}

/// The memory limit and where it came from: the one a front end set, else
/// the memory available (so that a library caller, such as the Python
/// package, gets an error rather than an abort), else the largest
/// allocation possible.
pub fn limit() -> (u64, String) {
    if let Some(set) = LIMIT.lock().ok().and_then(|l| l.clone()) {
        return set;
    }
    match available() {
        Some(bytes) => (bytes, "the memory available now".into()),
        None => (isize::MAX as u64, "the largest allocation possible".into()),
    }
}

/// The memory available to the process now (Linux: `MemAvailable` in
/// /proc/meminfo), if known.
pub fn available() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    kb.checked_mul(1024)
}
