//! Stan-format JSON data written from a model's declarations: every size
//! (0 and 1 as often as larger ones), every data variable with its shape,
//! values in the declared range mostly and at or past its edges sometimes,
//! missing cells (`null`) in optional ones.

use crate::Rng;
use rlc_check::model::{Model, SymbolKind};
use rlc_check::types::ElemType;
use std::collections::HashMap;

/// A size: small, often 0 or 1 (empty data must evaluate to the prior).
fn size(rng: &mut Rng) -> i64 {
    *rng.pick(&[0, 1, 1, 2, 3, 3, 4, 5, 7])
}

fn real(rng: &mut Rng, positive: bool) -> String {
    let x = if rng.chance(0.05) {
        *rng.pick(&[0.0, -1.0, 1e300, -1e300, 1e-300, 1.0])
    } else {
        rng.unit() * 4.0 - 2.0
    };
    let x = if positive && !rng.chance(0.03) {
        x.abs() + 1e-3
    } else {
        x
    };
    format!("{x:?}")
}

/// Writes `values` (row-major) nested to `shape`.
fn nested(shape: &[usize], values: &[String], out: &mut String) {
    match shape.split_first() {
        None => out.push_str(values.first().map_or("0", String::as_str)),
        Some((n, rest)) => {
            out.push('[');
            let step: usize = rest.iter().product();
            for i in 0..*n {
                if i > 0 {
                    out.push_str(", ");
                }
                let part = values.get(i * step..(i + 1) * step).unwrap_or(&[]);
                nested(rest, part, out);
            }
            out.push(']');
        }
    }
}

/// JSON data for `model` (see the module doc).
pub fn for_model(rng: &mut Rng, model: &Model) -> Vec<u8> {
    let mut sizes: HashMap<String, i64> = HashMap::new();
    let mut items = Vec::new();
    for id in &model.sizes {
        let sym = model.symbol(*id);
        if let SymbolKind::Size { .. } = sym.kind {
            let n = size(rng);
            sizes.insert(sym.name.clone(), n);
            if !rng.chance(0.02) {
                items.push(format!("\"{}\": {n}", sym.name));
            }
        }
    }
    for d in &model.data {
        let sym = model.symbol(d.symbol);
        let shape: Vec<usize> = sym
            .info
            .ty
            .shape
            .iter()
            .map(|dim| {
                let n = dim.eval(&sizes).unwrap_or(0);
                // A shape the sizes make negative: write an empty axis.
                usize::try_from(n).unwrap_or(0).min(64)
            })
            .collect();
        let count: usize = shape.iter().product();
        let values: Vec<String> = (0..count)
            .map(|_| {
                if sym.info.ty.optional && rng.chance(0.2) {
                    return "null".into();
                }
                match sym.info.ty.elem {
                    ElemType::Int => {
                        let (lo, hi) = d
                            .int_range
                            .as_ref()
                            .and_then(|r| Some((r.lo.eval(&sizes)?, r.hi.eval(&sizes)?)))
                            .unwrap_or((0, 4));
                        if rng.chance(0.03) {
                            // Outside the declared range: a data error.
                            return (*rng.pick(&[hi, lo - 1, -1, 1 << 40])).to_string();
                        }
                        let span = (hi - lo).max(1);
                        (lo + (rng.unit() * span as f64) as i64).to_string()
                    }
                    ElemType::Real => real(rng, d.interval.is_some_and(|i| i.lo >= 0.0)),
                    ElemType::Bool => if rng.chance(0.5) { "1" } else { "0" }.to_string(),
                }
            })
            .collect();
        if rng.chance(if d.default.is_some() { 0.5 } else { 0.02 }) {
            // A variable left out: its default, or a data error.
            continue;
        }
        let mut text = String::new();
        nested(&shape, &values, &mut text);
        items.push(format!("\"{}\": {text}", sym.name));
    }
    format!("{{{}}}\n", items.join(",\n ")).into_bytes()
}

/// JSON data for the model `source` if it checks, else an empty object.
pub fn for_source(rng: &mut Rng, source: &str) -> Vec<u8> {
    let (model, _) = rlc_check::compile(source);
    match model {
        Some(model) => for_model(rng, &model),
        None => b"{}\n".to_vec(),
    }
}
