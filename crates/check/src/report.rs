//! `rlc check --emit shapes`: each model-level binding with its inferred type.

use crate::model::{Bound, Model, SymbolKind};
use crate::types::ElemType;
use std::fmt::Write;

/// One line per model-level declaration or binding, in source order:
/// `kind name: type`, with integer ranges and parameter constraints.
pub fn shapes_report(model: &Model, source: &str) -> String {
    let mut out = String::new();
    let mut top_level: Vec<_> = model
        .bindings
        .values()
        .map(|id| (*id, model.symbol(*id)))
        .filter(|(_, s)| s.top_level)
        .collect();
    top_level.sort_by_key(|(_, s)| s.span.start);
    let bound_text = |b: &Bound| match b {
        Bound::Const(c) if c.is_infinite() => {
            if *c > 0.0 {
                "inf".to_string()
            } else {
                "-inf".to_string()
            }
        }
        Bound::Const(c) => format!("{c}"),
        Bound::Expr(_, span) => source.get(span.range()).unwrap_or("…").to_string(),
    };
    for (id, sym) in top_level {
        let kind = match &sym.kind {
            SymbolKind::Size { .. } => "size",
            SymbolKind::Data => "data",
            SymbolKind::Param => "param",
            SymbolKind::Let => "let",
            SymbolKind::Out | SymbolKind::LoopOut => "out",
            _ => continue,
        };
        let _ = write!(out, "{kind:<5} {}: {}", sym.name, sym.info.ty);
        match &sym.kind {
            SymbolKind::Size {
                group_by,
                largest_of,
                default,
            } => {
                if let Some(value) = default {
                    let _ = write!(out, " (default {value})");
                }
                if let Some(col) = group_by {
                    let _ = write!(out, " (rows grouped by column `{col}`)");
                }
                if let Some(l) = largest_of {
                    let _ = write!(out, " (the largest value of `{}`", l.data);
                    if l.plus != 0 {
                        let _ = write!(out, ", plus {}", l.plus);
                    }
                    let _ = write!(out, ")");
                }
            }
            SymbolKind::Param => {
                if let Some(p) = model.params.iter().find(|p| p.symbol == id) {
                    let c = &p.constraint;
                    if c.lower.is_some() || c.upper.is_some() {
                        let lo = c.lower.as_ref().map_or("-inf".to_string(), bound_text);
                        let hi = c.upper.as_ref().map_or("inf".to_string(), bound_text);
                        let _ = write!(out, " in ({lo}, {hi})");
                    }
                }
            }
            _ => {
                if let Some(range) = &sym.info.range {
                    let _ = write!(out, " in {range}");
                }
                if let Some(d) = model.data.iter().find(|d| d.symbol == id) {
                    if let Some(interval) = d.interval {
                        let _ = write!(out, " in {interval}");
                    }
                    if let Some(cells) = &d.default {
                        let bool_type = sym.info.ty.elem == ElemType::Bool;
                        let _ = write!(
                            out,
                            " = {}",
                            default_text(cells, &d.default_shape, bool_type)
                        );
                    }
                }
                if sym.info.depends_on_param() {
                    out.push_str("  (depends on parameters)");
                }
            }
        }
        out.push('\n');
    }
    if !model.size_requirements.is_empty() {
        out.push_str("checked when data loads:\n");
        let mut seen = Vec::new();
        for r in &model.size_requirements {
            if !seen.contains(&&r.nonnegative) {
                seen.push(&r.nonnegative);
                let _ = writeln!(out, "  {} >= 0 ({})", r.nonnegative, r.why);
            }
        }
    }
    out
}

/// A data default as the model writes it: `0.1`, `true`, `[0.5, 1]`, `[[1, 2], [3, 4]]`,
/// from its cells and the lengths of its axes.
fn default_text(cells: &[f64], lengths: &[usize], bool_type: bool) -> String {
    let Some((&rows, inner)) = lengths.split_first() else {
        return match cells.first() {
            Some(v) if bool_type => (*v != 0.0).to_string(),
            Some(v) => v.to_string(),
            None => String::new(),
        };
    };
    let width = cells.len() / rows.max(1);
    let items: Vec<String> = cells
        .chunks(width.max(1))
        .map(|row| default_text(row, inner, bool_type))
        .collect();
    format!("[{}]", items.join(", "))
}
