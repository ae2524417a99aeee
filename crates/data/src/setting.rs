//! Values set apart from the data file, `NAME=VALUE` (the command line's `--set`, as
//! hBayesDM's `choiceRT_ddm(data, RTbound = 0.2)`): each is read as the JSON value of its
//! declaration and checked as a JSON file's key would be, then it replaces the file's
//! column or key of that name.

use serde_json::Value;

use crate::error::{DataError, ErrorKind, LoadError, Location};
use crate::spec::{DataSpec, SizeDecl};

/// Gives each variable named in `settings` (`RTbound=0.2`, `mu0=[0.5, 1]`, `flag=true`)
/// its value apart from the file ([`crate::DataDecl::given`]). A setting's variable is a
/// data declaration of constant dimensions (a scalar, `real[2]`) or of dimensions that
/// sizes with a default give (`real[L - 1]` with `size L = 3`), or such a size itself
/// ([`crate::SizeDecl::given`]); its value is JSON (a
/// number, `true`/`false`, nested brackets; `inf` and `-inf` too), checked against the
/// declaration's type, shape, range and bounds. `source` names the settings in errors
/// (`--set`). Every bad setting is reported, one error each.
pub fn set_apart(spec: &mut DataSpec, source: &str, settings: &[String]) -> Result<(), LoadError> {
    let mut errors = Vec::new();
    let mut seen: Vec<String> = Vec::new();
    for text in settings {
        let error = |location, kind| DataError {
            file: format!("{source} {text}"),
            location,
            kind,
            more: 0,
        };
        match read_one(spec, text) {
            Ok((name, cells, lengths)) => {
                if seen.contains(&name) {
                    errors.push(error(Location::File, ErrorKind::SettingRepeated { name }));
                    continue;
                }
                if let Some(decl) = spec.variables.iter_mut().find(|d| d.name == name) {
                    decl.given = Some(cells);
                    decl.given_shape = lengths;
                } else if let Some(size) = spec.sizes.iter_mut().find(|z| z.name == name) {
                    size.given = cells.first().map(|&v| v as usize);
                }
                seen.push(name);
            }
            Err(mut failure) => {
                for e in &mut failure.errors {
                    e.file = format!("{source} {text}");
                }
                errors.extend(failure.errors);
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LoadError { errors })
    }
}

/// The name and the value's text of `NAME=VALUE`, each trimmed; `None` without `=`.
pub fn split_setting(text: &str) -> Option<(&str, &str)> {
    text.split_once('=')
        .map(|(name, value)| (name.trim(), value.trim()))
}

/// One `NAME=VALUE`: the variable's (or size's) name, its cells row-major and their
/// lengths along each axis.
fn read_one(spec: &DataSpec, text: &str) -> Result<(String, Vec<f64>, Vec<usize>), LoadError> {
    let fail = |kind| LoadError {
        errors: vec![DataError {
            file: String::new(),
            location: Location::File,
            kind,
            more: 0,
        }],
    };
    let not_a_setting = |why: &str| {
        fail(ErrorKind::SettingText {
            why: why.to_string(),
        })
    };
    let Some((name, value_text)) = split_setting(text) else {
        return Err(not_a_setting("no `=` between the name and the value"));
    };
    // A size with a default (`size L = 3`) is a setting, and so is one the data's values
    // give where nothing else does (`size Narm = max(choice)`, hBayesDM's `Narm`
    // argument); the file determines the others.
    let settable = |size: &&SizeDecl| size.default.is_some() || size.largest_of.is_some();
    let setting_size = |name: &str| spec.sizes.iter().filter(settable).any(|z| z.name == name);
    if let Some(size) = spec.sizes.iter().filter(settable).find(|z| z.name == name) {
        let value = crate::sizes::size_from_text(value_text).ok_or_else(|| {
            fail(ErrorKind::BadSize {
                size: size.name.clone(),
                text: value_text.to_string(),
            })
        })?;
        return Ok((name.to_string(), vec![value as f64], Vec::new()));
    }
    let Some(decl) = spec.variables.iter().find(|d| d.name == name) else {
        return Err(fail(ErrorKind::SettingUnknown {
            name: name.to_string(),
            declared: spec.variables.iter().map(|d| d.name.clone()).collect(),
            size: spec.sizes.iter().any(|z| z.name == name),
        }));
    };
    if decl
        .shape
        .iter()
        .any(|dim| dim.terms().iter().any(|(_, size)| !setting_size(size)))
    {
        return Err(fail(ErrorKind::SettingSized {
            declaration: decl.clone(),
        }));
    }
    let value: Value = match value_text {
        "inf" | "Inf" => Value::from("Inf"),
        "-inf" | "-Inf" => Value::from("-Inf"),
        _ => serde_json::from_str(value_text).map_err(|_| {
            not_a_setting("the value is not a number, true or false, or a bracketed list of them")
        })?,
    };
    let no_missing = || not_a_setting("a value set apart has no missing cells");
    if has_null(&value) {
        return Err(no_missing());
    }
    // The value is read as a JSON file's key of the declaration would be, so that its
    // shape, type, range and bounds are checked with the same messages; a dimension
    // that sizes give (`real[L - 1]`) takes the value's length, which is checked
    // against the sizes when the data load.
    let lengths = nesting(&value, decl.shape.len());
    let mut alone = decl.clone();
    alone.default = None;
    alone.given = None;
    for (dim, &length) in alone.shape.iter_mut().zip(&lengths) {
        if !matches!(dim, crate::spec::DimSpec::Const(_)) {
            *dim = crate::spec::DimSpec::Const(length);
        }
    }
    let one = DataSpec {
        sizes: Vec::new(),
        variables: vec![alone],
    };
    let mut object = serde_json::Map::new();
    object.insert(name.to_string(), value);
    let bytes = serde_json::to_vec(&Value::Object(object)).unwrap_or_default();
    let loaded = crate::json_file::load(&one, "", &bytes)?;
    let Some((_, array)) = loaded.values.into_iter().next() else {
        return Err(no_missing());
    };
    // `"NaN"` reads as a missing cell, as in a JSON file.
    if array.missing_count() > 0 {
        return Err(no_missing());
    }
    Ok((name.to_string(), array.values, array.shape))
}

/// The lengths of the first `axes` levels of nesting of `value`, as its first
/// elements have them (a ragged value fails when it is read against them).
fn nesting(value: &Value, axes: usize) -> Vec<usize> {
    let mut lengths = Vec::with_capacity(axes);
    let mut current = value;
    while lengths.len() < axes {
        let Value::Array(items) = current else {
            break;
        };
        lengths.push(items.len());
        match items.first() {
            Some(first) => current = first,
            None => break,
        }
    }
    lengths.resize(axes, 0);
    lengths
}

fn has_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::Array(items) => items.iter().any(has_null),
        _ => false,
    }
}
