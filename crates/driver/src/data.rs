//! Loading a data file for a checked model: the model's declarations become
//! the data loader's description, and the loaded arrays become the inputs of
//! the compiled functions.

use crate::error::{Error, ErrorDetail, ErrorKind};
use rlc_check::model::SymbolKind;
use rlc_check::types::ElemType;
use rlc_check::Model;
pub use rlc_data::{not_text, split_setting, Format, SNIFF_BYTES};
use rlc_data::{DataDecl, DataSpec, DimSpec, LoadedData, SizeDecl};
use rlc_ir::interp::Tensor;
use rlc_ir::{Function, Input};
use std::collections::HashMap;

/// The loaded data: concrete sizes and one array per data variable.
#[derive(Debug, Clone)]
pub struct Data {
    pub sizes: HashMap<String, i64>,
    pub loaded: LoadedData,
    /// The file's display name, as errors and output headers name it.
    pub name: String,
    /// How messages name the rows of delimited data: `row_names[line - 2]`
    /// names the row on `line` (the header is line 1). A front end whose
    /// data is not a file the user wrote (the Python package writes a
    /// DataFrame as CSV) sets it, to name rows as its user counts them
    /// (`row 5`); `None`: by line (`line 7`).
    pub row_names: Option<Vec<String>>,
}

/// The data loader's description of a model's `size` and `data` declarations.
pub fn data_spec(model: &Model) -> Result<DataSpec, Error> {
    let mut spec = DataSpec {
        sizes: Vec::new(),
        variables: Vec::new(),
    };
    for id in &model.sizes {
        let sym = model.symbol(*id);
        if let SymbolKind::Size {
            group_by,
            largest_of,
            default,
        } = &sym.kind
        {
            spec.sizes.push(SizeDecl {
                name: sym.name.clone(),
                group_by: group_by.clone(),
                largest_of: largest_of.as_ref().map(|l| rlc_data::LargestOf {
                    variable: l.data.clone(),
                    plus: l.plus,
                }),
                default: default.and_then(|v| usize::try_from(v).ok()),
                given: None,
            });
        }
    }
    for d in &model.data {
        let sym = model.symbol(d.symbol);
        let mut shape = Vec::new();
        for dim in &sym.info.ty.shape {
            let spec_dim = match (dim.as_constant(), dim.as_size()) {
                (Some(c), _) if c >= 0 => DimSpec::Const(c as usize),
                (None, Some(name)) => DimSpec::Size(name.to_string()),
                _ => {
                    // The checker's size expressions are linear: each term one size.
                    let terms: Option<Vec<(i64, String)>> = dim
                        .terms()
                        .map(|(monomial, coefficient)| match monomial {
                            [size] => Some((coefficient, size.clone())),
                            _ => None,
                        })
                        .collect();
                    match terms {
                        Some(terms) if dim.as_constant().is_none() => DimSpec::Linear {
                            constant: dim.constant_part(),
                            terms,
                        },
                        _ => {
                            return Err(Error::new(
                                ErrorKind::Model,
                                format!(
                                    "error: data `{}` has the dimension `{dim}`, which no data can have",
                                    sym.name
                                ),
                            ))
                        }
                    }
                }
            };
            shape.push(spec_dim);
        }
        let elem = match sym.info.ty.elem {
            ElemType::Int => rlc_data::ElemType::Int,
            ElemType::Real => rlc_data::ElemType::Real,
            ElemType::Bool => rlc_data::ElemType::Bool,
        };
        let int_range = d
            .int_range
            .as_ref()
            .and_then(|r| Some((r.lo.as_constant()?, r.hi.as_constant()?)));
        spec.variables.push(DataDecl {
            name: sym.name.clone(),
            elem,
            optional: sym.info.ty.optional,
            shape,
            int_range,
            real_bounds: d.interval.map(|i| rlc_data::RealBounds {
                lo: i.lo,
                hi: i.hi,
                lo_closed: i.lo_closed,
                hi_closed: i.hi_closed,
            }),
            absent_fill: None,
            default: d.default.clone(),
            default_shape: d.default_shape.clone(),
            given: None,
            given_shape: Vec::new(),
        });
    }
    Ok(spec)
}

/// Validates a data file's bytes against the model (`name` is how errors
/// name the file; its extension, else its content, tells the format; a
/// `delimiter` overrides the detected one of delimited text); checks the
/// facts about sizes the compiler left for load time (`T - 1 >= 0`). The
/// loader's notes (ignored columns, …) are in `loaded.notes`.
pub fn load(model: &Model, name: &str, bytes: &[u8], delimiter: Option<u8>) -> Result<Data, Error> {
    load_design(model, name, bytes, delimiter, &[])
}

/// A value every cell of `decl` may hold: `int_lower_end`, the constant lower
/// end of an int's range (`1` of `in 1..K + 1`, whose upper end is checked once
/// the sizes are known), else 0, or for a real bounded away from 0 a value
/// inside its bounds. It stands for a cell no draw fills (a variable absent
/// from a design, a padding cell of a non-optional one), so the file written
/// still loads.
pub fn placeholder(decl: &DataDecl, int_lower_end: Option<i64>) -> f64 {
    match (int_lower_end, decl.real_bounds) {
        (Some(lo), _) => lo as f64,
        (None, Some(bounds)) if !bounds.contains(0.0) => {
            let (lo, hi) = (bounds.lo, bounds.hi);
            if lo.is_finite() && hi.is_finite() {
                lo + (hi - lo) / 2.0
            } else if lo.is_finite() {
                lo + lo.abs().max(1.0)
            } else {
                hi - hi.abs().max(1.0)
            }
        }
        _ => 0.0,
    }
}

/// [`load`] for a simulation's design: the variables named in `simulated`
/// may be absent from the file (every cell they would have then exists, with
/// the [`placeholder`] value).
pub fn load_design(
    model: &Model,
    name: &str,
    bytes: &[u8],
    delimiter: Option<u8>,
    simulated: &[String],
) -> Result<Data, Error> {
    load_design_set(
        model,
        name,
        bytes,
        delimiter,
        simulated,
        &Settings::default(),
    )
}

/// Values set apart from the data file, each `NAME=VALUE` (`RTbound=0.2`,
/// `mu0=[0.5, 1]`): they replace the file's column or key of that name, as
/// hBayesDM's function arguments do (`choiceRT_ddm(data, RTbound = 0.2)`).
#[derive(Clone, Debug, Default)]
pub struct Settings {
    /// How messages name the settings (`--set`).
    pub source: String,
    pub values: Vec<String>,
}

/// [`load_design`] with `settings` set apart from the file
/// ([`rlc_data::set_apart`]); the loaded data list them in `loaded.given`.
pub fn load_design_set(
    model: &Model,
    name: &str,
    bytes: &[u8],
    delimiter: Option<u8>,
    simulated: &[String],
    settings: &Settings,
) -> Result<Data, Error> {
    let mut spec = data_spec(model)?;
    rlc_data::set_apart(&mut spec, &settings.source, &settings.values).map_err(|e| {
        let count = e.errors.len();
        Error {
            kind: ErrorKind::Data,
            message: match count {
                1 => format!(
                    "{e}\nerror: a value given with {} does not fit the model",
                    settings.source
                ),
                _ => format!(
                    "{e}\nerror: {count} of the values given with {} do not fit the model",
                    settings.source
                ),
            },
            detail: ErrorDetail::Data(e.errors.clone()),
        }
    })?;
    for decl in &mut spec.variables {
        if simulated.contains(&decl.name) {
            let lower_end = model
                .data
                .iter()
                .filter(|d| model.symbol(d.symbol).name == decl.name)
                .find_map(|d| d.int_range.as_ref()?.lo.as_constant());
            decl.absent_fill = Some(placeholder(decl, lower_end));
        }
    }
    let name = name.to_string();
    let format = match (Format::guess(&name, bytes), delimiter) {
        (Format::Csv { .. }, Some(d)) => Format::Csv { delimiter: Some(d) },
        (f, _) => f,
    };
    let loaded = rlc_data::load(&spec, &name, bytes, format).map_err(|e| {
        let count = e.errors.len();
        Error {
            kind: ErrorKind::Data,
            message: format!(
                "{e}\nerror: {name} does not fit the model ({count} error{})",
                if count == 1 { "" } else { "s" }
            ),
            detail: ErrorDetail::Data(e.errors.clone()),
        }
    })?;
    let sizes: HashMap<String, i64> = loaded
        .sizes
        .iter()
        .map(|(n, v)| (n.clone(), *v as i64))
        .collect();
    for requirement in &model.size_requirements {
        match requirement.nonnegative.eval(&sizes) {
            Some(v) if v >= 0 => {}
            _ => {
                let values: Vec<String> = requirement
                    .nonnegative
                    .sizes()
                    .into_iter()
                    .map(|n| format!("{n} = {}", sizes.get(n).copied().unwrap_or_default()))
                    .collect();
                return Err(Error::data(format!(
                    "error: {name}: the model needs {} >= 0 ({}), but {}",
                    requirement.nonnegative,
                    requirement.why,
                    values.join(", ")
                )));
            }
        }
    }
    check_size_ranges(model, &name, &loaded, &sizes)?;
    Ok(Data {
        sizes,
        loaded,
        name,
        row_names: None,
    })
}

/// Integer ranges that mention sizes (`in 0..K`) are checked here, once the
/// sizes are known; the loader checks the constant ones. The checker relies
/// on these ranges to leave index checks out.
fn check_size_ranges(
    model: &Model,
    file: &str,
    loaded: &LoadedData,
    sizes: &HashMap<String, i64>,
) -> Result<(), Error> {
    for d in &model.data {
        let Some(range) = &d.int_range else { continue };
        if range.lo.as_constant().is_some() && range.hi.as_constant().is_some() {
            continue;
        }
        let sym = model.symbol(d.symbol);
        let (Some(lo), Some(hi)) = (range.lo.eval(sizes), range.hi.eval(sizes)) else {
            continue;
        };
        let Some(array) = loaded.value(&sym.name) else {
            continue;
        };
        if let Some((k, v)) = array
            .values
            .iter()
            .enumerate()
            .find(|(_, v)| !v.is_nan() && (**v < lo as f64 || **v >= hi as f64))
        {
            let name = &sym.name;
            let what = if array.shape.is_empty() {
                format!("`{name}` is {v}")
            } else {
                format!("element {k} (row-major) of `{name}` is {v}")
            };
            // A default can only be checked against such a range once the sizes are known.
            let default = if d
                .default
                .as_ref()
                .is_some_and(|cells| cells.get(k) == Some(v))
            {
                format!(" ({v} is the model's default for `{name}`, used when the file does not give it)")
            } else {
                String::new()
            };
            return Err(Error::data(format!(
                "error: {file}: {what}, outside its declared range {range} = {lo}..{hi}{default}"
            )));
        }
    }
    Ok(())
}

/// One tensor per input of `function`: the data arrays it names, and for
/// theta a zero vector of length `dim` (filled in at each call).
pub fn inputs(function: &Function, data: &Data, dim: usize) -> Result<Vec<Tensor>, Error> {
    function
        .inputs
        .iter()
        .map(|input| match input {
            Input::Theta => Ok(Tensor {
                shape: vec![dim],
                data: vec![0.0; dim],
            }),
            Input::Data(name) => {
                let array = data.loaded.value(name).ok_or_else(|| {
                    Error::internal(format!("internal error: data `{name}` was not loaded"))
                })?;
                Ok(Tensor {
                    shape: array.shape.clone(),
                    data: array.values.clone(),
                })
            }
        })
        .collect()
}
