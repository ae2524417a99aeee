//! The sizes as the file determines them, with where each value came from.

use crate::error::{ErrorKind, SizeSource};
use crate::spec::{DataDecl, DataSpec, DimSpec, SizeDecl};

/// No data array may have more cells than this (2 GiB of `f64`), so that a pathological
/// file fails with an error instead of exhausting memory.
pub(crate) const MAX_CELLS: u128 = 1 << 28;

/// A size written as text (a CSV cell, `--set L=4`): a non-negative whole number no
/// larger than an array may be.
pub(crate) fn size_from_text(text: &str) -> Option<usize> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.fract() == 0.0 && *v >= 0.0 && *v <= MAX_CELLS as f64)
        .map(|v| v as usize)
}

/// Each declared size and, once known, its value and source.
pub(crate) struct SizeTable {
    entries: Vec<(String, Option<(usize, SizeSource)>)>,
    /// Lengths found along dimensions that are expressions of sizes (`L - 1`), and
    /// those of defaults, checked (or solved for a size) once the other sources
    /// have spoken: [`SizeTable::settle`].
    pending: Vec<PendingLength>,
}

/// A length found along one axis of a declaration, not yet compared with its dimension.
struct PendingLength {
    declaration: DataDecl,
    axis: usize,
    found: usize,
    source: SizeSource,
    /// The length of a default: it gives way to every other source, the
    /// size's own default included.
    from_default: bool,
}

impl SizeTable {
    /// The table of `spec`'s sizes, with those given apart from the file known.
    pub(crate) fn new(spec: &DataSpec) -> Self {
        SizeTable {
            entries: spec
                .sizes
                .iter()
                .map(|s| (s.name.clone(), s.given.map(|v| (v, SizeSource::SetApart))))
                .collect(),
            pending: Vec::new(),
        }
    }

    pub(crate) fn get(&self, name: &str) -> Option<usize> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, known)| known.as_ref().map(|&(v, _)| v))
    }

    /// The value of `name` and what gave it, once known.
    pub(crate) fn get_with_source(&self, name: &str) -> Option<(usize, SizeSource)> {
        self.entries
            .iter()
            .find(|(n, _)| n == name)
            .and_then(|(_, known)| known.clone())
    }

    /// Records that `name` is `value`, or reports a conflict with what was recorded before.
    /// `source` is only called when the value is first recorded or conflicts.
    pub(crate) fn unify(
        &mut self,
        name: &str,
        value: usize,
        source: impl FnOnce() -> SizeSource,
    ) -> Result<(), ErrorKind> {
        let Some((_, known)) = self.entries.iter_mut().find(|(n, _)| n == name) else {
            // Unknown sizes are rejected before loading starts; nothing to record.
            return Ok(());
        };
        match known {
            None => {
                *known = Some((value, source()));
                Ok(())
            }
            Some((first, _)) if *first == value => Ok(()),
            Some((first, first_source)) => Err(ErrorKind::SizeMismatch {
                size: name.to_string(),
                first: *first,
                first_source: first_source.clone(),
                second: value,
                second_source: source(),
            }),
        }
    }

    /// Records the length found along `axis` of `decl`: a size is unified, a constant
    /// compared, an expression of sizes kept for [`SizeTable::settle`].
    pub(crate) fn unify_dim(
        &mut self,
        decl: &DataDecl,
        axis: usize,
        found: usize,
        source: impl FnOnce() -> SizeSource,
    ) -> Result<(), ErrorKind> {
        match decl.shape.get(axis) {
            Some(DimSpec::Size(name)) => self.unify(name, found, source),
            Some(&DimSpec::Const(expected)) if expected != found => {
                Err(ErrorKind::ConstDimMismatch {
                    declaration: decl.clone(),
                    axis,
                    expected,
                    found,
                })
            }
            Some(DimSpec::Linear { .. }) => {
                self.pending.push(PendingLength {
                    declaration: decl.clone(),
                    axis,
                    found,
                    source: source(),
                    from_default: false,
                });
                Ok(())
            }
            _ => Ok(()),
        }
    }

    /// Records the lengths of a value the file did not give `decl`: its default
    /// (`from_default`, which every other source overrides) or the value set apart.
    pub(crate) fn defer_lengths(
        &mut self,
        decl: &DataDecl,
        lengths: &[usize],
        from_default: bool,
    ) -> Result<(), ErrorKind> {
        for (axis, &found) in lengths.iter().enumerate() {
            let variable = decl.name.clone();
            let source = if from_default {
                SizeSource::DefaultLength { variable }
            } else {
                SizeSource::GivenLength { variable }
            };
            match decl.shape.get(axis) {
                Some(DimSpec::Size(_) | DimSpec::Linear { .. }) => {
                    self.pending.push(PendingLength {
                        declaration: decl.clone(),
                        axis,
                        found,
                        source,
                        from_default,
                    })
                }
                _ => self.unify_dim(decl, axis, found, || source)?,
            }
        }
        Ok(())
    }

    /// Settles the sizes the file left open: first the lengths along
    /// expressions of sizes that the file's own values gave, then each size's
    /// default (`size L = 3`) where it is still unknown, then the lengths of
    /// the defaults of arrays. Each length either solves for the one size of its
    /// dimension still unknown or is compared with the dimension's value.
    /// Returns the errors and the sizes that took their defaults.
    pub(crate) fn settle<'s>(&mut self, spec: &'s DataSpec) -> (Vec<ErrorKind>, Vec<&'s SizeDecl>) {
        let mut errors = self.settle_pending(false);
        let mut defaulted = Vec::new();
        for size in &spec.sizes {
            if let (Some(default), None) = (size.default, self.get(&size.name)) {
                // Nothing known: recording cannot conflict.
                let _ = self.unify(&size.name, default, || SizeSource::Default);
                defaulted.push(size);
            }
        }
        errors.extend(self.settle_pending(true));
        (errors, defaulted)
    }

    /// Solves and compares the pending lengths (those of defaults too when
    /// `with_defaults`) until none can be settled further; those whose sizes stay
    /// unknown are left for [`SizeTable::finish`] to report.
    fn settle_pending(&mut self, with_defaults: bool) -> Vec<ErrorKind> {
        let mut errors = Vec::new();
        loop {
            let mut progressed = false;
            let pending = std::mem::take(&mut self.pending);
            for length in pending {
                if length.from_default && !with_defaults {
                    self.pending.push(length);
                    continue;
                }
                match self.settle_one(&length) {
                    Some(Ok(())) => progressed = true,
                    Some(Err(kind)) => {
                        progressed = true;
                        errors.push(kind);
                    }
                    None => self.pending.push(length),
                }
            }
            if !progressed {
                return errors;
            }
        }
    }

    /// Compares one length with its dimension, or solves it for the dimension's
    /// one unknown size; `None` while two or more of its sizes are unknown.
    fn settle_one(&mut self, length: &PendingLength) -> Option<Result<(), ErrorKind>> {
        let dim = length.declaration.shape.get(length.axis)?;
        let mut known_sum = dim.constant();
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for (coefficient, name) in dim.terms() {
            match self.get_with_source(name) {
                Some((value, source)) => {
                    known_sum = known_sum.saturating_add(coefficient.saturating_mul(value as i64));
                    known.push((name.to_string(), value, source));
                }
                None => unknown.push((coefficient, name.to_string())),
            }
        }
        let mismatch =
            |value: Option<i64>, known: Vec<(String, usize, SizeSource)>| ErrorKind::DimMismatch {
                declaration: length.declaration.clone(),
                axis: length.axis,
                found: length.found,
                found_source: length.source.clone(),
                value,
                sizes: known,
            };
        let found = length.found as i64;
        match unknown.as_slice() {
            [] if known_sum == found => Some(Ok(())),
            [] => Some(Err(mismatch(Some(known_sum), known))),
            [(coefficient, name)] => {
                let rest = found.saturating_sub(known_sum);
                let value = match (
                    rest.checked_rem(*coefficient),
                    rest.checked_div(*coefficient),
                ) {
                    (Some(0), Some(value)) if value >= 0 => value,
                    _ => return Some(Err(mismatch(None, known))),
                };
                let source = || SizeSource::Through {
                    dim: dim.to_string(),
                    length: Box::new(length.source.clone()),
                };
                Some(self.unify(name, value as usize, source))
            }
            _ => None,
        }
    }

    /// The concrete shape of `decl`, once all its sizes are known (and its
    /// dimensions not negative).
    pub(crate) fn shape_of(&self, decl: &DataDecl) -> Option<Vec<usize>> {
        decl.shape
            .iter()
            .map(|dim| usize::try_from(dim.eval(|name| self.get(name))?).ok())
            .collect()
    }

    /// Every size and its value, or the names of those still unknown.
    pub(crate) fn finish(&self) -> Result<Vec<(String, usize)>, Vec<String>> {
        let mut known = Vec::new();
        let mut unknown = Vec::new();
        for (name, value) in &self.entries {
            match value {
                Some((v, _)) => known.push((name.clone(), *v)),
                None => unknown.push(name.clone()),
            }
        }
        if unknown.is_empty() {
            Ok(known)
        } else {
            Err(unknown)
        }
    }
}

/// The number of cells of a shape, saturating instead of overflowing.
pub(crate) fn cell_count(shape: &[usize]) -> u128 {
    shape
        .iter()
        .fold(1u128, |acc, &n| acc.saturating_mul(n as u128))
}
