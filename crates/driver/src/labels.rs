//! Names for the axes and elements of a run's arrays, as ArviZ and xarray
//! want them: each axis named after the size that gives its length (`N`,
//! `T`), or `{name}_dim_{k}` (ArviZ's default) when no single size does, and
//! the labels of each element of an axis grouped from a long file (the
//! subject ids of `size N by subjID`).

use crate::compile::Compiled;
use crate::data::Data;
use rlc_check::model::SymbolKind;
use rlc_check::Dim;

/// One array's axis names, outermost first.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayDims {
    pub name: String,
    pub dims: Vec<String>,
}

/// The axis names of the parameters, the `out` values and the data.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Dims {
    /// Parameters then `out` values, in the order of a draw's values.
    pub variables: Vec<ArrayDims>,
    /// The data variables, in declaration order.
    pub data: Vec<ArrayDims>,
    /// The labels of the axes grouped from a long file: `(size, labels)`.
    pub coords: Vec<(String, Vec<String>)>,
}

/// The name of axis `axis` of array `name` whose length is `dim`.
fn axis_name(name: &str, axis: usize, dim: &Dim) -> String {
    match dim.as_size() {
        Some(size) => size.to_string(),
        None => format!("{name}_dim_{axis}"),
    }
}

fn array_dims(name: &str, shape: &[Dim]) -> ArrayDims {
    let mut dims: Vec<String> = Vec::with_capacity(shape.len());
    for (axis, d) in shape.iter().enumerate() {
        let axis_name = axis_name(name, axis, d);
        // xarray names each axis of an array once: the second `K` of a
        // `real[K, K]` gets ArviZ's default name.
        if dims.contains(&axis_name) {
            dims.push(format!("{name}_dim_{axis}"));
        } else {
            dims.push(axis_name);
        }
    }
    ArrayDims {
        name: name.to_string(),
        dims,
    }
}

/// The axis names of a compiled model's arrays, and the labels the data
/// gives to grouped axes.
pub fn dims(compiled: &Compiled, data: &Data) -> Dims {
    let variables = compiled
        .ir
        .params
        .iter()
        .map(|p| array_dims(&p.name, &p.shape))
        .chain(
            compiled
                .ir
                .outs
                .iter()
                .map(|o| array_dims(&o.name, &o.ty.shape)),
        )
        .collect();
    let model = &compiled.model;
    let data_dims = model
        .data
        .iter()
        .map(|d| {
            let sym = model.symbol(d.symbol);
            array_dims(&sym.name, &sym.info.ty.shape)
        })
        .collect();
    let coords = model
        .sizes
        .iter()
        .filter_map(|id| {
            let sym = model.symbol(*id);
            match &sym.kind {
                SymbolKind::Size {
                    group_by: Some(_), ..
                } => data
                    .loaded
                    .group_keys(&sym.name)
                    .map(|keys| (sym.name.clone(), keys.to_vec())),
                _ => None,
            }
        })
        .collect();
    Dims {
        variables,
        data: data_dims,
        coords,
    }
}

impl Dims {
    /// The labels of an axis, if the data gave it labels.
    pub fn labels(&self, dim: &str) -> Option<&[String]> {
        self.coords
            .iter()
            .find(|(d, _)| d == dim)
            .map(|(_, labels)| labels.as_slice())
    }

    /// The element names of variable `index` (a parameter or `out` value) of
    /// `shape`, row-major, in the language's 0-based indexing with grouped
    /// axes labelled: `alpha[S07]`, `q[S07, 3]`; a scalar is its name.
    pub fn element_labels(&self, index: usize, shape: &[usize]) -> Vec<String> {
        let Some(array) = self.variables.get(index) else {
            return Vec::new();
        };
        let count: usize = shape.iter().product();
        (0..count)
            .map(|flat| {
                self.cell_label(
                    &array.name,
                    &array.dims,
                    &crate::density::unravel(flat, shape),
                )
            })
            .collect()
    }

    /// The name of the element at `index` of array `name` whose axes are
    /// `axes`: `q[S07, 3]` (an axis with labels by its label, others by the
    /// language's 0-based index); a scalar is its name.
    pub fn cell_label(&self, name: &str, axes: &[String], index: &[usize]) -> String {
        if index.is_empty() {
            return name.to_string();
        }
        let parts: Vec<String> = index
            .iter()
            .enumerate()
            .map(|(axis, i)| self.index_label(axes.get(axis).map(String::as_str), *i))
            .collect();
        format!("{name}[{}]", parts.join(", "))
    }

    /// Element `i` of axis `axis`: its label where the data gives the axis
    /// labels (`S07`), else the language's 0-based index.
    pub fn index_label(&self, axis: Option<&str>, i: usize) -> String {
        axis.and_then(|d| self.labels(d))
            .and_then(|l| l.get(i))
            .cloned()
            .unwrap_or_else(|| i.to_string())
    }
}
