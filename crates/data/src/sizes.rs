//! The sizes as the file determines them, with where each value came from.

use crate::error::{ErrorKind, SizeSource};
use crate::spec::{DataDecl, DataSpec, DimSpec};

/// No data array may have more cells than this (2 GiB of `f64`), so that a pathological
/// file fails with an error instead of exhausting memory.
pub(crate) const MAX_CELLS: u128 = 1 << 28;

/// Each declared size and, once known, its value and source.
pub(crate) struct SizeTable {
    entries: Vec<(String, Option<(usize, SizeSource)>)>,
}

impl SizeTable {
    pub(crate) fn new(spec: &DataSpec) -> Self {
        SizeTable {
            entries: spec.sizes.iter().map(|s| (s.name.clone(), None)).collect(),
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

    /// Records the length found along `axis` of `decl`: a size is unified, a constant compared.
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
            _ => Ok(()),
        }
    }

    /// The concrete shape of `decl`, once all its sizes are known.
    pub(crate) fn shape_of(&self, decl: &DataDecl) -> Option<Vec<usize>> {
        decl.shape
            .iter()
            .map(|dim| match dim {
                DimSpec::Size(name) => self.get(name),
                DimSpec::Const(n) => Some(*n),
            })
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
