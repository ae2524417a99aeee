//! The loaded data: concrete sizes and one dense row-major array per data variable.

use crate::spec::ElemType;

/// The values of one data variable.
#[derive(Clone, Debug, PartialEq)]
pub struct DataArray {
    /// The declared element type; `values` holds ints and bools exactly, as `f64`.
    pub elem: ElemType,
    /// The concrete dimensions, outermost first; empty for a scalar.
    pub shape: Vec<usize>,
    /// The cells in row-major order (the last index varies fastest). A missing cell is NaN.
    pub values: Vec<f64>,
    /// Which cells are missing, in the same order; `None` when no cell is.
    pub missing: Option<Vec<bool>>,
}

impl DataArray {
    /// The number of cells (1 for a scalar).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether the array has no cells (a zero dimension).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// Whether cell `flat` (a row-major position) is missing.
    pub fn is_missing(&self, flat: usize) -> bool {
        self.missing
            .as_ref()
            .is_some_and(|m| m.get(flat).copied().unwrap_or(false))
    }

    /// The largest present value, as an integer (what `size K = max(x)` reads);
    /// `None` where no cell is present.
    pub fn largest_present(&self) -> Option<i64> {
        largest_present(&self.values, |i| self.is_missing(i))
    }

    /// How many cells are missing.
    pub fn missing_count(&self) -> usize {
        self.missing
            .as_ref()
            .map_or(0, |m| m.iter().filter(|&&b| b).count())
    }

    /// The cell at a multi-dimensional index, `None` when the index is out of range or the
    /// cell is missing.
    pub fn get(&self, index: &[usize]) -> Option<f64> {
        if index.len() != self.shape.len() {
            return None;
        }
        let mut flat = 0usize;
        for (&i, &n) in index.iter().zip(&self.shape) {
            if i >= n {
                return None;
            }
            flat = flat * n + i;
        }
        if self.is_missing(flat) {
            None
        } else {
            self.values.get(flat).copied()
        }
    }
}

/// Everything loaded from one data file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct LoadedData {
    /// Every declared size and its value, in declaration order.
    pub sizes: Vec<(String, usize)>,
    /// Every data variable and its values, in declaration order.
    pub values: Vec<(String, DataArray)>,
    /// For each `size N by COLUMN` read from CSV, the group column's text of each group in
    /// order (group n's key is `keys[n]`), so that output can say which subject `A[3]` is.
    /// Empty for JSON.
    pub groups: Vec<(String, Vec<String>)>,
    /// Things the user may want to know that are not errors, e.g. ignored JSON keys.
    pub notes: Vec<String>,
    /// For CSV: for each variable, the row-major cell each data row is read
    /// into (a scalar's rows all read cell 0, a per-group value's rows their
    /// group's), so that values can be written back row by row. Empty for JSON.
    pub row_cells: Vec<(String, Vec<usize>)>,
    /// For CSV: the line each data row starts on (the header is line 1), for
    /// messages about a row. Empty for JSON.
    pub row_lines: Vec<usize>,
    /// The sizes and variables the caller set apart from the file
    /// ([`crate::set_apart`]), sizes first, each in declaration order: their values
    /// are in `sizes` and `values`, and a file written from these data (a
    /// simulated data set) must carry them.
    pub given: Vec<String>,
}

impl LoadedData {
    /// The value of a size, by name.
    pub fn size(&self, name: &str) -> Option<usize> {
        self.sizes
            .iter()
            .find(|(n, _)| n == name)
            .map(|&(_, value)| value)
    }

    /// The group keys of a `size N by COLUMN`, by the size's name.
    pub fn group_keys(&self, size: &str) -> Option<&[String]> {
        self.groups
            .iter()
            .find(|(n, _)| n == size)
            .map(|(_, keys)| keys.as_slice())
    }

    /// The values of a data variable, by name.
    pub fn value(&self, name: &str) -> Option<&DataArray> {
        self.values
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, array)| array)
    }
}

/// The largest of `values` that is not `missing` (and finite), as an integer.
pub(crate) fn largest_present(values: &[f64], missing: impl Fn(usize) -> bool) -> Option<i64> {
    (0..values.len())
        .filter(|&i| !missing(i) && values[i].is_finite())
        .map(|i| values[i] as i64)
        .max()
}
