//! The text form of the IR, for snapshot tests, `--emit ir` and verifier
//! messages. It reads like Cranelift's: one op per line, results with their
//! types on the left, nested regions indented under the op that owns them.
//!
//! ```text
//! fn log_density(%0: real[2] = theta, %1: int[T] = data action) {
//!   %3: real = const 0.5
//!   %4: real[T, 2] = broadcast_to %3
//!   %7: real[2], %8: real[T, 2] = scan carries=1 sequences=1 (%5, %4) {
//!   ^(%9: real[2], %10: real[2]):
//!     %11: real[2] = add %9, %10
//!     yield %11, %11
//!   }
//!   %12: real = index %0[%2 checked, 0:T - 1, gather %3]
//!   return %12
//! }
//! ```
//!
//! Index plans are printed in place: a constant index as its dimension, a
//! dynamic scalar index as the value holding it, a slice as `start:stop`, a
//! gather as `gather %v`; `checked` marks entries whose bounds are checked at
//! run time. `index_set` and `index_inc` print as `base[plan] = value` and
//! `base[plan] += value`. The printer never panics, even on IR the verifier
//! rejects: unknown values print their type as `<invalid>`, missing index
//! arguments as `<missing>`.

use crate::ir::*;
use std::fmt::{self, Write};

/// The text form of `f`, ending with a newline.
pub fn print_function(f: &Function) -> String {
    let mut out = String::new();
    let params: Vec<String> = f
        .body
        .args
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let binding = match f.inputs.get(i) {
                Some(Input::Theta) => " = theta".to_string(),
                Some(Input::Data(name)) => format!(" = data {name}"),
                None => String::new(),
            };
            format!("{}{binding}", typed(f, *v))
        })
        .collect();
    let _ = writeln!(out, "fn {}({}) {{", f.name, params.join(", "));
    for op in &f.body.ops {
        print_op(f, op, 1, &mut out);
    }
    let _ = writeln!(out, "  return{}", value_list(&f.body.results));
    out.push_str("}\n");
    out
}

impl fmt::Display for Function {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        out.write_str(&print_function(self))
    }
}

/// The first line of an op's text form (without its regions and without
/// indentation), as verifier errors quote it.
pub fn op_line(f: &Function, op: &Op) -> String {
    let mut line = String::new();
    if !op.results.is_empty() {
        let results: Vec<String> = op.results.iter().map(|v| typed(f, *v)).collect();
        line.push_str(&results.join(", "));
        line.push_str(" = ");
    }
    line.push_str(&op_text(f, op));
    if op.kind.has_regions() {
        line.push_str(" {");
    }
    line
}

fn print_op(f: &Function, op: &Op, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let _ = writeln!(out, "{indent}{}", op_line(f, op));
    match &op.kind {
        OpKind::Scan { body, .. } | OpKind::For { body } => {
            print_region(f, body, depth, out);
            let _ = writeln!(out, "{indent}}}");
        }
        OpKind::If {
            then_region,
            else_region,
        } => {
            print_region(f, then_region, depth, out);
            let _ = writeln!(out, "{indent}}} else {{");
            print_region(f, else_region, depth, out);
            let _ = writeln!(out, "{indent}}}");
        }
        _ => {}
    }
}

/// A region: its argument line at the owner's indentation, its ops one level
/// deeper, then `yield`.
fn print_region(f: &Function, region: &Region, depth: usize, out: &mut String) {
    let indent = "  ".repeat(depth);
    let args: Vec<String> = region.args.iter().map(|v| typed(f, *v)).collect();
    let _ = writeln!(out, "{indent}^({}):", args.join(", "));
    for op in &region.ops {
        print_op(f, op, depth + 1, out);
    }
    let _ = writeln!(out, "{indent}  yield{}", value_list(&region.results));
}

/// `%3: real[T]`.
fn typed(f: &Function, v: ValueId) -> String {
    match f.values.get(v.0 as usize) {
        Some(ty) => format!("{v}: {ty}"),
        None => format!("{v}: <invalid>"),
    }
}

/// ` %1, %2` (with a leading space), or nothing for an empty list.
fn value_list(values: &[ValueId]) -> String {
    if values.is_empty() {
        String::new()
    } else {
        format!(" {}", join(values))
    }
}

fn join(values: &[ValueId]) -> String {
    let names: Vec<String> = values.iter().map(|v| v.to_string()).collect();
    names.join(", ")
}

/// The op's name, attributes and operands.
fn op_text(f: &Function, op: &Op) -> String {
    let args = value_list(&op.args);
    match &op.kind {
        OpKind::Const(c) => {
            let elem = op
                .results
                .first()
                .and_then(|v| f.values.get(v.0 as usize))
                .map(|ty| ty.elem);
            match elem {
                Some(Elem::Int) if c.fract() == 0.0 => format!("const {c}"),
                Some(Elem::Bool) if *c == 0.0 => "const false".to_string(),
                Some(Elem::Bool) if *c == 1.0 => "const true".to_string(),
                _ => format!("const {c:?}"),
            }
        }
        OpKind::SizeOf(d) => format!("size_of {d}"),
        OpKind::Iota => format!("iota{args}"),
        OpKind::Random {
            dist,
            truncated,
            joint,
        } => {
            let name = match dist {
                RandomDist::Scalar(f) => f.name().to_string(),
                RandomDist::Categorical { ordered: true, .. } => "ordered_logistic".to_string(),
                RandomDist::Categorical { logits: true, .. } => "categorical_logits".to_string(),
                RandomDist::Categorical { logits: false, .. } => "categorical".to_string(),
                RandomDist::LbaFinishTimes => "lba_finish_times".to_string(),
            };
            let t = match (truncated, joint) {
                (true, true) => " truncated joint",
                (true, false) => " truncated",
                _ => "",
            };
            format!("random {name}{t}{args}")
        }
        OpKind::Fill => format!("fill{args}"),
        OpKind::BroadcastTo => format!("broadcast_to{args}"),
        OpKind::SumTo => format!("sum_to{args}"),
        OpKind::Reshape => format!("reshape{args}"),
        OpKind::Transpose => format!("transpose{args}"),
        OpKind::Concat { axis } => format!("concat axis={axis}{args}"),
        OpKind::Unary(u) => format!("{}{args}", unary_name(*u)),
        OpKind::Binary(b) => format!("{}{args}", binary_name(*b)),
        OpKind::Select => format!("select{args}"),
        OpKind::Special(s) => format!("{}{args}", s.name()),
        OpKind::Cast => format!("cast{args}"),
        OpKind::IsPresent => format!("is_present{args}"),
        OpKind::Reduce { op: r, axis } => {
            let axis = match axis {
                Some(a) => format!(" axis={a}"),
                None => String::new(),
            };
            format!("reduce_{}{axis}{args}", reduce_name(*r))
        }
        OpKind::Matmul => format!("matmul{args}"),
        OpKind::Index { plan } => {
            let (base, rest) = split_first(&op.args);
            format!("index {base}{}", plan_text(plan, rest))
        }
        OpKind::IndexSet { plan } | OpKind::IndexInc { plan } => {
            let (base, rest) = split_first(&op.args);
            let (value, indices) = split_first(rest);
            let (name, assign) = match &op.kind {
                OpKind::IndexSet { .. } => ("index_set", "="),
                _ => ("index_inc", "+="),
            };
            format!("{name} {base}{} {assign} {value}", plan_text(plan, indices))
        }
        OpKind::ThetaSlice { offset } => format!("theta_slice offset={offset}{args}"),
        OpKind::Scan {
            carries,
            sequences,
            reverse,
            ..
        } => {
            let reverse = if *reverse { " reverse" } else { "" };
            format!(
                "scan carries={carries} sequences={sequences}{reverse} ({})",
                join(&op.args)
            )
        }
        OpKind::For { .. } => format!("for ({})", join(&op.args)),
        OpKind::If { .. } => format!("if ({})", join(&op.args)),
    }
}

fn split_first(values: &[ValueId]) -> (String, &[ValueId]) {
    match values.split_first() {
        Some((first, rest)) => (first.to_string(), rest),
        None => ("<missing>".to_string(), &[]),
    }
}

/// `[%2 checked, 1, 0:T - 1, gather %3]`, consuming the dynamic indices in
/// plan order; surplus index values are listed after the plan.
fn plan_text(plan: &[AxisIndex], indices: &[ValueId]) -> String {
    let mut next = indices.iter();
    let mut dynamic = || match next.next() {
        Some(v) => v.to_string(),
        None => "<missing>".to_string(),
    };
    let checked = |check: bool| if check { " checked" } else { "" };
    let mut entries = Vec::new();
    for axis in plan {
        entries.push(match axis {
            AxisIndex::Scalar {
                constant: Some(c),
                needs_bounds_check,
            } => format!("{c}{}", checked(*needs_bounds_check)),
            AxisIndex::Scalar {
                constant: None,
                needs_bounds_check,
            } => format!("{}{}", dynamic(), checked(*needs_bounds_check)),
            AxisIndex::Slice { start, stop } => format!("{start}:{stop}"),
            AxisIndex::Gather { needs_bounds_check } => {
                format!("gather {}{}", dynamic(), checked(*needs_bounds_check))
            }
        });
    }
    let surplus: Vec<ValueId> = next.copied().collect();
    let mut text = format!("[{}]", entries.join(", "));
    if !surplus.is_empty() {
        let _ = write!(text, " extra {}", join(&surplus));
    }
    text
}

pub(crate) fn unary_name(op: UnaryOp) -> &'static str {
    match op {
        UnaryOp::Neg => "neg",
        UnaryOp::Not => "not",
        UnaryOp::Exp => "exp",
        UnaryOp::Log => "log",
        UnaryOp::Log1p => "log1p",
        UnaryOp::Expm1 => "expm1",
        UnaryOp::Sqrt => "sqrt",
        UnaryOp::Abs => "abs",
        UnaryOp::Log1pExp => "log1p_exp",
        UnaryOp::Logistic => "logistic",
        UnaryOp::Lgamma => "lgamma",
        UnaryOp::Digamma => "digamma",
        UnaryOp::Trigamma => "trigamma",
        UnaryOp::Phi => "phi",
        UnaryOp::Sin => "sin",
        UnaryOp::Cos => "cos",
        UnaryOp::Tanh => "tanh",
        UnaryOp::LogPhi => "log_phi",
        UnaryOp::LogPhiSlope => "log_phi_slope",
        UnaryOp::LogBesselI0e => "log_bessel_i0e",
        UnaryOp::LogBesselI0eSlope => "log_bessel_i0e_slope",
        UnaryOp::InvPhi => "inv_phi",
        UnaryOp::MillsRatio => "mills_ratio",
    }
}

pub(crate) fn binary_name(op: BinaryOp) -> &'static str {
    match op {
        BinaryOp::Add => "add",
        BinaryOp::Sub => "sub",
        BinaryOp::Mul => "mul",
        BinaryOp::Div => "div",
        BinaryOp::Pow => "pow",
        BinaryOp::Atan2 => "atan2",
        BinaryOp::Max => "max",
        BinaryOp::Min => "min",
        BinaryOp::Lt => "lt",
        BinaryOp::Le => "le",
        BinaryOp::Gt => "gt",
        BinaryOp::Ge => "ge",
        BinaryOp::Eq => "eq",
        BinaryOp::Ne => "ne",
        BinaryOp::And => "and",
        BinaryOp::Or => "or",
    }
}

pub(crate) fn reduce_name(op: ReduceOp) -> &'static str {
    match op {
        ReduceOp::Sum => "sum",
        ReduceOp::Prod => "prod",
        ReduceOp::Max => "max",
        ReduceOp::Min => "min",
        ReduceOp::LogSumExp => "logsumexp",
    }
}
