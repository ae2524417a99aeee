//! Symbolic dimensions: integer linear expressions over the declared sizes,
//! such as `T - 1` or `2*N`. Two dimensions are equal exactly when their
//! canonical forms are equal; facts that depend on the data (`T >= 1`) are
//! left to be checked when the data loads.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// `constant + Σ coefficient × size`, with no zero coefficients stored.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Dim {
    constant: i64,
    terms: BTreeMap<String, i64>,
}

impl Dim {
    pub fn constant(value: i64) -> Dim {
        Dim {
            constant: value,
            terms: BTreeMap::new(),
        }
    }

    pub fn size(name: &str) -> Dim {
        let mut terms = BTreeMap::new();
        terms.insert(name.to_string(), 1);
        Dim { constant: 0, terms }
    }

    pub fn as_constant(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.constant)
    }

    pub fn is_one(&self) -> bool {
        self.as_constant() == Some(1)
    }

    /// The sizes this dimension mentions, with their coefficients.
    pub fn terms(&self) -> impl Iterator<Item = (&str, i64)> {
        self.terms.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn constant_part(&self) -> i64 {
        self.constant
    }

    pub fn add(&self, other: &Dim) -> Option<Dim> {
        let mut out = self.clone();
        out.constant = out.constant.checked_add(other.constant)?;
        for (name, coef) in &other.terms {
            let entry = out.terms.entry(name.clone()).or_insert(0);
            *entry = entry.checked_add(*coef)?;
            if *entry == 0 {
                out.terms.remove(name);
            }
        }
        Some(out)
    }

    pub fn sub(&self, other: &Dim) -> Option<Dim> {
        self.add(&other.scale(-1)?)
    }

    pub fn offset(&self, by: i64) -> Option<Dim> {
        self.add(&Dim::constant(by))
    }

    pub fn scale(&self, factor: i64) -> Option<Dim> {
        if factor == 0 {
            return Some(Dim::constant(0));
        }
        let mut terms = BTreeMap::new();
        for (name, coef) in &self.terms {
            terms.insert(name.clone(), coef.checked_mul(factor)?);
        }
        Some(Dim {
            constant: self.constant.checked_mul(factor)?,
            terms,
        })
    }

    /// The product, when it stays linear (one side is a constant).
    pub fn mul(&self, other: &Dim) -> Option<Dim> {
        match (self.as_constant(), other.as_constant()) {
            (Some(c), _) => other.scale(c),
            (_, Some(c)) => self.scale(c),
            _ => None,
        }
    }

    /// True when `self >= 0` for every value of the sizes (sizes are `>= 0`).
    pub fn provably_nonnegative(&self) -> bool {
        self.constant >= 0 && self.terms.values().all(|c| *c >= 0)
    }

    /// True when `self < 0` for every value of the sizes.
    pub fn provably_negative(&self) -> bool {
        self.constant < 0 && self.terms.values().all(|c| *c <= 0)
    }

    /// The value for concrete sizes (`None` when a size is unknown or overflow).
    pub fn eval(&self, sizes: &HashMap<String, i64>) -> Option<i64> {
        let mut total = self.constant;
        for (name, coef) in &self.terms {
            total = total.checked_add(coef.checked_mul(*sizes.get(name)?)?)?;
        }
        Some(total)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (name, coef) in &self.terms {
            let magnitude = coef.unsigned_abs();
            let sign = if *coef < 0 { "-" } else { "+" };
            match (first, *coef < 0) {
                (true, false) => {}
                (true, true) => write!(f, "-")?,
                (false, _) => write!(f, " {sign} ")?,
            }
            if magnitude == 1 {
                write!(f, "{name}")?;
            } else {
                write!(f, "{magnitude}*{name}")?;
            }
            first = false;
        }
        if first {
            write!(f, "{}", self.constant)
        } else if self.constant > 0 {
            write!(f, " + {}", self.constant)
        } else if self.constant < 0 {
            write!(f, " - {}", self.constant.unsigned_abs())
        } else {
            Ok(())
        }
    }
}

/// Formats a shape as `[T - 1, 2]` (`[]` for a scalar).
pub fn shape_to_string(shape: &[Dim]) -> String {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", dims.join(", "))
}

/// Whether two shapes are provably the same.
pub fn same_shape(a: &[Dim], b: &[Dim]) -> bool {
    a == b
}

/// NumPy broadcasting where two dimensions match only if provably equal or
/// one of them is 1. Returns the broadcast shape or `None`.
pub fn broadcast(a: &[Dim], b: &[Dim]) -> Option<Vec<Dim>> {
    let n = a.len().max(b.len());
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let da = (i + a.len()).checked_sub(n).map(|j| &a[j]);
        let db = (i + b.len()).checked_sub(n).map(|j| &b[j]);
        let d = match (da, db) {
            (Some(x), None) | (None, Some(x)) => x.clone(),
            (Some(x), Some(y)) if x == y => x.clone(),
            (Some(x), Some(y)) if x.is_one() => y.clone(),
            (Some(x), Some(y)) if y.is_one() => x.clone(),
            _ => return None,
        };
        out.push(d);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_is_readable() {
        let t = Dim::size("T");
        assert_eq!(t.offset(-1).map(|d| d.to_string()), Some("T - 1".into()));
        assert_eq!(Dim::constant(2).to_string(), "2");
        let two_n = Dim::size("N").scale(2).and_then(|d| d.sub(&t));
        assert_eq!(two_n.map(|d| d.to_string()), Some("2*N - T".into()));
    }

    #[test]
    fn broadcasting_follows_numpy_with_provable_equality() {
        let t1 = Dim::size("T").offset(-1).expect("no overflow");
        let a = vec![t1.clone(), Dim::constant(2)];
        let b = vec![t1.clone()];
        assert!(broadcast(&a, &b).is_none());
        let b1 = vec![t1.clone(), Dim::constant(1)];
        assert_eq!(broadcast(&a, &b1), Some(a.clone()));
        assert_eq!(broadcast(&a, &[]), Some(a));
    }
}
