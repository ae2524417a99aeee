//! What the checker knows about a value: element type, optionality, symbolic
//! shape, and for integers their range and (for size arithmetic) their value.

use crate::dim::{shape_to_string, Dim};
use crate::model::SymbolId;
pub use rlc_syntax::ast::ElemType;
use rlc_syntax::ast::Span;
use std::collections::BTreeSet;
use std::fmt;

/// The type of a value: `real[T - 1, 2]`, `int?`, `bool[N]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Type {
    pub elem: ElemType,
    pub optional: bool,
    pub shape: Vec<Dim>,
}

impl Type {
    pub fn scalar(elem: ElemType) -> Type {
        Type {
            elem,
            optional: false,
            shape: Vec::new(),
        }
    }
    pub fn array(elem: ElemType, shape: Vec<Dim>) -> Type {
        Type {
            elem,
            optional: false,
            shape,
        }
    }
    pub fn is_scalar(&self) -> bool {
        self.shape.is_empty()
    }
    pub fn is_numeric(&self) -> bool {
        matches!(self.elem, ElemType::Int | ElemType::Real)
    }
}

impl fmt::Display for Type {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.elem)?;
        if self.optional {
            write!(f, "?")?;
        }
        if !self.shape.is_empty() {
            write!(f, "{}", shape_to_string(&self.shape))?;
        }
        Ok(())
    }
}

/// A half-open integer range `lo..hi` that every element lies in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IntRange {
    pub lo: Dim,
    pub hi: Dim,
}

impl IntRange {
    pub fn single(value: &Dim) -> Option<IntRange> {
        Some(IntRange {
            lo: value.clone(),
            hi: value.offset(1)?,
        })
    }
}

impl fmt::Display for IntRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}..{}", self.lo, self.hi)
    }
}

/// Where a value's shape was decided, for the secondary labels of errors.
#[derive(Debug, Clone, PartialEq)]
pub struct ShapeOrigin {
    pub span: Span,
    pub note: String,
}

/// Everything the checker infers about one expression.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprInfo {
    pub ty: Type,
    /// The value, when it is an integer built from sizes and literals.
    pub value: Option<Dim>,
    /// A range that every integer element is known to lie in.
    pub range: Option<IntRange>,
    /// The parameters the value depends on, through any chain of operations,
    /// `let` bindings and scan carries: a value with any cannot be observed,
    /// and a parameter that no term of the log density depends on makes the
    /// posterior improper.
    pub params: BTreeSet<SymbolId>,
    /// Where the shape came from, when that is not the expression itself.
    pub origin: Option<ShapeOrigin>,
    /// A reduction without `keepdims` dropped this axis of its input.
    pub reduced_axis: Option<usize>,
}

impl ExprInfo {
    pub fn of(ty: Type) -> ExprInfo {
        ExprInfo {
            ty,
            value: None,
            range: None,
            params: BTreeSet::new(),
            origin: None,
            reduced_axis: None,
        }
    }

    /// Whether the value depends on a parameter (so it cannot be observed).
    pub fn depends_on_param(&self) -> bool {
        !self.params.is_empty()
    }
}
