//! Values known when compiling: number literals (negated or not), arithmetic
//! on them, array literals of them, and `let` names bound to such values. The
//! checker compares them with the allowed values of distribution arguments
//! (`builtins::ArgRange`), so that `HalfNormal(-10)` fails before sampling.

use crate::builtins::ArgRange;
use rlc_syntax::ast::{BinaryOp, Expr, ExprKind, UnaryOp};

/// A number or an array of numbers, row-major, never NaN.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Constant {
    pub shape: Vec<usize>,
    pub values: Vec<f64>,
}

/// How a known argument breaks its allowed range: what it must be, and what
/// it is (both in words, for the message).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Violation {
    pub requirement: String,
    pub found: String,
}

impl Constant {
    fn scalar(value: f64) -> Constant {
        Constant {
            shape: Vec::new(),
            values: vec![value],
        }
    }

    /// The value of `e` when it is known, with `name` giving the values of
    /// names (those bound to constants).
    pub fn of(e: &Expr, name: &dyn Fn(&Expr) -> Option<Constant>) -> Option<Constant> {
        let value = match &e.kind {
            ExprKind::Int(v) => Constant::scalar(*v as f64),
            ExprKind::Real(v) => Constant::scalar(*v),
            ExprKind::Name(_) => name(e)?,
            ExprKind::Unary {
                op: UnaryOp::Neg,
                operand,
            } => Constant::of(operand, name)?.map(|x| -x),
            ExprKind::Binary { op, lhs, rhs, .. } => {
                let f: fn(f64, f64) -> f64 = match op {
                    BinaryOp::Add => |a, b| a + b,
                    BinaryOp::Sub => |a, b| a - b,
                    BinaryOp::Mul => |a, b| a * b,
                    BinaryOp::Div => |a, b| a / b,
                    BinaryOp::Pow => f64::powf,
                    _ => return None,
                };
                let (l, r) = (Constant::of(lhs, name)?, Constant::of(rhs, name)?);
                l.zip(&r, f)?
            }
            ExprKind::Array(items) => {
                let items: Vec<Constant> = items
                    .iter()
                    .map(|i| Constant::of(i, name))
                    .collect::<Option<_>>()?;
                let first = items.first()?;
                if items.iter().any(|i| i.shape != first.shape) {
                    return None;
                }
                let mut shape = vec![items.len()];
                shape.extend(&first.shape);
                Constant {
                    shape,
                    values: items
                        .iter()
                        .flat_map(|i| i.values.iter().copied())
                        .collect(),
                }
            }
            _ => return None,
        };
        // A NaN (`0 / 0`, `(-1) ^ 0.5`) is no value to compare.
        (!value.values.iter().any(|x| x.is_nan())).then_some(value)
    }

    fn map(mut self, f: impl Fn(f64) -> f64) -> Constant {
        self.values.iter_mut().for_each(|x| *x = f(*x));
        self
    }

    /// Elementwise `f` of two values of one shape, or of a scalar and an
    /// array; other shapes are left to the shape checks.
    fn zip(&self, other: &Constant, f: impl Fn(f64, f64) -> f64) -> Option<Constant> {
        let (shape, n) = if self.shape == other.shape {
            (self.shape.clone(), self.values.len())
        } else if self.shape.is_empty() {
            (other.shape.clone(), other.values.len())
        } else if other.shape.is_empty() {
            (self.shape.clone(), self.values.len())
        } else {
            return None;
        };
        fn at(c: &Constant, i: usize) -> Option<f64> {
            c.values
                .get(if c.shape.is_empty() { 0 } else { i })
                .copied()
        }
        let values = (0..n)
            .map(|i| Some(f(at(self, i)?, at(other, i)?)))
            .collect::<Option<_>>()?;
        Some(Constant { shape, values })
    }

    /// How element `flat` (row-major) is written as an index: `[1, 0]`.
    fn index_of(&self, mut flat: usize) -> String {
        let mut index = vec![0; self.shape.len()];
        for (axis, len) in self.shape.iter().enumerate().rev() {
            if *len > 0 {
                index[axis] = flat % len;
                flat /= len;
            }
        }
        let parts: Vec<String> = index.iter().map(|i| i.to_string()).collect();
        format!("[{}]", parts.join(", "))
    }

    /// "it is -10" for a number, "its element [1] is -0.5" for an array.
    fn describe_element(&self, flat: usize) -> String {
        let value = self.values.get(flat).copied().unwrap_or_default();
        if self.shape.is_empty() {
            format!("it is {value}")
        } else {
            format!("its element {} is {value}", self.index_of(flat))
        }
    }

    /// How this value, as an argument with the allowed values `range`, breaks
    /// them; `other` is the value of the argument `range` refers to (the
    /// `lower` of `upper > lower`) when it is known.
    pub fn violation(&self, range: ArgRange, other: Option<&Constant>) -> Option<Violation> {
        let first = |bad: &dyn Fn(f64) -> bool| self.values.iter().position(|x| bad(*x));
        let broken = |requirement: &str, flat: usize| Violation {
            requirement: requirement.to_string(),
            found: self.describe_element(flat),
        };
        if let Some(i) = first(&|x: f64| !x.is_finite()) {
            return Some(broken("finite", i));
        }
        match range {
            ArgRange::Finite => None,
            ArgRange::Positive => first(&|x| x <= 0.0).map(|i| broken("> 0", i)),
            ArgRange::NonNegative => first(&|x| x < 0.0).map(|i| broken(">= 0", i)),
            ArgRange::Probability => {
                first(&|x| !(0.0..=1.0).contains(&x)).map(|i| broken("in [0, 1]", i))
            }
            ArgRange::Boundary => first(&|x| x != 0.0 && x != 1.0).map(|i| broken("0 or 1", i)),
            // Below the number of accumulators too, which the lowering checks.
            ArgRange::Accumulator => first(&|x| x < 0.0).map(|i| broken(">= 0 (0-based)", i)),
            ArgRange::Simplex => {
                if let Some(i) = first(&|x| !(0.0..=1.0).contains(&x)) {
                    return Some(broken("in [0, 1]", i));
                }
                self.unnormalized_row()
            }
            ArgRange::Above(name) => {
                let other = other?;
                let difference = self.zip(other, |x, lower| x - lower)?;
                let i = difference.values.iter().position(|d| *d <= 0.0)?;
                let lower = if other.shape.is_empty() {
                    other.values.first()
                } else {
                    other.values.get(i)
                }
                .copied()
                .unwrap_or_default();
                Some(Violation {
                    requirement: format!("> `{name}`"),
                    found: format!("{}, and `{name}` is {lower}", self.describe_element(i)),
                })
            }
        }
    }

    /// The first row (along the last axis) of probabilities that does not
    /// sum to 1.
    fn unnormalized_row(&self) -> Option<Violation> {
        let len = *self.shape.last()?;
        if len == 0 {
            return None;
        }
        self.values
            .chunks(len)
            .enumerate()
            .find_map(|(row, values)| {
                let total: f64 = values.iter().sum();
                // Rounding in the written decimals (0.1 + 0.2 + 0.7) is not an error.
                ((total - 1.0).abs() > 1e-6).then(|| {
                    let which = if self.shape.len() == 1 {
                        "they sum".to_string()
                    } else {
                        let rows = Constant {
                            shape: self.shape[..self.shape.len() - 1].to_vec(),
                            values: Vec::new(),
                        };
                        format!("row {} sums", rows.index_of(row))
                    };
                    Violation {
                        requirement: "probabilities that sum to 1 along the last axis".into(),
                        found: format!("{which} to {total}"),
                    }
                })
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(shape: &[usize], values: &[f64]) -> Constant {
        Constant {
            shape: shape.to_vec(),
            values: values.to_vec(),
        }
    }

    #[test]
    fn violations_name_the_requirement_and_the_offending_element() {
        let v = c(&[], &[-10.0]).violation(ArgRange::Positive, None);
        assert_eq!(v.map(|v| v.found), Some("it is -10".to_string()));
        let v = c(&[2], &[0.5, -0.5]).violation(ArgRange::Simplex, None);
        assert_eq!(
            v.map(|v| (v.requirement, v.found)),
            Some(("in [0, 1]".into(), "its element [1] is -0.5".into()))
        );
        let v = c(&[2, 2], &[0.5, 0.5, 0.5, 0.6]).violation(ArgRange::Simplex, None);
        assert_eq!(v.map(|v| v.found), Some("row [1] sums to 1.1".into()));
        let v = c(&[], &[0.0]).violation(ArgRange::Above("lower"), Some(&c(&[], &[1.0])));
        assert_eq!(v.map(|v| v.found), Some("it is 0, and `lower` is 1".into()));
        assert!(c(&[3], &[0.1, 0.2, 0.7])
            .violation(ArgRange::Simplex, None)
            .is_none());
        assert!(c(&[], &[f64::INFINITY])
            .violation(ArgRange::Positive, None)
            .is_some());
    }
}
