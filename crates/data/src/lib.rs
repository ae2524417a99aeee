//! The data loader of rlc (SPEC §4): it reads a model's observed data from Stan-format JSON
//! or long-format CSV/TSV text, checks every value against its declaration, and returns
//! concrete sizes and one dense row-major array per data variable, or typed errors that name
//! the file, the line and column (or JSON path) and the declaration violated. It owns the
//! file formats and their validation. It knows nothing of the `.rlm` language or of any other
//! rlc crate: the caller converts the compiler's declarations into a [`DataSpec`]. It does no
//! IO either: it takes the file's bytes and a display name, so it is tested on strings, in
//! `tests/load.rs` (one integration-test binary, including a proptest that no input panics).
//!
//! # Conventions
//! * **Lines.** A CSV error gives the line number an editor shows, counting the header as
//!   line 1, so the first data row is line 2. A JSON value is named by its path with 0-based
//!   indices, `choice[3][17]`, as NumPy and the language index; a JSON syntax error gives
//!   serde_json's 1-based line and column.
//! * **Missing cells.** CSV cells that are empty, `NA` or `NaN` (any case), and JSON `null`
//!   (or the string `"NaN"`), are missing; a missing cell is stored as NaN and flagged in
//!   [`DataArray::missing`]. A missing cell in a non-optional declaration is an error.
//! * **Numbers.** Ints must be integral (`2` and `2.0` both read as 2) and at most 2^53 in
//!   magnitude, so that they are exact as `f64`. Bools are `true`/`false` (any case in CSV) or
//!   `0`/`1`. Reals may be `inf`/`-inf` (JSON: the strings `"Inf"`, `"-Inf"`), unless bounded.
//! * **CSV shapes.** The delimiter is detected from the header line (the most frequent of
//!   tab, comma and semicolon) unless the caller forces one; cells and header names are
//!   trimmed; a row whose fields are all empty is skipped; a row with a different number of
//!   fields from the header is an error. A variable reads the column of its own name, as:
//!   a scalar (`data x: real`), whose column must hold the same value on every row (a
//!   constant column, else an error naming two lines); `[T]`, the column in row order, with
//!   `T` the number of rows; `[N]` with `size N by COL`, one value per group, the same on all
//!   the group's rows; `[N, T]` with `size N by COL`, group n's rows as row n, with `T` the
//!   longest group and the cells past a shorter group's end missing. Groups are the distinct
//!   texts of `COL` (so `1` and `1.0` are two groups), in order of first appearance; their
//!   keys are kept in [`LoadedData::groups`]. A missing `COL` cell is an error. Other shapes
//!   need a JSON file, except a setting's.
//! * **Settings.** A declaration with a default ([`DataDecl::default`]) takes it where the
//!   file leaves the variable out, with a note; an array setting of constant dimensions is
//!   set in CSV by one column per element, `mu0.1`, `mu0.2` (each one value on every row).
//!   [`set_apart`] gives a declaration of constant dimensions a value apart from the file
//!   (`--set NAME=VALUE`), checked as a JSON key; the file's column or key is then not read.
//! * **Sizes.** JSON sizes may be given as keys or inferred from array lengths; every source
//!   must agree, and a conflict names both. A size with a default ([`SizeDecl::default`],
//!   `size L = 3`) is a setting: a key, a CSV column of its name (one value on every row) or
//!   [`set_apart`] gives it, else its default, with a note. A dimension that is an expression
//!   of sizes ([`DimSpec::Linear`], `L - 1`) solves its length for its one size still unknown
//!   or is checked against the sizes once the file's own sources and then the sizes'
//!   defaults have spoken; an array's default has the lengths of the sizes' defaults and is
//!   checked last. A size that nothing in the file determines is an error. Keys and columns
//!   that no declaration reads are ignored with a note.
//! * **Errors.** Loading goes on after an error in one declaration to report the others, so
//!   [`LoadError`] holds every independent error (at most one per declaration).

// An error ends a load and is made at most once per declaration, so the size of
// `Result<_, ErrorKind>` costs nothing measurable; boxing every error would only add noise.
#![allow(clippy::result_large_err)]

mod cell;
mod csv_file;
mod error;
mod json_file;
mod loaded;
mod setting;
mod sizes;
mod spec;

pub use error::{DataError, ErrorKind, LoadError, Location, SizeSource};
pub use loaded::{DataArray, LoadedData};
pub use setting::{set_apart, split_setting};
pub use spec::{
    element_names, DataDecl, DataSpec, DimSpec, ElemType, LargestOf, RealBounds, SizeDecl,
};

use sizes::{cell_count, SizeTable};

/// The format of a data file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// Stan-format JSON: `{"T": 150, "action": [0, 1, …]}`.
    Json,
    /// Long-format delimited text with a header line.
    Csv {
        /// The field delimiter (`b','`, `b'\t'`, `b';'`, …); `None` detects it from the header.
        delimiter: Option<u8>,
    },
}

impl Format {
    /// The format a file's name says (`.json`; `.csv`, `.tsv`, `.txt`), if it says one.
    pub fn named(file_name: &str) -> Option<Format> {
        let lower = file_name.to_ascii_lowercase();
        if lower.ends_with(".json") {
            Some(Format::Json)
        } else if lower.ends_with(".csv") || lower.ends_with(".txt") {
            Some(Format::Csv { delimiter: None })
        } else if lower.ends_with(".tsv") {
            Some(Format::Csv {
                delimiter: Some(b'\t'),
            })
        } else {
            None
        }
    }

    /// The format a file's name suggests (`.json` is JSON; `.csv`, `.tsv` and `.txt` are
    /// delimited text), or else its content does (a text starting with `{` is JSON).
    pub fn guess(file_name: &str, bytes: &[u8]) -> Format {
        if let Some(format) = Format::named(file_name) {
            return format;
        }
        let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        match content.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') => Format::Json,
            _ => Format::Csv { delimiter: None },
        }
    }
}

/// Loads the data that `spec` declares from the bytes of one file, named `file_name` in
/// messages.
pub fn load(
    spec: &DataSpec,
    file_name: &str,
    bytes: &[u8],
    format: Format,
) -> Result<LoadedData, LoadError> {
    match format {
        Format::Json => load_json(spec, file_name, bytes),
        Format::Csv { delimiter } => load_csv(spec, file_name, bytes, delimiter),
    }
}

/// What a file that is not text looks like, from its first bytes: the
/// formats lab data arrive in by mistake (a workbook, a compressed file,
/// Excel's "Unicode Text", which is UTF-16).
fn refuse_non_text(file_name: &str, bytes: &[u8]) -> Result<(), LoadError> {
    match not_text(bytes) {
        None => Ok(()),
        Some(looks_like) => Err(LoadError {
            errors: vec![DataError {
                file: file_name.to_string(),
                location: Location::File,
                kind: ErrorKind::NotText { looks_like },
                more: 0,
            }],
        }),
    }
}

/// How many leading bytes [`not_text`] looks at.
pub const SNIFF_BYTES: usize = 4096;

/// What the file whose first bytes are `bytes` looks like when it is not
/// text (a workbook, an archive, UTF-16, binary), or `None` for text. A
/// reader may stop after [`SNIFF_BYTES`] bytes when this says it is not text.
pub fn not_text(bytes: &[u8]) -> Option<String> {
    let looks_like = if bytes.starts_with(b"PK\x03\x04") {
        "a zip archive (an Excel .xlsx or OpenDocument .ods workbook is one)"
    } else if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0]) {
        "an old Excel .xls workbook"
    } else if bytes.starts_with(&[0x1F, 0x8B]) {
        "a gzip-compressed file (decompress it first, with gunzip)"
    } else if bytes.starts_with(&[0xFF, 0xFE]) || bytes.starts_with(&[0xFE, 0xFF]) {
        "UTF-16 text (Excel's \"Unicode Text\")"
    } else if bytes.iter().take(SNIFF_BYTES).any(|b| *b == 0) {
        "binary data (it holds NUL bytes)"
    } else {
        return None;
    };
    Some(looks_like.to_string())
}

/// Loads Stan-format JSON.
pub fn load_json(spec: &DataSpec, file_name: &str, bytes: &[u8]) -> Result<LoadedData, LoadError> {
    check_spec(spec, file_name)?;
    refuse_non_text(file_name, bytes)?;
    json_file::load(spec, file_name, bytes)
}

/// The CSV/TSV file `bytes` with the named columns replaced (or added at the
/// end) by one text per data row, every other field kept as it was: how a
/// simulated variable is written back into a long-format design file.
pub fn rewrite_csv(
    file_name: &str,
    bytes: &[u8],
    delimiter: Option<u8>,
    columns: &[(String, Vec<String>)],
) -> Result<Vec<u8>, LoadError> {
    csv_file::rewrite(bytes, delimiter, columns).map_err(|(location, kind)| LoadError {
        errors: vec![DataError {
            file: file_name.to_string(),
            location,
            kind,
            more: 0,
        }],
    })
}

/// The field delimiter of a delimited file: `delimiter` when given, else the
/// one the loader detects from its header (tab, comma or semicolon).
pub fn csv_delimiter(bytes: &[u8], delimiter: Option<u8>) -> u8 {
    let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    delimiter.unwrap_or_else(|| csv_file::detect_delimiter(content))
}

/// Stan-format JSON of `sizes` and `values` (nested arrays row-major, `null`
/// for a missing cell, integers without a fraction), which [`load_json`]
/// reads back into the same data.
pub fn write_json(sizes: &[(String, usize)], values: &[(String, DataArray)]) -> String {
    fn number(x: f64, elem: ElemType) -> String {
        if x.is_nan() {
            "null".into()
        } else if x.is_infinite() {
            if x > 0.0 { "\"Inf\"" } else { "\"-Inf\"" }.into()
        } else if elem == ElemType::Bool {
            if x != 0.0 { "true" } else { "false" }.into()
        } else if elem == ElemType::Int || (x.fract() == 0.0 && x.abs() < 1e15) {
            format!("{}", x as i64)
        } else {
            format!("{x:?}")
        }
    }
    fn nested(out: &mut String, array: &DataArray, axis: usize, offset: usize) {
        if axis == array.shape.len() {
            let x = if array.is_missing(offset) {
                f64::NAN
            } else {
                array.values.get(offset).copied().unwrap_or(f64::NAN)
            };
            out.push_str(&number(x, array.elem));
            return;
        }
        let stride: usize = array.shape[axis + 1..].iter().product();
        out.push('[');
        for i in 0..array.shape[axis] {
            if i > 0 {
                out.push_str(", ");
            }
            nested(out, array, axis + 1, offset + i * stride);
        }
        out.push(']');
    }
    let mut out = String::from("{\n");
    let mut entries: Vec<String> = sizes
        .iter()
        .map(|(name, n)| format!("  \"{name}\": {n}"))
        .collect();
    for (name, array) in values {
        let mut text = format!("  \"{name}\": ");
        nested(&mut text, array, 0, 0);
        entries.push(text);
    }
    out.push_str(&entries.join(",\n"));
    out.push_str("\n}\n");
    out
}

/// Loads long-format CSV (or TSV, …); `delimiter: None` detects it from the header line.
pub fn load_csv(
    spec: &DataSpec,
    file_name: &str,
    bytes: &[u8],
    delimiter: Option<u8>,
) -> Result<LoadedData, LoadError> {
    check_spec(spec, file_name)?;
    refuse_non_text(file_name, bytes)?;
    csv_file::load(spec, file_name, bytes, delimiter)
}

/// The note that the file's columns or keys of variables set apart from it
/// ([`set_apart`]) are not read, or `None` where the file has none of them.
pub(crate) fn set_apart_note(decls: &[&DataDecl], file: &str) -> Option<String> {
    let names: Vec<String> = decls.iter().map(|d| format!("`{}`", d.name)).collect();
    match names.as_slice() {
        [] => None,
        [one] => Some(format!(
            "{one} is set apart from {file} ({}); its value in {file} is not read",
            decls[0].given_text()
        )),
        _ => Some(format!(
            "{} are set apart from {file}; their values in {file} are not read",
            names.join(", ")
        )),
    }
}

/// The note that settings the file leaves out take the model's defaults: one
/// sentence for one setting, one list for several (hBayesDM's HGF has ten).
pub(crate) fn defaults_used(decls: &[&DataDecl], file: &str) -> Option<String> {
    let how = |decl: &DataDecl| {
        let columns = decl.element_columns();
        match columns.as_slice() {
            _ if decl.shape.is_empty() => "a column or key of that name sets it".to_string(),
            [] => "a key of that name sets it".to_string(),
            [one] => format!("a key of that name sets it, or the column `{one}`"),
            [first, .., last] => {
                format!("a key of that name sets it, or the columns `{first}` … `{last}`")
            }
        }
    };
    match decls {
        [] => None,
        [decl] => Some(format!(
            "`{}` is not in {file}: the model's default, {}, is used ({})",
            decl.name,
            decl.default_text(),
            how(decl)
        )),
        _ => {
            let list: Vec<String> = decls
                .iter()
                .map(|d| format!("`{}` = {}", d.name, d.default_text()))
                .collect();
            Some(format!(
                "settings not in {file} take the model's defaults: {} (a column or key of a setting's name sets it; an array's columns are named `NAME.1`, `NAME.2`, …)",
                list.join(", ")
            ))
        }
    }
}

/// Rejects a spec whose shapes name undeclared sizes (a bug in the caller's conversion).
fn check_spec(spec: &DataSpec, file_name: &str) -> Result<(), LoadError> {
    let mut errors = Vec::new();
    for decl in &spec.variables {
        for dim in &decl.shape {
            for (_, name) in dim.terms() {
                if !spec.sizes.iter().any(|s| s.name == name) {
                    errors.push(DataError {
                        file: file_name.to_string(),
                        location: Location::File,
                        kind: ErrorKind::UnknownSize {
                            declaration: decl.clone(),
                            size: name.to_string(),
                        },
                        more: 0,
                    });
                }
            }
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(LoadError { errors })
    }
}

/// The cells read for one variable, in row-major order.
pub(crate) struct Filled {
    pub(crate) values: Vec<f64>,
    pub(crate) missing: Vec<bool>,
    /// The variable is absent from a JSON file and every cell reads as this
    /// value, once the sizes are known.
    pub(crate) absent: Option<f64>,
    /// The file lacks the variable: its cells are the declaration's
    /// `absent_fill`, no values of the file's.
    pub(crate) placeholder: bool,
}

impl Filled {
    pub(crate) fn with_capacity(n: usize) -> Self {
        Filled {
            values: Vec::with_capacity(n),
            missing: Vec::with_capacity(n),
            absent: None,
            placeholder: false,
        }
    }

    /// The cells of a variable the file leaves out: an array's default cell by
    /// cell (its lengths recorded in `sizes`, to be checked against its
    /// dimensions), else one value for every cell once the sizes are known.
    pub(crate) fn absent(decl: &DataDecl, sizes: &mut SizeTable) -> Result<Self, ErrorKind> {
        let mut filled = Filled::with_capacity(0);
        match decl.array_default() {
            Some(cells) => {
                sizes.defer_lengths(decl, &decl.default_shape, true)?;
                cells.iter().for_each(|&v| filled.push(Some(v)));
            }
            None => filled.absent = decl.value_when_absent(),
        }
        filled.placeholder = true;
        Ok(filled)
    }

    /// The cells the caller gave a variable apart from the file, their lengths
    /// recorded in `sizes`.
    pub(crate) fn given(
        decl: &DataDecl,
        cells: &[f64],
        sizes: &mut SizeTable,
    ) -> Result<Self, ErrorKind> {
        sizes.defer_lengths(decl, &decl.given_shape, false)?;
        let mut filled = Filled::with_capacity(cells.len());
        cells.iter().for_each(|&v| filled.push(Some(v)));
        Ok(filled)
    }

    pub(crate) fn push(&mut self, value: Option<f64>) {
        self.values.push(value.unwrap_or(f64::NAN));
        self.missing.push(value.is_none());
    }
}

/// `size K = max(x) + c`: where nothing else in the file gave `K`, it is the
/// largest present value of `x` plus `c` (0 when `x` has no values); where
/// something did, `x`'s values must not need more.
fn sizes_from_largest_values(
    spec: &DataSpec,
    sizes: &mut SizeTable,
    filled: &[Option<Filled>],
    errors: &mut Vec<DataError>,
    error: &impl Fn(Location, ErrorKind) -> DataError,
) {
    for size in &spec.sizes {
        let Some(largest_of) = &size.largest_of else {
            continue;
        };
        let Some(index) = spec
            .variables
            .iter()
            .position(|d| d.name == largest_of.variable)
        else {
            continue;
        };
        // A variable that failed to load has its own error.
        let Some(Some(cells)) = filled.get(index) else {
            continue;
        };
        let known = sizes.get_with_source(&size.name);
        if cells.placeholder {
            if known.is_none() {
                let kind = ErrorKind::LargestValueAbsent { size: size.clone() };
                errors.push(error(Location::File, kind));
            }
            continue;
        }
        let largest = loaded::largest_present(&cells.values, |i| cells.missing[i]);
        let needed = largest.map_or(0, |v| i128::from(v) + i128::from(largest_of.plus));
        match known {
            Some((value, source)) => {
                if needed > value as i128 {
                    let kind = ErrorKind::LargestValueExceeds {
                        size: size.clone(),
                        largest: largest.unwrap_or_default(),
                        value,
                        source,
                    };
                    errors.push(error(Location::File, kind));
                }
            }
            None if needed < 0 || needed > i128::from(sizes::MAX_CELLS as u64) => {
                let kind = ErrorKind::LargestValueNotASize {
                    size: size.clone(),
                    value: needed,
                };
                errors.push(error(Location::File, kind));
            }
            None => {
                let source = || SizeSource::LargestValue {
                    variable: largest_of.variable.clone(),
                    plus: largest_of.plus,
                };
                if let Err(kind) = sizes.unify(&size.name, needed as usize, source) {
                    errors.push(error(Location::File, kind));
                }
            }
        }
    }
}

/// Puts the sizes and the cells read for each variable together, or reports what failed.
/// `filled` has one entry per declaration, `None` where that declaration had an error.
pub(crate) fn assemble(
    spec: &DataSpec,
    file_name: &str,
    sizes: &mut SizeTable,
    filled: Vec<Option<Filled>>,
    mut errors: Vec<DataError>,
    notes: Vec<String>,
    groups: Vec<(String, Vec<String>)>,
) -> Result<LoadedData, LoadError> {
    let error = |location, kind| DataError {
        file: file_name.to_string(),
        location,
        kind,
        more: 0,
    };
    sizes_from_largest_values(spec, sizes, &filled, &mut errors, &error);
    let (settled, defaulted) = sizes.settle(spec);
    for kind in settled {
        errors.push(error(Location::File, kind));
    }
    let mut notes = notes;
    notes.extend(defaulted.iter().map(|size| {
        format!(
            "`{}` is not in {file_name}: the model's default, {}, is used (a key or a column of that name sets it)",
            size.name,
            size.default.unwrap_or_default()
        )
    }));
    let known_sizes = match sizes.finish() {
        Ok(known) => known,
        Err(unknown) => {
            // A size left unknown because its variable failed is not a separate error.
            if errors.is_empty() {
                for size in spec.sizes.iter().filter(|s| unknown.contains(&s.name)) {
                    errors.push(error(
                        Location::File,
                        ErrorKind::UndeterminedSize { size: size.clone() },
                    ));
                }
            }
            Vec::new()
        }
    };
    if !errors.is_empty() {
        return Err(LoadError { errors });
    }
    let mut values = Vec::with_capacity(spec.variables.len());
    for (decl, filled) in spec.variables.iter().zip(filled) {
        let Some(mut filled) = filled else { continue };
        let shape = sizes.shape_of(decl).unwrap_or_default();
        if let Some(fill) = filled.absent {
            // An absent variable takes its shape from the sizes the rest of the file gave.
            let count = usize::try_from(cell_count(&shape)).unwrap_or(usize::MAX);
            if cell_count(&shape) > sizes::MAX_CELLS {
                errors.push(error(
                    Location::File,
                    ErrorKind::TooLarge {
                        declaration: decl.clone(),
                        cells: cell_count(&shape),
                    },
                ));
                continue;
            }
            filled = Filled::with_capacity(count);
            for _ in 0..count {
                filled.push(Some(fill));
            }
        }
        if cell_count(&shape) != filled.values.len() as u128 {
            // The readers keep arrays rectangular, so this would be a bug; report it anyway.
            errors.push(error(
                Location::File,
                ErrorKind::WrongShape {
                    expected: "a rectangular array",
                    declaration: decl.clone(),
                },
            ));
            continue;
        }
        let missing = filled.missing.iter().any(|&m| m).then_some(filled.missing);
        values.push((
            decl.name.clone(),
            DataArray {
                elem: decl.elem,
                shape,
                values: filled.values,
                missing,
            },
        ));
    }
    if !errors.is_empty() {
        return Err(LoadError { errors });
    }
    Ok(LoadedData {
        sizes: known_sizes,
        values,
        notes,
        groups,
        row_cells: Vec::new(),
        row_lines: Vec::new(),
        given: spec
            .sizes
            .iter()
            .filter(|s| s.given.is_some())
            .map(|s| s.name.clone())
            .chain(
                spec.variables
                    .iter()
                    .filter(|d| d.given.is_some())
                    .map(|d| d.name.clone()),
            )
            .collect(),
    })
}

/// A parameter's value as a user gives it: its elements row-major, and the
/// lengths of the nesting they were given in (`[]` for a number, `[6]` for a
/// flat list, `[2, 3]` for a list of two lists of three), so that a value
/// nested as another shape than the parameter's (a transposed matrix) is
/// refused rather than read row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct GivenValue {
    pub elements: Vec<f64>,
    pub nesting: Vec<usize>,
}

impl GivenValue {
    /// A flat list (or, with one element, a number that broadcasts).
    pub fn flat(elements: Vec<f64>) -> Self {
        let nesting = vec![elements.len()];
        GivenValue { elements, nesting }
    }

    /// Elements given with the nesting of an array of `shape`.
    pub fn shaped(elements: Vec<f64>, nesting: Vec<usize>) -> Self {
        GivenValue { elements, nesting }
    }

    /// Whether this value can be the value of a parameter of `shape`: one number
    /// for every element, a flat list of all of them row-major, or nested as
    /// `shape` itself. Otherwise the reason, for an error message.
    pub fn fits(&self, shape: &[usize]) -> Result<(), String> {
        let count: usize = shape.iter().product();
        let flat = self.nesting.len() <= 1;
        if self.elements.len() == 1 && flat {
            return Ok(());
        }
        if self.elements.len() != count {
            return Err(format!(
                "has {count} elements, {} were given",
                self.elements.len()
            ));
        }
        if flat || self.nesting == shape {
            return Ok(());
        }
        Err(format!(
            "is {}, the value given is nested as {} (give it nested as the parameter, or as one flat list row-major)",
            shape_text(shape),
            shape_text(&self.nesting)
        ))
    }
}

fn shape_text(shape: &[usize]) -> String {
    let lengths: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", lengths.join(", "))
}

/// A JSON object of named numbers and nested arrays of numbers (`{"alpha":
/// 0.3, "w": [[1, 2], [3, 4]]}`), each with its nesting (which must be
/// rectangular); an object with a `params` key (a simulation's truth file) is
/// read from that key. Used for parameter values, not data.
pub fn parse_json_numbers(
    text: &str,
) -> Result<std::collections::HashMap<String, GivenValue>, String> {
    /// Appends `value`'s numbers to `out` and returns its nesting.
    fn flatten(value: &serde_json::Value, out: &mut Vec<f64>) -> Result<Vec<usize>, String> {
        match value {
            serde_json::Value::Number(n) => {
                out.push(n.as_f64().ok_or_else(|| format!("{n} is not a number"))?);
                Ok(Vec::new())
            }
            serde_json::Value::Array(items) => {
                let mut inner: Option<Vec<usize>> = None;
                for (i, item) in items.iter().enumerate() {
                    let nesting = flatten(item, out)?;
                    match &inner {
                        Some(first) if *first != nesting => {
                            return Err(format!(
                            "its lists are not all the same shape: item 0 is {}, item {i} is {}",
                            nesting_text(first),
                            nesting_text(&nesting)
                        ))
                        }
                        Some(_) => {}
                        None => inner = Some(nesting),
                    }
                }
                let mut nesting = vec![items.len()];
                nesting.extend(inner.unwrap_or_default());
                Ok(nesting)
            }
            serde_json::Value::String(s) if s == "Inf" || s == "inf" => {
                out.push(f64::INFINITY);
                Ok(Vec::new())
            }
            serde_json::Value::String(s) if s == "-Inf" || s == "-inf" => {
                out.push(f64::NEG_INFINITY);
                Ok(Vec::new())
            }
            other => Err(format!("{other} is not a number or an array of numbers")),
        }
    }
    fn nesting_text(nesting: &[usize]) -> String {
        if nesting.is_empty() {
            "a number".to_string()
        } else {
            format!("a list of shape {}", shape_text(nesting))
        }
    }
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))?;
    let object = match value.get("params") {
        Some(params) => params,
        None => &value,
    };
    let serde_json::Value::Object(map) = object else {
        return Err("expected an object of named values, like {\"alpha\": 0.3}".to_string());
    };
    let mut out = std::collections::HashMap::new();
    for (name, v) in map {
        let mut numbers = Vec::new();
        let nesting = flatten(v, &mut numbers).map_err(|e| format!("`{name}`: {e}"))?;
        out.insert(name.clone(), GivenValue::shaped(numbers, nesting));
    }
    Ok(out)
}
