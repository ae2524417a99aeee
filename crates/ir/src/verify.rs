//! The IR verifier: checks the invariants every pass relies on, and reports
//! every violation it finds (not just the first), each naming the op (in its
//! text form) and what is wrong. Run it after lowering and after autodiff.
//!
//! Invariants checked:
//!
//! **Values and scopes**
//! 1. Every value id (region argument, op operand, op result, region result)
//!    is `< values.len()`.
//! 2. Every value is defined exactly once, as a region argument or an op
//!    result, anywhere in the function.
//! 3. A region uses (as op operands or as its results) only its own
//!    arguments and values defined by earlier ops of that same region: no
//!    use before definition and no implicit capture from an enclosing region.
//! 4. The function body has one argument per input; the `theta` input
//!    appears at most once and is a `real` vector.
//!
//! **Per op kind** (arity: number of operands and of results; shapes are
//! compared symbolically, so "equal" means provably equal)
//! 5. `Const`: no operands, one scalar result; an `int` constant is an
//!    integer, a `bool` constant is 0 or 1.
//! 6. `SizeOf`: no operands, one `int` scalar. `Iota`: no operands, one
//!    `int` vector.
//! 7. `Fill`: one scalar operand of the result's element type.
//! 8. `BroadcastTo`: the result has the operand's element type and is a
//!    NumPy broadcast target of the operand: aligned on the right, each
//!    operand dimension equals the result's or is the constant 1.
//!    `SumTo`: the same with operand and result swapped.
//! 9. `Reshape`: same element type; the element count is kept — checked
//!    when both shapes are constants, or when they are identical after
//!    removing axes of constant size 1; otherwise it is not provable and
//!    is left to run time.
//! 10. `Transpose`: a matrix operand; the result has the axes swapped.
//! 11. `Concat { axis }`: at least one operand, all of the result's element
//!     type and rank, `axis < rank`, equal dimensions except along `axis`,
//!     where the result's dimension is their sum.
//! 12. `Unary`: one operand, the result has its shape. `Not` takes and
//!     gives `bool`; `Neg` and `Abs` keep an `int` or `real` type; every
//!     other unary op takes and gives `real`.
//! 13. `Binary`: two operands of identical type (element and shape); the
//!     result has that shape. `Add`, `Sub`, `Mul` take `int` or `real` and
//!     keep it; `Div` and `Pow` take and give `real`; `Max`, `Min` keep the
//!     operand type; comparisons (`Lt` … `Ne`) give `bool`; `And`, `Or`
//!     take and give `bool`.
//! 14. `Select`: three operands of one shape; the condition is `bool`; both
//!     alternatives have the result's type.
//! 15. `Cast`: one operand; the result has its shape. `IsPresent`: one
//!     operand; the result is `bool` of its shape.
//! 16. `Reduce { op, axis }`: one operand; `axis < rank`; the result's shape
//!     is the operand's without `axis` (a scalar when `axis` is `None`); the
//!     element type is kept; `Sum` and `Prod` take `int` or `real` (a sum of
//!     bools is not a bool), and `LogSumExp` takes `real`.
//! 17. `Matmul`: two operands of rank 1 or 2 of the result's element type,
//!     inner dimensions equal; the result shape follows NumPy's `@`.
//! 18. `Index`, `IndexSet`, `IndexInc`: the plan is no longer than the
//!     base's rank; there is one dynamic index operand per plan entry that
//!     needs one (a scalar without a constant, a gather), all `int`; a
//!     scalar index is a scalar; a plan with gathers has no scalar entries
//!     and all gather operands share one shape `G`. The indexed part's
//!     shape follows NumPy: scalar entries remove their axis, a slice
//!     `start:stop` gives `stop - start`, the gather shape `G` goes where the
//!     first gather is when the gathers are adjacent and in front otherwise,
//!     and axes after the plan are kept. `Index` gives the part (of the
//!     base's element type); `IndexSet` and `IndexInc` take a value of the
//!     part's type and give the base's type.
//! 19. `ThetaSlice`: one operand, which is the `theta` input (directly, or a
//!     region argument bound to it as a capture); one `real` result; when
//!     the offset, the result's size and theta's length are constants, the
//!     slice lies within theta.
//! 20. `Scan { carries, sequences }`: operands = carries + sequences +
//!     captures, at least one sequence; the body's arguments have the
//!     carries' types, the sequences' element types (the sequence type
//!     without its leading axis) and the captures' types; the body yields
//!     the next carries (of the carries' types) then the per-step outputs;
//!     the op's results are the final carries (carry types) and each output
//!     stacked along a new leading axis of the sequences' common length.
//! 21. `For`: operands `lo`, `hi` (`int` scalars) then captures; the body's
//!     arguments are an `int` scalar index and the captures' types; the body
//!     yields `real` values of the op's result types, one per result.
//! 22. `If`: a `bool` scalar condition then captures; each region's
//!     arguments have the captures' types and it yields values of the op's
//!     result types.
//! 23. `Special(s)`: `s.arity()` operands and `s.results()` results, all
//!     `real` of one shape.

use crate::ir::*;
use crate::print::op_line;
use std::fmt;

/// One broken invariant: where (the op's first text line, or `None` for the
/// function itself) and what is wrong.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyError {
    /// The first line of the op's text form, as `print` writes it.
    pub op: Option<String>,
    /// What is wrong, in a sentence.
    pub message: String,
}

impl fmt::Display for VerifyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.op {
            Some(op) => write!(f, "{}\n    in `{op}`", self.message),
            None => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for VerifyError {}

/// Checks every invariant listed in the module doc; returns all violations.
pub fn verify(f: &Function) -> Result<(), Vec<VerifyError>> {
    let mut v = Verifier {
        f,
        scope: vec![None; f.values.len()],
        is_theta: vec![false; f.values.len()],
        next_region: 0,
        errors: Vec::new(),
    };
    v.function();
    if v.errors.is_empty() {
        Ok(())
    } else {
        Err(v.errors)
    }
}

struct Verifier<'f> {
    f: &'f Function,
    /// The region (by visiting order) that defines each value, once defined.
    scope: Vec<Option<u32>>,
    /// Whether a value is the theta input or a capture bound to it.
    is_theta: Vec<bool>,
    next_region: u32,
    errors: Vec<VerifyError>,
}

/// The error sink of one op: every message it reports names that op.
struct OpCheck<'a, 'f> {
    v: &'a mut Verifier<'f>,
    op: &'a Op,
}

fn shape_text(shape: &[Dim]) -> String {
    rlc_check::dim::shape_to_string(shape)
}

impl<'f> Verifier<'f> {
    fn error(&mut self, op: Option<&Op>, message: String) {
        let op = op.map(|op| op_line(self.f, op));
        self.errors.push(VerifyError { op, message });
    }

    fn ty(&self, v: ValueId) -> Option<&'f TensorType> {
        self.f.values.get(v.0 as usize)
    }

    fn function(&mut self) {
        let f = self.f;
        if f.body.args.len() != f.inputs.len() {
            self.error(
                None,
                format!(
                    "the body has {} arguments but the function has {} inputs",
                    f.body.args.len(),
                    f.inputs.len()
                ),
            );
        }
        let thetas = f.inputs.iter().filter(|i| **i == Input::Theta).count();
        if thetas > 1 {
            self.error(None, format!("{thetas} theta inputs (at most one)"));
        }
        for (input, arg) in f.inputs.iter().zip(&f.body.args) {
            if *input != Input::Theta {
                continue;
            }
            if let Some(ty) = self.ty(*arg) {
                if ty.elem != Elem::Real || ty.shape.len() != 1 {
                    self.error(None, format!("theta {arg} is {ty}, not a real vector"));
                }
                self.is_theta[arg.0 as usize] = true;
            }
        }
        self.region(&f.body, None);
    }

    /// Defines a value in `region`, checking it is in range and new.
    fn define(&mut self, v: ValueId, region: u32, op: Option<&Op>) {
        match self.scope.get(v.0 as usize) {
            None => self.error(
                op,
                format!(
                    "{v} is defined but there are only {} values",
                    self.f.values.len()
                ),
            ),
            Some(Some(_)) => self.error(op, format!("{v} is defined more than once")),
            Some(None) => self.scope[v.0 as usize] = Some(region),
        }
    }

    /// Checks a use of `v` in `region`.
    fn use_value(&mut self, v: ValueId, region: u32, op: Option<&Op>, what: &str) {
        match self.scope.get(v.0 as usize) {
            None => self.error(
                op,
                format!(
                    "{what} {v} does not exist (there are {} values)",
                    self.f.values.len()
                ),
            ),
            Some(None) => self.error(op, format!("{what} {v} is used before it is defined")),
            Some(Some(r)) if *r != region => self.error(
                op,
                format!(
                    "{what} {v} is defined in another region (captures must be explicit operands)"
                ),
            ),
            Some(Some(_)) => {}
        }
    }

    /// Verifies the scoping of a region and, recursively, of its ops.
    fn region(&mut self, region: &Region, owner: Option<&Op>) {
        let id = self.next_region;
        self.next_region += 1;
        for arg in &region.args {
            self.define(*arg, id, owner);
        }
        for op in &region.ops {
            for arg in &op.args {
                self.use_value(*arg, id, Some(op), "operand");
            }
            self.op(op);
            for result in &op.results {
                self.define(*result, id, Some(op));
            }
        }
        for result in &region.results {
            self.use_value(*result, id, owner, "region result");
        }
    }

    /// Marks region arguments bound to theta captures.
    fn bind_theta(&mut self, outer: &[ValueId], inner: &[ValueId]) {
        for (o, i) in outer.iter().zip(inner) {
            let theta = self.is_theta.get(o.0 as usize).copied().unwrap_or(false);
            if theta {
                if let Some(slot) = self.is_theta.get_mut(i.0 as usize) {
                    *slot = true;
                }
            }
        }
    }

    fn op(&mut self, op: &Op) {
        // Regions are checked for scoping first, then the op's signature.
        match &op.kind {
            OpKind::Scan {
                body,
                carries,
                sequences,
                ..
            } => {
                let fixed = carries + sequences;
                if op.args.len() >= fixed && body.args.len() >= fixed {
                    self.bind_theta(&op.args[fixed..], &body.args[fixed..]);
                }
                self.region(body, Some(op));
            }
            OpKind::For { body } => {
                if op.args.len() >= 2 && !body.args.is_empty() {
                    self.bind_theta(&op.args[2..], &body.args[1..]);
                }
                self.region(body, Some(op));
            }
            OpKind::If {
                then_region,
                else_region,
            } => {
                if !op.args.is_empty() {
                    self.bind_theta(&op.args[1..], &then_region.args);
                    self.bind_theta(&op.args[1..], &else_region.args);
                }
                self.region(then_region, Some(op));
                self.region(else_region, Some(op));
            }
            _ => {}
        }
        // Ops referring to values out of range get only the scope errors.
        let in_range = op
            .args
            .iter()
            .chain(&op.results)
            .all(|v| self.ty(*v).is_some());
        if in_range {
            OpCheck { v: self, op }.signature();
        }
    }
}

impl<'a, 'f> OpCheck<'a, 'f> {
    fn error(&mut self, message: String) {
        self.v.error(Some(self.op), message);
    }

    fn ty(&self, v: ValueId) -> &'f TensorType {
        // `Verifier::op` only builds an `OpCheck` when every value is in range,
        // and region values are checked before they are looked up here.
        static INVALID: TensorType = TensorType {
            elem: Elem::Real,
            shape: Vec::new(),
        };
        self.v.ty(v).unwrap_or(&INVALID)
    }

    fn arg(&self, i: usize) -> &'f TensorType {
        self.ty(self.op.args[i])
    }

    fn result(&self, i: usize) -> &'f TensorType {
        self.ty(self.op.results[i])
    }

    /// Checks the operand and result counts; false when they are wrong.
    fn arity(&mut self, args: usize, results: usize) -> bool {
        let n = self.op.args.len();
        if n != args {
            self.error(format!("{n} operands, expected {args}"));
            return false;
        }
        self.results(results)
    }

    /// Checks that there are at least `min` operands.
    fn min_args(&mut self, min: usize) -> bool {
        let n = self.op.args.len();
        if n < min {
            self.error(format!("{n} operands, expected at least {min}"));
            return false;
        }
        true
    }

    fn results(&mut self, count: usize) -> bool {
        let n = self.op.results.len();
        if n != count {
            self.error(format!("{n} results, expected {count}"));
            return false;
        }
        true
    }

    fn expect_elem(&mut self, what: &str, ty: &TensorType, allowed: &[Elem]) {
        if !allowed.contains(&ty.elem) {
            let names: Vec<String> = allowed.iter().map(|e| e.to_string()).collect();
            self.error(format!("{what} is {ty}, expected {}", names.join(" or ")));
        }
    }

    fn expect_type(&mut self, what: &str, found: &TensorType, expected: &TensorType) {
        if found != expected {
            self.error(format!("{what} is {found}, expected {expected}"));
        }
    }

    fn expect_scalar(&mut self, what: &str, ty: &TensorType, elem: Elem) {
        if !ty.is_scalar() || ty.elem != elem {
            self.error(format!("{what} is {ty}, expected a {elem} scalar"));
        }
    }

    fn signature(&mut self) {
        let op = self.op;
        match &op.kind {
            OpKind::Const(c) => {
                if self.arity(0, 1) {
                    let ty = self.result(0);
                    if !ty.is_scalar() {
                        self.error(format!("a constant of type {ty}, expected a scalar"));
                    }
                    let ok = match ty.elem {
                        Elem::Real => true,
                        Elem::Int => c.fract() == 0.0,
                        Elem::Bool => *c == 0.0 || *c == 1.0,
                    };
                    if !ok {
                        self.error(format!("{c:?} is not a {} constant", ty.elem));
                    }
                }
            }
            OpKind::SizeOf(_) => {
                if self.arity(0, 1) {
                    self.expect_scalar("the result", self.result(0), Elem::Int);
                }
            }
            OpKind::Iota => {
                if self.arity(0, 1) {
                    let ty = self.result(0);
                    if ty.elem != Elem::Int || ty.shape.len() != 1 {
                        self.error(format!("the result is {ty}, expected an int vector"));
                    }
                }
            }
            OpKind::Fill => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    self.expect_scalar("the fill value", x, r.elem);
                }
            }
            OpKind::Random {
                dist, truncated, ..
            } => {
                let args = dist.arity() + if *truncated { 2 } else { 0 };
                if self.arity(args, 1) {
                    let r = self.result(0);
                    let want = if dist.is_discrete() {
                        Elem::Int
                    } else {
                        Elem::Real
                    };
                    if r.elem != want {
                        self.error(format!("the result is {r}, expected {want} draws"));
                    }
                    for i in 0..args {
                        let a = self.arg(i);
                        let expected: Vec<Dim> = match dist {
                            RandomDist::Categorical { .. } => {
                                let mut s = r.shape.clone();
                                s.push(a.shape.last().cloned().unwrap_or_default());
                                s
                            }
                            RandomDist::Scalar(_) | RandomDist::LbaFinishTimes => r.shape.clone(),
                        };
                        if a.elem != Elem::Real || a.shape != expected {
                            self.error(format!(
                                "argument {i} is {a}, expected real{}",
                                shape_text(&expected)
                            ));
                        }
                    }
                }
            }
            OpKind::BroadcastTo | OpKind::SumTo => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    if x.elem != r.elem {
                        self.error(format!("the operand is {x} but the result is {r}"));
                    }
                    let (small, big) = match op.kind {
                        OpKind::BroadcastTo => (x, r),
                        _ => (r, x),
                    };
                    if !broadcasts_to(&small.shape, &big.shape) {
                        self.error(format!(
                            "{} does not broadcast to {}",
                            shape_text(&small.shape),
                            shape_text(&big.shape)
                        ));
                    }
                }
            }
            OpKind::Reshape => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    if x.elem != r.elem {
                        self.error(format!("the operand is {x} but the result is {r}"));
                    }
                    if let Some(false) = same_element_count(&x.shape, &r.shape) {
                        self.error(format!(
                            "reshaping {} to {} changes the number of elements",
                            shape_text(&x.shape),
                            shape_text(&r.shape)
                        ));
                    }
                }
            }
            OpKind::Transpose => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    if x.shape.len() != 2 {
                        self.error(format!("transposing {x}, which is not a matrix"));
                    } else {
                        let swapped =
                            TensorType::new(x.elem, vec![x.shape[1].clone(), x.shape[0].clone()]);
                        self.expect_type("the result", r, &swapped);
                    }
                }
            }
            OpKind::Concat { axis } => {
                if self.min_args(1) && self.results(1) {
                    self.concat(*axis);
                }
            }
            OpKind::Unary(u) => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    let allowed: &[Elem] = match u {
                        UnaryOp::Not => &[Elem::Bool],
                        UnaryOp::Neg | UnaryOp::Abs => &[Elem::Int, Elem::Real],
                        _ => &[Elem::Real],
                    };
                    self.expect_elem("the operand", x, allowed);
                    self.expect_type("the result", r, x);
                }
            }
            OpKind::Binary(b) => {
                if self.arity(2, 1) {
                    self.binary(*b);
                }
            }
            OpKind::Special(s) => {
                if self.arity(s.arity(), s.results()) {
                    let first = self.arg(0);
                    if first.elem != Elem::Real {
                        self.error(format!("the first operand is {first}, expected real"));
                    }
                    for i in 1..s.arity() {
                        let a = self.arg(i);
                        self.expect_type("an operand", a, first);
                    }
                    for i in 0..s.results() {
                        let r = self.result(i);
                        self.expect_type("a result", r, first);
                    }
                }
            }
            OpKind::Select => {
                if self.arity(3, 1) {
                    let (c, a, b, r) = (self.arg(0), self.arg(1), self.arg(2), self.result(0));
                    if c.elem != Elem::Bool || c.shape != r.shape {
                        self.error(format!(
                            "the condition is {c}, expected bool{}",
                            shape_text(&r.shape)
                        ));
                    }
                    self.expect_type("the first alternative", a, r);
                    self.expect_type("the second alternative", b, r);
                }
            }
            OpKind::Cast | OpKind::IsPresent => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    if x.shape != r.shape {
                        self.error(format!("the operand is {x} but the result is {r}"));
                    }
                    if matches!(op.kind, OpKind::IsPresent) && r.elem != Elem::Bool {
                        self.error(format!("the result is {r}, expected bool"));
                    }
                }
            }
            OpKind::Reduce { op: reduce, axis } => {
                if self.arity(1, 1) {
                    let (x, r) = (self.arg(0), self.result(0));
                    let shape = match axis {
                        None => Some(Vec::new()),
                        Some(a) if *a < x.shape.len() => {
                            let mut s = x.shape.clone();
                            s.remove(*a);
                            Some(s)
                        }
                        Some(a) => {
                            self.error(format!(
                                "axis {a} of {x}, which has rank {}",
                                x.shape.len()
                            ));
                            None
                        }
                    };
                    if let Some(shape) = shape {
                        self.expect_type("the result", r, &TensorType::new(x.elem, shape));
                    }
                    match reduce {
                        ReduceOp::LogSumExp => self.expect_elem("the operand", x, &[Elem::Real]),
                        ReduceOp::Sum | ReduceOp::Prod => {
                            self.expect_elem("the operand", x, &[Elem::Int, Elem::Real])
                        }
                        ReduceOp::Max | ReduceOp::Min => {}
                    }
                }
            }
            OpKind::Matmul => {
                if self.arity(2, 1) {
                    self.matmul();
                }
            }
            OpKind::Index { plan } => {
                if self.min_args(1) && self.results(1) {
                    let base = self.arg(0);
                    if let Some(part) = self.index_part(plan, base, &op.args[1..]) {
                        let expected = TensorType::new(base.elem, part);
                        self.expect_type("the result", self.result(0), &expected);
                    }
                }
            }
            OpKind::IndexSet { plan } | OpKind::IndexInc { plan } => {
                if self.min_args(2) && self.results(1) {
                    let base = self.arg(0);
                    if let Some(part) = self.index_part(plan, base, &op.args[2..]) {
                        let expected = TensorType::new(base.elem, part);
                        self.expect_type("the new value", self.arg(1), &expected);
                    }
                    self.expect_type("the result", self.result(0), base);
                }
            }
            OpKind::ThetaSlice { offset } => {
                if self.arity(1, 1) {
                    self.theta_slice(offset);
                }
            }
            OpKind::Scan {
                body,
                carries,
                sequences,
                ..
            } => self.scan(body, *carries, *sequences),
            OpKind::For { body } => self.for_loop(body),
            OpKind::If {
                then_region,
                else_region,
            } => {
                if self.min_args(1) {
                    self.expect_scalar("the condition", self.arg(0), Elem::Bool);
                    let captures = &op.args[1..];
                    self.region_signature("the then region", then_region, captures);
                    self.region_signature("the else region", else_region, captures);
                }
            }
        }
    }

    fn concat(&mut self, axis: usize) {
        let r = self.result(0);
        let rank = r.shape.len();
        if axis >= rank {
            self.error(format!("axis {axis} of a result of rank {rank}"));
            return;
        }
        let mut total = Dim::constant(0);
        for (i, a) in self.op.args.iter().enumerate() {
            let x = self.ty(*a);
            if x.elem != r.elem || x.shape.len() != rank {
                self.error(format!("operand {i} is {x} but the result is {r}"));
                return;
            }
            for (d, (xd, rd)) in x.shape.iter().zip(&r.shape).enumerate() {
                if d != axis && xd != rd {
                    self.error(format!(
                        "operand {i} is {x}, which does not match {r} on axis {d}"
                    ));
                }
            }
            match total.add(&x.shape[axis]) {
                Some(t) => total = t,
                None => return,
            }
        }
        if total != r.shape[axis] {
            self.error(format!(
                "the operands' lengths along axis {axis} add up to {total}, not {}",
                r.shape[axis]
            ));
        }
    }

    fn binary(&mut self, b: BinaryOp) {
        let (x, y, r) = (self.arg(0), self.arg(1), self.result(0));
        if x != y {
            self.error(format!("operands of different types: {x} and {y}"));
            return;
        }
        if x.shape != r.shape {
            self.error(format!("the operands are {x} but the result is {r}"));
        }
        use BinaryOp::*;
        let (allowed, result_elem): (&[Elem], Elem) = match b {
            Add | Sub | Mul => (&[Elem::Int, Elem::Real], x.elem),
            Div | Pow | Atan2 => (&[Elem::Real], Elem::Real),
            Max | Min => (&[Elem::Int, Elem::Real, Elem::Bool], x.elem),
            Lt | Le | Gt | Ge | Eq | Ne => (&[Elem::Int, Elem::Real, Elem::Bool], Elem::Bool),
            And | Or => (&[Elem::Bool], Elem::Bool),
        };
        self.expect_elem("the operands", x, allowed);
        if r.elem != result_elem {
            self.error(format!(
                "the result is {r}, expected {result_elem} elements"
            ));
        }
    }

    fn matmul(&mut self) {
        let (a, b, r) = (self.arg(0), self.arg(1), self.result(0));
        if a.elem != r.elem || b.elem != r.elem {
            self.error(format!(
                "the operands are {a} and {b} but the result is {r}"
            ));
        }
        let (ra, rb) = (a.shape.len(), b.shape.len());
        if !(1..=2).contains(&ra) || !(1..=2).contains(&rb) {
            self.error(format!(
                "the operands are {a} and {b}; matmul needs rank 1 or 2"
            ));
            return;
        }
        let inner_a = &a.shape[ra - 1];
        let inner_b = &b.shape[0];
        if inner_a != inner_b {
            self.error(format!(
                "the inner dimensions of {a} and {b} differ ({inner_a} and {inner_b})"
            ));
        }
        let mut shape = Vec::new();
        if ra == 2 {
            shape.push(a.shape[0].clone());
        }
        if rb == 2 {
            shape.push(b.shape[1].clone());
        }
        if r.shape != shape {
            self.error(format!(
                "the result is {r}, expected shape {}",
                shape_text(&shape)
            ));
        }
    }

    /// The shape of `base[plan]` (see invariant 18), reporting what is wrong.
    fn index_part(
        &mut self,
        plan: &[AxisIndex],
        base: &TensorType,
        indices: &[ValueId],
    ) -> Option<Vec<Dim>> {
        if plan.len() > base.shape.len() {
            self.error(format!(
                "a plan of {} entries for {base}, which has rank {}",
                plan.len(),
                base.shape.len()
            ));
            return None;
        }
        let needed = plan
            .iter()
            .filter(|a| {
                matches!(
                    a,
                    AxisIndex::Scalar { constant: None, .. } | AxisIndex::Gather { .. }
                )
            })
            .count();
        if needed != indices.len() {
            self.error(format!(
                "the plan needs {needed} index operands but there are {}",
                indices.len()
            ));
            return None;
        }
        let has_gather = plan.iter().any(|a| matches!(a, AxisIndex::Gather { .. }));
        let mut ok = true;
        let mut gather_shape: Option<&[Dim]> = None;
        let mut gather_axes = Vec::new();
        // Each kept or sliced axis, and a placeholder (None) for the gathers.
        let mut part: Vec<Option<Dim>> = Vec::new();
        let mut next = indices.iter();
        for (axis, entry) in plan.iter().enumerate() {
            match entry {
                AxisIndex::Scalar { constant, .. } => {
                    if has_gather {
                        self.error(format!(
                            "axis {axis} has a scalar index in a plan with gathers"
                        ));
                        ok = false;
                    }
                    if constant.is_none() {
                        let ix = next.next().map(|v| self.ty(*v));
                        if let Some(ix) = ix {
                            if !ix.is_scalar() || ix.elem != Elem::Int {
                                self.error(format!(
                                    "the index on axis {axis} is {ix}, expected an int scalar"
                                ));
                                ok = false;
                            }
                        }
                    }
                }
                AxisIndex::Slice { start, stop } => match stop.sub(start) {
                    Some(len) => part.push(Some(len)),
                    None => ok = false,
                },
                AxisIndex::Gather { .. } => {
                    let ix = next.next().map(|v| self.ty(*v));
                    if let Some(ix) = ix {
                        if ix.elem != Elem::Int {
                            self.error(format!(
                                "the index array on axis {axis} is {ix}, expected int"
                            ));
                            ok = false;
                        }
                        match gather_shape {
                            None => gather_shape = Some(&ix.shape),
                            Some(g) if g == ix.shape.as_slice() => {}
                            Some(g) => {
                                self.error(format!(
                                    "index arrays of different shapes {} and {}",
                                    shape_text(g),
                                    shape_text(&ix.shape)
                                ));
                                ok = false;
                            }
                        }
                    }
                    if gather_axes.is_empty() {
                        part.push(None);
                    }
                    gather_axes.push(axis);
                }
            }
        }
        if !ok {
            return None;
        }
        let adjacent = gather_axes.windows(2).all(|w| w[1] == w[0] + 1);
        let gathered: Vec<Dim> = gather_shape.map(<[Dim]>::to_vec).unwrap_or_default();
        let mut shape = Vec::new();
        if !adjacent {
            shape.extend(gathered.iter().cloned());
        }
        for entry in part {
            match entry {
                Some(d) => shape.push(d),
                None if adjacent => shape.extend(gathered.iter().cloned()),
                None => {}
            }
        }
        shape.extend(base.shape[plan.len()..].iter().cloned());
        Some(shape)
    }

    fn theta_slice(&mut self, offset: &Dim) {
        let (theta, r) = (self.op.args[0], self.result(0));
        let is_theta = self
            .v
            .is_theta
            .get(theta.0 as usize)
            .copied()
            .unwrap_or(false);
        if !is_theta {
            self.error(format!("the operand {theta} is not the theta input"));
        }
        if r.elem != Elem::Real {
            self.error(format!("the result is {r}, expected real"));
        }
        let t = self.ty(theta);
        let count: Option<i64> = r
            .shape
            .iter()
            .try_fold(1i64, |n, d| n.checked_mul(d.as_constant()?));
        let len = t.shape.first().and_then(Dim::as_constant);
        if let (Some(count), Some(len), Some(offset)) = (count, len, offset.as_constant()) {
            if offset < 0 || offset.saturating_add(count) > len {
                self.error(format!(
                    "theta[{offset}..{}] is outside theta, of length {len}",
                    offset.saturating_add(count)
                ));
            }
        }
    }

    fn scan(&mut self, body: &Region, carries: usize, sequences: usize) {
        let op = self.op;
        let fixed = carries + sequences;
        if !self.min_args(fixed) {
            return;
        }
        if sequences == 0 {
            self.error("a scan without sequences has no length".to_string());
            return;
        }
        let mut expected_args: Vec<TensorType> = Vec::new();
        let mut length: Option<&Dim> = None;
        for (i, a) in op.args.iter().enumerate() {
            let ty = self.ty(*a);
            if (carries..fixed).contains(&i) {
                let Some((len, rest)) = ty.shape.split_first() else {
                    self.error(format!("sequence {a} is the scalar {ty}"));
                    return;
                };
                match length {
                    None => length = Some(len),
                    Some(l) if l == len => {}
                    Some(l) => {
                        self.error(format!(
                            "sequences of different lengths {l} and {len} ({a})"
                        ));
                        return;
                    }
                }
                expected_args.push(TensorType::new(ty.elem, rest.to_vec()));
            } else {
                expected_args.push(ty.clone());
            }
        }
        let Some(length) = length else { return };
        if !self.body_args("the body", body, &expected_args) {
            return;
        }
        if body.results.len() < carries {
            self.error(format!(
                "the body yields {} values, fewer than the {carries} carries",
                body.results.len()
            ));
            return;
        }
        if op.results.len() != body.results.len() {
            self.error(format!(
                "{} results but the body yields {} values",
                op.results.len(),
                body.results.len()
            ));
            return;
        }
        for (i, (yielded, result)) in body.results.iter().zip(&op.results).enumerate() {
            let (Some(y), r) = (self.v.ty(*yielded), self.ty(*result)) else {
                continue;
            };
            if i < carries {
                let carry = &expected_args[i];
                self.expect_type(&format!("the body's next carry {yielded}"), y, carry);
                self.expect_type(&format!("the final carry {result}"), r, carry);
            } else {
                let mut shape = vec![length.clone()];
                shape.extend(y.shape.iter().cloned());
                let stacked = TensorType::new(y.elem, shape);
                self.expect_type(&format!("the stacked output {result}"), r, &stacked);
            }
        }
    }

    fn for_loop(&mut self, body: &Region) {
        let op = self.op;
        if !self.min_args(2) {
            return;
        }
        self.expect_scalar("the lower bound", self.arg(0), Elem::Int);
        self.expect_scalar("the upper bound", self.arg(1), Elem::Int);
        let mut expected = vec![TensorType::scalar(Elem::Int)];
        expected.extend(op.args[2..].iter().map(|a| self.ty(*a).clone()));
        if !self.body_args("the body", body, &expected) {
            return;
        }
        let results: Vec<TensorType> = op.results.iter().map(|r| self.ty(*r).clone()).collect();
        for r in &results {
            if r.elem != Elem::Real {
                self.error(format!("the result type {r} is not real"));
            }
        }
        self.region_results("the body", body, &results);
    }

    /// Checks a region's argument types against the captures `args` and
    /// its results against the op's result types.
    fn region_signature(&mut self, what: &str, region: &Region, args: &[ValueId]) {
        let expected: Vec<TensorType> = args.iter().map(|a| self.ty(*a).clone()).collect();
        if self.body_args(what, region, &expected) {
            let results: Vec<TensorType> = self
                .op
                .results
                .iter()
                .map(|r| self.ty(*r).clone())
                .collect();
            self.region_results(what, region, &results);
        }
    }

    fn body_args(&mut self, what: &str, region: &Region, expected: &[TensorType]) -> bool {
        if region.args.len() != expected.len() {
            self.error(format!(
                "{what} takes {} arguments, expected {}",
                region.args.len(),
                expected.len()
            ));
            return false;
        }
        for (arg, ty) in region.args.iter().zip(expected) {
            if let Some(found) = self.v.ty(*arg) {
                self.expect_type(&format!("{what}'s argument {arg}"), found, ty);
            }
        }
        true
    }

    fn region_results(&mut self, what: &str, region: &Region, expected: &[TensorType]) {
        if region.results.len() != expected.len() {
            self.error(format!(
                "{what} yields {} values, expected {}",
                region.results.len(),
                expected.len()
            ));
            return;
        }
        for (v, ty) in region.results.iter().zip(expected) {
            if let Some(found) = self.v.ty(*v) {
                self.expect_type(&format!("{what}'s result {v}"), found, ty);
            }
        }
    }
}

/// Whether `small` broadcasts to `big` (NumPy rules, aligned on the right,
/// a dimension stretching only when it is the constant 1).
fn broadcasts_to(small: &[Dim], big: &[Dim]) -> bool {
    if small.len() > big.len() {
        return false;
    }
    let lead = big.len() - small.len();
    small
        .iter()
        .zip(&big[lead..])
        .all(|(s, b)| s == b || s.is_one())
}

/// Whether two shapes have the same number of elements, when that can be
/// decided: `None` when symbolic dimensions make it unprovable.
fn same_element_count(a: &[Dim], b: &[Dim]) -> Option<bool> {
    let count = |s: &[Dim]| -> Option<i64> {
        s.iter()
            .try_fold(1i64, |n, d| n.checked_mul(d.as_constant()?))
    };
    if let (Some(x), Some(y)) = (count(a), count(b)) {
        return Some(x == y);
    }
    let not_one = |s: &[Dim]| -> Vec<Dim> { s.iter().filter(|d| !d.is_one()).cloned().collect() };
    if not_one(a) == not_one(b) {
        return Some(true);
    }
    // Symbolic element counts (a `[N, K]` parameter flattened to `[K*N]`).
    match (Dim::elements(a), Dim::elements(b)) {
        (Some(x), Some(y)) if x == y => Some(true),
        _ => None,
    }
}
