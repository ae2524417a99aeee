//! Symbolic dimensions: integer expressions over the declared sizes, such as
//! `T - 1` or `2*N`. The language's size expressions are linear (a product of
//! two sizes is not a size expression, E0171), but the compiler itself may
//! form products with [`Dim::product`]: a `real[N, K]` parameter takes
//! `N*K` coordinates of the parameter vector. Two dimensions are equal exactly
//! when their canonical forms are equal; facts that depend on the data
//! (`T >= 1`) are left to be checked when the data loads.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

/// A product of sizes, as their names in sorted order (with repeats):
/// `["K", "N"]` is `K*N`; the empty list is the constant 1.
type Monomial = Vec<String>;

/// `constant + Σ coefficient × monomial`, with no zero coefficients stored.
/// Every monomial of a size expression the user writes has one size.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Dim {
    constant: i64,
    terms: BTreeMap<Monomial, i64>,
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
        terms.insert(vec![name.to_string()], 1);
        Dim { constant: 0, terms }
    }

    pub fn as_constant(&self) -> Option<i64> {
        self.terms.is_empty().then_some(self.constant)
    }

    pub fn is_one(&self) -> bool {
        self.as_constant() == Some(1)
    }

    /// The size this dimension is, when it is exactly one size (`T`, not
    /// `T - 1`, `2*T` or `N*K`).
    pub fn as_size(&self) -> Option<&str> {
        match self.terms.iter().collect::<Vec<_>>().as_slice() {
            [(monomial, 1)] if self.constant == 0 && monomial.len() == 1 => {
                Some(monomial[0].as_str())
            }
            _ => None,
        }
    }

    /// Whether the dimension is linear in the sizes (every size expression the
    /// language accepts is).
    pub fn is_linear(&self) -> bool {
        self.terms.keys().all(|m| m.len() <= 1)
    }

    /// The sizes this dimension mentions, each once, in name order.
    pub fn sizes(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .terms
            .keys()
            .flat_map(|m| m.iter().map(String::as_str))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
    }

    /// The terms other than the constant: each a product of sizes (a
    /// monomial, sizes repeated for powers) and its coefficient.
    pub fn terms(&self) -> impl Iterator<Item = (&[String], i64)> {
        self.terms.iter().map(|(k, v)| (k.as_slice(), *v))
    }

    pub fn constant_part(&self) -> i64 {
        self.constant
    }

    pub fn add(&self, other: &Dim) -> Option<Dim> {
        let mut out = self.clone();
        out.constant = out.constant.checked_add(other.constant)?;
        for (monomial, coef) in &other.terms {
            let entry = out.terms.entry(monomial.clone()).or_insert(0);
            *entry = entry.checked_add(*coef)?;
            if *entry == 0 {
                out.terms.remove(monomial);
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
        for (monomial, coef) in &self.terms {
            terms.insert(monomial.clone(), coef.checked_mul(factor)?);
        }
        Some(Dim {
            constant: self.constant.checked_mul(factor)?,
            terms,
        })
    }

    /// The product, when it stays linear (one side is a constant): the
    /// language's `*` on size expressions.
    pub fn mul(&self, other: &Dim) -> Option<Dim> {
        match (self.as_constant(), other.as_constant()) {
            (Some(c), _) => other.scale(c),
            (_, Some(c)) => self.scale(c),
            _ => None,
        }
    }

    /// The product of two dimensions, linear or not (`N` times `K` is
    /// `K*N`): the number of elements of a shape. `None` on overflow.
    pub fn product(&self, other: &Dim) -> Option<Dim> {
        let mut out = other.scale(self.constant)?;
        for (ma, ca) in &self.terms {
            out = out.add(&Dim {
                constant: 0,
                terms: BTreeMap::from([(ma.clone(), ca.checked_mul(other.constant)?)]),
            })?;
            for (mb, cb) in &other.terms {
                let mut m = ma.clone();
                m.extend(mb.iter().cloned());
                m.sort();
                out = out.add(&Dim {
                    constant: 0,
                    terms: BTreeMap::from([(m, ca.checked_mul(*cb)?)]),
                })?;
            }
        }
        Some(out)
    }

    /// The number of elements of `shape`: the product of its dimensions.
    pub fn elements(shape: &[Dim]) -> Option<Dim> {
        shape
            .iter()
            .try_fold(Dim::constant(1), |acc, d| acc.product(d))
    }

    /// True when `self >= 0` for every value of the sizes (sizes are `>= 0`,
    /// so every monomial is too).
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
        for (monomial, coef) in &self.terms {
            let mut term = *coef;
            for name in monomial {
                term = term.checked_mul(*sizes.get(name)?)?;
            }
            total = total.checked_add(term)?;
        }
        Some(total)
    }
}

impl fmt::Display for Dim {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (monomial, coef) in &self.terms {
            let magnitude = coef.unsigned_abs();
            let sign = if *coef < 0 { "-" } else { "+" };
            match (first, *coef < 0) {
                (true, false) => {}
                (true, true) => write!(f, "-")?,
                (false, _) => write!(f, " {sign} ")?,
            }
            let name = monomial.join("*");
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

    #[test]
    fn products_of_sizes_are_polynomials() {
        let n = Dim::size("N");
        let k = Dim::size("K");
        assert_eq!(n.mul(&k), None, "the language's `*` stays linear");
        let nk = n.product(&k).expect("no overflow");
        assert_eq!(nk.to_string(), "K*N");
        assert_eq!(nk, k.product(&n).expect("no overflow"));
        assert!(!nk.is_linear() && nk.as_size().is_none());
        // (N + 1) * 2K = 2*K*N + 2*K
        let p = n.offset(1).and_then(|a| a.product(&k.scale(2)?));
        assert_eq!(
            p.as_ref().map(|d| d.to_string()),
            Some("2*K + 2*K*N".into())
        );
        let sizes = HashMap::from([("N".to_string(), 3), ("K".to_string(), 4)]);
        assert_eq!(p.and_then(|d| d.eval(&sizes)), Some(32));
        assert_eq!(nk.sizes(), vec!["K", "N"]);
        let nbt = Dim::elements(&[n.clone(), Dim::size("B"), Dim::size("T")]);
        assert_eq!(nbt.map(|d| d.to_string()), Some("B*N*T".into()));
        assert_eq!(n.as_size(), Some("N"));
    }
}
