//! Checks one cell against its declaration: missing, number, integrality, bool, range.

use crate::error::ErrorKind;
use crate::spec::{DataDecl, ElemType};

/// Integers up to this magnitude are exact in an `f64`.
const MAX_EXACT_INT: f64 = 9_007_199_254_740_992.0;

/// A cell as the file gives it, before it is checked.
#[derive(Clone, Copy, Debug)]
pub(crate) enum RawCell<'a> {
    /// JSON `null`.
    Null,
    /// CSV text, or a JSON string.
    Text(&'a str),
    /// A JSON number.
    Number(f64),
    /// A JSON `true` or `false`.
    Bool(bool),
}

/// Whether CSV text (already trimmed) means "missing": empty, `NA` or `NaN` in any case.
pub(crate) fn is_missing_text(text: &str) -> bool {
    text.is_empty() || text.eq_ignore_ascii_case("na") || text.eq_ignore_ascii_case("nan")
}

/// The cell's value (`None` when missing), or what is wrong with it.
pub(crate) fn check_cell(raw: RawCell<'_>, decl: &DataDecl) -> Result<Option<f64>, ErrorKind> {
    let value = match raw {
        RawCell::Null => None,
        RawCell::Text(text) => {
            let text = text.trim();
            if is_missing_text(text) {
                None
            } else if decl.elem == ElemType::Bool && text.eq_ignore_ascii_case("true") {
                Some(1.0)
            } else if decl.elem == ElemType::Bool && text.eq_ignore_ascii_case("false") {
                Some(0.0)
            } else {
                match text.parse::<f64>() {
                    Ok(v) if !v.is_nan() => Some(v),
                    _ => return Err(not_a_value(text, decl)),
                }
            }
        }
        RawCell::Number(v) => Some(v),
        RawCell::Bool(b) => {
            if decl.elem == ElemType::Bool {
                Some(if b { 1.0 } else { 0.0 })
            } else {
                return Err(ErrorKind::NotANumber {
                    text: b.to_string(),
                    declaration: decl.clone(),
                });
            }
        }
    };
    let Some(v) = value else {
        return if decl.optional {
            Ok(None)
        } else {
            Err(ErrorKind::MissingValue {
                declaration: decl.clone(),
            })
        };
    };
    match decl.elem {
        ElemType::Real => {
            if !decl.admits(v) {
                return Err(ErrorKind::OutOfBounds {
                    value: v,
                    declaration: decl.clone(),
                });
            }
        }
        ElemType::Int => {
            if !(v.is_finite() && v.fract() == 0.0 && v.abs() <= MAX_EXACT_INT) {
                return Err(ErrorKind::NotAnInteger {
                    value: v,
                    declaration: decl.clone(),
                });
            }
            if !decl.admits(v) {
                return Err(ErrorKind::OutOfRange {
                    value: v,
                    declaration: decl.clone(),
                });
            }
        }
        ElemType::Bool => {
            if v != 0.0 && v != 1.0 {
                let text = match raw {
                    RawCell::Text(text) => text.trim().to_string(),
                    _ => format!("{v}"),
                };
                return Err(ErrorKind::NotABool {
                    text,
                    declaration: decl.clone(),
                });
            }
        }
    }
    // An integer or a bool -0 is stored as 0, so that equal values print alike; a real
    // keeps its sign, which `atan2` and `1 / x` tell apart, as Stan's data does.
    Ok(Some(if v == 0.0 && decl.elem != ElemType::Real {
        0.0
    } else {
        v
    }))
}

/// The error for text that is no value of the declaration's element type.
pub(crate) fn not_a_value(text: &str, decl: &DataDecl) -> ErrorKind {
    let text = text.to_string();
    let declaration = decl.clone();
    match decl.elem {
        ElemType::Bool => ErrorKind::NotABool { text, declaration },
        ElemType::Int | ElemType::Real => ErrorKind::NotANumber { text, declaration },
    }
}
