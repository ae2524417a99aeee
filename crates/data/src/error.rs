//! The errors of data loading: typed values with one `Display` that a user reads.

use std::fmt;

use crate::spec::{DataDecl, SizeDecl};

/// Where in the file an error is.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    /// The file as a whole.
    File,
    /// A CSV line, 1-based as an editor numbers it (the header is line 1).
    Line { line: usize },
    /// A CSV column as a whole.
    Column { column: String },
    /// A CSV cell: its line (header = line 1) and its column's header name.
    Cell { line: usize, column: String },
    /// A position in a JSON text that is not valid JSON, 1-based line and column.
    JsonText { line: usize, column: usize },
    /// A JSON value by its path, `choice[3][17]`, with 0-based indices as in the JSON arrays.
    JsonValue { path: String },
}

/// What determined a size's value, so that a conflict can name both sides.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SizeSource {
    /// The JSON key of the same name, `"T": 150`.
    JsonKey,
    /// The length of a JSON array: the value at `path` (`choice`, `choice[3]`).
    JsonLength { path: String },
    /// The number of CSV data rows, read into `variable`.
    CsvRows { variable: String },
    /// The number of distinct values of a CSV column.
    CsvGroups { column: String },
    /// The most distinct values of a CSV column within one group of another column
    /// (`size B by block` nested in `size N by subjID`).
    CsvNestedGroups { column: String, within: String },
    /// The longest group's number of rows, read into `variable`.
    CsvLongestGroup {
        variable: String,
        column: String,
        group: String,
    },
    /// The largest value of a variable, `size K = max(choice)`.
    LargestValue { variable: String, plus: i64 },
    /// The model's default, `size L = 3`.
    Default,
    /// Given apart from the file (`--set L=4`).
    SetApart,
    /// A CSV column of the size's name, one value on every row (`line`: where it was read).
    CsvColumn { column: String, line: usize },
    /// The columns of an array setting's elements, `mu0.1` … `mu0.3`.
    CsvElementColumns { first: String, last: String },
    /// The length of an array's default (`data mu0: real[L - 1] = [0.5, 1.0]`).
    DefaultLength { variable: String },
    /// The length of an array's value given apart from the file (`--set`).
    GivenLength { variable: String },
    /// A length found along a dimension that is an expression of the size
    /// (`L - 1`), which the size was solved from.
    Through {
        dim: String,
        length: Box<SizeSource>,
    },
}

/// What is wrong. Each variant names the declaration it concerns, where there is one.
#[derive(Clone, Debug, PartialEq)]
pub enum ErrorKind {
    /// The file has no content (or only whitespace).
    Empty,
    /// The file is not text: a spreadsheet, an archive, UTF-16 text.
    NotText { looks_like: String },
    /// The CSV file has a header line but no data rows.
    HeaderOnly,
    /// The text is not valid CSV or JSON.
    Syntax { message: String },
    /// The JSON text is valid but its top level is not an object.
    NotAnObject,
    /// A CSV row has a different number of fields from the header.
    FieldCount { expected: usize, found: usize },
    /// A quote opens a CSV field and no quote closes it on its line, so the field runs
    /// on over the following `lines` lines (the file's quotes are odd in number).
    UnclosedQuote { lines: usize },
    /// The header names a column twice, and a declaration reads it.
    DuplicateColumn { column: String },
    /// The CSV file has no column for a data declaration; `columns` are the header's names.
    MissingColumn {
        declaration: DataDecl,
        columns: Vec<String>,
    },
    /// The CSV file has no column that a `size N by COLUMN` groups by.
    MissingGroupColumn {
        size: SizeDecl,
        columns: Vec<String>,
    },
    /// A group column's cell is missing, so its row belongs to no group.
    MissingGroupKey { size: SizeDecl },
    /// The JSON object has no key for a data declaration.
    MissingKey { declaration: DataDecl },
    /// A cell that should be a number is not one.
    NotANumber { text: String, declaration: DataDecl },
    /// An `int` cell holds a number that is not an integer (or is too large to be exact).
    NotAnInteger { value: f64, declaration: DataDecl },
    /// A `bool` cell holds something other than true/false/0/1.
    NotABool { text: String, declaration: DataDecl },
    /// An `int` cell is outside the declared half-open range.
    OutOfRange { value: f64, declaration: DataDecl },
    /// A `real` cell is outside the declared open bounds.
    OutOfBounds { value: f64, declaration: DataDecl },
    /// A cell is missing but the declaration's type is not optional.
    MissingValue { declaration: DataDecl },
    /// A JSON value has the wrong nesting: `expected` is "an array" or "a number".
    WrongShape {
        expected: &'static str,
        declaration: DataDecl,
    },
    /// Groups have different lengths but the declaration's type is not optional, so the
    /// cells past a shorter group's end cannot be missing.
    RaggedGroups {
        declaration: DataDecl,
        column: String,
        group: String,
        group_len: usize,
        size: String,
        size_value: usize,
    },
    /// A group has fewer groups of a nested level within it than the level's size (a
    /// subject with fewer blocks than another), but the declaration's type is not
    /// optional, so the cells of the blocks it lacks cannot be missing.
    RaggedNestedGroups {
        declaration: DataDecl,
        column: String,
        group: String,
        inner_column: String,
        count: usize,
        size: String,
        size_value: usize,
    },
    /// A per-group variable (`[N]` with `size N by COLUMN`) takes two values in one group.
    GroupValueVaries {
        declaration: DataDecl,
        column: String,
        group: String,
        first_line: usize,
        first_text: String,
        text: String,
    },
    /// A scalar read from CSV takes two values on different rows.
    ScalarVaries {
        declaration: DataDecl,
        first_line: usize,
        first_text: String,
        text: String,
    },
    /// An array setting's element column (`mu0.2`) holds different values on two rows.
    ElementVaries {
        declaration: DataDecl,
        column: String,
        first_line: usize,
        first_text: String,
        text: String,
    },
    /// A CSV file gives some of an array setting's element columns but not all.
    PartialSetting {
        declaration: DataDecl,
        given: String,
        missing: String,
    },
    /// A CSV column named as an array setting (`mu0` for `data mu0: real[2] = …`), whose
    /// elements are the columns `mu0.1`, `mu0.2`.
    ArraySettingColumn { declaration: DataDecl },
    /// A value set apart from the file that is not `NAME=VALUE` with a JSON value.
    SettingText { why: String },
    /// A value set apart from the file for a name the model declares no data of
    /// (or a size without a default).
    SettingUnknown {
        name: String,
        declared: Vec<String>,
        /// `name` is a size of the model's, which the data file determines.
        size: bool,
    },
    /// A value set apart from the file for a declaration sized by the data (`real[N]`):
    /// a size without a default.
    SettingSized { declaration: DataDecl },
    /// The same name set apart twice.
    SettingRepeated { name: String },
    /// The declaration's shape has no reading from a long-format CSV file.
    ShapeNotInCsv { declaration: DataDecl },
    /// `[N, B, …]` with `size B by …` declared before `size N by …`: the
    /// grouped size declared first is the outer group. (size, column) each.
    GroupsOutOfOrder {
        declaration: DataDecl,
        outer: (String, String),
        inner: (String, String),
    },
    /// Two parts of the file give a size different values.
    SizeMismatch {
        size: String,
        first: usize,
        first_source: SizeSource,
        second: usize,
        second_source: SizeSource,
    },
    /// A constant dimension does not match the data's length along it.
    ConstDimMismatch {
        declaration: DataDecl,
        axis: usize,
        expected: usize,
        found: usize,
    },
    /// A length found along a dimension that is an expression of sizes (`L - 1`)
    /// that the sizes make another value (`value`), or that no value of the one
    /// size left unknown makes (`value: None`: `2*L` of length 3).
    DimMismatch {
        declaration: DataDecl,
        axis: usize,
        found: usize,
        found_source: SizeSource,
        value: Option<i64>,
        /// The sizes the dimension names that were known, with their sources.
        sizes: Vec<(String, usize, SizeSource)>,
    },
    /// Nothing in the file determines this size.
    UndeterminedSize { size: SizeDecl },
    /// A JSON size key's value is not a non-negative integer.
    BadSize { size: String, text: String },
    /// A declaration's shape names a size that the spec does not declare (a caller bug).
    UnknownSize { declaration: DataDecl, size: String },
    /// The array would have more cells than this loader accepts.
    TooLarge { declaration: DataDecl, cells: u128 },
    /// `size K = max(choice)`, and the file neither has `choice` nor gives `K`.
    LargestValueAbsent { size: SizeDecl },
    /// `size K = max(choice)`: the file gives `K` (a JSON key, another array's
    /// length), and a value of `choice` (plus the constant) exceeds it.
    LargestValueExceeds {
        size: SizeDecl,
        largest: i64,
        value: usize,
        source: SizeSource,
    },
    /// `size K = max(choice) + c` is negative or beyond what a size may be.
    LargestValueNotASize { size: SizeDecl, value: i128 },
}

/// One error, with the file's display name and where in it.
#[derive(Clone, Debug, PartialEq)]
pub struct DataError {
    /// The file's display name, as the caller gave it.
    pub file: String,
    /// Where in the file.
    pub location: Location,
    /// What is wrong.
    pub kind: ErrorKind,
    /// How many more cells of the same variable are wrong (reported once, here).
    pub more: usize,
}

/// Every independent error found in one file (at least one; at most one per declaration).
#[derive(Clone, Debug, PartialEq)]
pub struct LoadError {
    pub errors: Vec<DataError>,
}

/// What other programs write for a missing value, that rlc does not read as
/// one (it reads an empty cell, `NA` and `NaN`).
const MISSING_LOOKALIKES: [&str; 8] = [".", "N/A", "#N/A", "NULL", "-", "NONE", "MISSING", "?"];

/// When the header has the name in another case or with underscores (`SubjID`, `subj_ID`
/// for `subjID`), as a file written for hBayesDM may: say so.
fn write_case_hint(f: &mut fmt::Formatter<'_>, name: &str, columns: &[String]) -> fmt::Result {
    match columns
        .iter()
        .find(|c| c.as_str() != name && loose_name(c) == loose_name(name))
    {
        Some(column) => write!(
            f,
            "; \"{column}\" differs only in case, spaces or underscores: rename the column to \"{name}\" (rlc matches names exactly, where hBayesDM ignores case and underscores)"
        ),
        None => Ok(()),
    }
}

/// A column name as hBayesDM compares them (case and underscores ignored), and without
/// spaces: the names a lab's file may use for a declaration's column.
fn loose_name(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_' && !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

impl ErrorKind {
    /// A stable code for documentation, `D0001`.
    pub fn code(&self) -> &'static str {
        match self {
            ErrorKind::Empty => "D0001",
            ErrorKind::HeaderOnly => "D0002",
            ErrorKind::Syntax { .. } => "D0003",
            ErrorKind::NotAnObject => "D0004",
            ErrorKind::FieldCount { .. } => "D0005",
            ErrorKind::DuplicateColumn { .. } => "D0006",
            ErrorKind::MissingColumn { .. } => "D0007",
            ErrorKind::MissingGroupColumn { .. } => "D0008",
            ErrorKind::MissingGroupKey { .. } => "D0009",
            ErrorKind::MissingKey { .. } => "D0010",
            ErrorKind::NotANumber { .. } => "D0011",
            ErrorKind::NotAnInteger { .. } => "D0012",
            ErrorKind::NotABool { .. } => "D0013",
            ErrorKind::OutOfRange { .. } => "D0014",
            ErrorKind::OutOfBounds { .. } => "D0015",
            ErrorKind::MissingValue { .. } => "D0016",
            ErrorKind::WrongShape { .. } => "D0017",
            ErrorKind::RaggedGroups { .. } => "D0018",
            ErrorKind::GroupValueVaries { .. } => "D0019",
            ErrorKind::ScalarVaries { .. } | ErrorKind::ElementVaries { .. } => "D0020",
            ErrorKind::ShapeNotInCsv { .. } | ErrorKind::GroupsOutOfOrder { .. } => "D0021",
            ErrorKind::SizeMismatch { .. } => "D0022",
            ErrorKind::ConstDimMismatch { .. } | ErrorKind::DimMismatch { .. } => "D0023",
            ErrorKind::UndeterminedSize { .. } => "D0024",
            ErrorKind::BadSize { .. } => "D0025",
            ErrorKind::UnknownSize { .. } => "D0026",
            ErrorKind::TooLarge { .. } => "D0027",
            ErrorKind::RaggedNestedGroups { .. } => "D0028",
            ErrorKind::NotText { .. } => "D0029",
            ErrorKind::UnclosedQuote { .. } => "D0031",
            ErrorKind::LargestValueAbsent { .. } => "D0032",
            ErrorKind::LargestValueExceeds { .. } => "D0033",
            ErrorKind::PartialSetting { .. } | ErrorKind::ArraySettingColumn { .. } => "D0035",
            ErrorKind::LargestValueNotASize { .. } => "D0034",
            ErrorKind::SettingText { .. }
            | ErrorKind::SettingUnknown { .. }
            | ErrorKind::SettingSized { .. }
            | ErrorKind::SettingRepeated { .. } => "D0036",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File => Ok(()),
            Location::Line { line } => write!(f, ", line {line}"),
            Location::Column { column } => write!(f, ", column \"{column}\""),
            Location::Cell { line, column } => write!(f, ", line {line}, column \"{column}\""),
            Location::JsonText { line, column } => write!(f, ", line {line}, column {column}"),
            Location::JsonValue { path } => write!(f, ", at {path}"),
        }
    }
}

impl fmt::Display for SizeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SizeSource::JsonKey => f.write_str("given in the file"),
            SizeSource::JsonLength { path } => write!(f, "the length of {path}"),
            SizeSource::CsvRows { variable } => {
                write!(f, "the number of rows, read into `{variable}`")
            }
            SizeSource::CsvGroups { column } => {
                write!(f, "the number of distinct values in column \"{column}\"")
            }
            SizeSource::CsvNestedGroups { column, within } => write!(
                f,
                "the most distinct values in column \"{column}\" within one value of \"{within}\""
            ),
            SizeSource::CsvLongestGroup {
                variable,
                column,
                group,
            } => write!(
                f,
                "the rows of the longest group ({column} = {group}), read into `{variable}`"
            ),
            SizeSource::LargestValue { variable, plus: 0 } => {
                write!(f, "the largest value of `{variable}`")
            }
            SizeSource::LargestValue { variable, plus } => {
                write!(f, "the largest value of `{variable}`, plus {plus}")
            }
            SizeSource::Default => f.write_str("the model's default"),
            SizeSource::SetApart => f.write_str("set apart from the file"),
            SizeSource::CsvColumn { column, line } => {
                write!(f, "column \"{column}\" on line {line}")
            }
            SizeSource::CsvElementColumns { first, last } if first == last => {
                write!(f, "the column \"{first}\"")
            }
            SizeSource::CsvElementColumns { first, last } => {
                write!(f, "the columns \"{first}\" … \"{last}\"")
            }
            SizeSource::DefaultLength { variable } => {
                write!(f, "the length of `{variable}`'s default")
            }
            SizeSource::GivenLength { variable } => {
                write!(f, "the length of `{variable}` as set apart from the file")
            }
            SizeSource::Through { dim, length } => write!(f, "`{dim}` = {length}"),
        }
    }
}

/// Formats a cell value the way a user typed it: integers without a fraction.
fn number(value: f64) -> String {
    if value.is_finite() && value.fract() == 0.0 && value.abs() < 1e16 {
        format!("{value:.0}")
    } else if value != 0.0 && value.is_finite() && !(1e-4..1e16).contains(&value.abs()) {
        // `-1e-300`, not three hundred digits.
        format!("{value:e}")
    } else {
        format!("{value}")
    }
}

/// The type part of a declaration, for hints: `int?[N, T]`.
fn optional_type(declaration: &DataDecl) -> String {
    let text = DataDecl {
        optional: true,
        int_range: None,
        real_bounds: None,
        ..declaration.clone()
    }
    .to_string();
    let prefix = format!("data {}: ", declaration.name);
    text.strip_prefix(&prefix).unwrap_or(&text).to_string()
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write(f, &|line| format!("on line {line}"))
    }
}

impl ErrorKind {
    /// The message, with the earlier row some errors compare against (D0019,
    /// D0020) named by `earlier_row` (given its line, it says `on line 3`):
    /// the Python package names a DataFrame's rows by their labels instead.
    pub fn message_naming_rows(&self, earlier_row: &dyn Fn(usize) -> String) -> String {
        struct Message<'a>(&'a ErrorKind, &'a dyn Fn(usize) -> String);
        impl fmt::Display for Message<'_> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.write(f, self.1)
            }
        }
        Message(self, earlier_row).to_string()
    }

    fn write(
        &self,
        f: &mut fmt::Formatter<'_>,
        earlier_row: &dyn Fn(usize) -> String,
    ) -> fmt::Result {
        match self {
            ErrorKind::Empty => f.write_str("the file is empty"),
            ErrorKind::NotText { looks_like } => write!(
                f,
                "the file is {looks_like}, which rlc does not read: export the data as UTF-8 CSV or tab-separated text (in Excel: Save As, \"CSV UTF-8\")"
            ),
            ErrorKind::HeaderOnly => {
                f.write_str("the file has a header line but no data rows")
            }
            ErrorKind::Syntax { message } => write!(f, "cannot be read: {message}"),
            ErrorKind::NotAnObject => f.write_str(
                "a JSON data file must be an object of named values, like {\"T\": 3, \"y\": [1, 2, 3]}",
            ),
            ErrorKind::UnclosedQuote { lines } => write!(
                f,
                "a quote (\") opens this field and none closes it on its line, so the field runs on over the next {lines} line{} (an unclosed quote swallows the rows after it): remove the quote or close it",
                if *lines == 1 { "" } else { "s" }
            ),
            ErrorKind::FieldCount { expected, found } => write!(
                f,
                "this row has {found} field{} but the header has {expected}",
                if *found == 1 { "" } else { "s" }
            ),
            ErrorKind::DuplicateColumn { column } => {
                write!(f, "the header names column \"{column}\" more than once")
            }
            ErrorKind::MissingColumn {
                declaration,
                columns,
            } => {
                write!(
                    f,
                    "there is no column \"{}\" for `{declaration}` (the header has {})",
                    declaration.name,
                    column_list(columns)
                )?;
                write_case_hint(f, &declaration.name, columns)
            }
            ErrorKind::MissingGroupColumn { size, columns } => {
                let name = size.group_by.as_deref().unwrap_or_default();
                write!(
                    f,
                    "there is no column \"{name}\" to group the rows by, as `{size}` asks (the header has {})",
                    column_list(columns)
                )?;
                write_case_hint(f, name, columns)
            }
            ErrorKind::MissingGroupKey { size } => write!(
                f,
                "the value is missing, so the row belongs to no group of `{size}`"
            ),
            ErrorKind::MissingKey { declaration } => write!(
                f,
                "there is no key \"{}\" for `{declaration}`",
                declaration.name
            ),
            ErrorKind::NotANumber { text, declaration } => {
                write!(
                    f,
                    "{} is not a number, as `{declaration}` needs",
                    quote(text)
                )?;
                // `0,5`: a decimal comma, as spreadsheets in many locales write numbers.
                let mut parts = text.trim().trim_start_matches('-').split(',');
                let decimal_comma = matches!(
                    (parts.next(), parts.next(), parts.next()),
                    (Some(a), Some(b), None) if !a.is_empty() && !b.is_empty()
                        && a.bytes().all(|c| c.is_ascii_digit())
                        && b.bytes().all(|c| c.is_ascii_digit())
                );
                if decimal_comma {
                    f.write_str(" (it looks like a decimal comma: rlc reads numbers with a decimal point; save the file with `.` as the decimal mark, e.g. pandas `df.to_csv(path, sep=\";\", decimal=\".\")`)")?;
                }
                // Other programs' codes for a missing value (SAS and Stata's `.`).
                if MISSING_LOOKALIKES.contains(&text.trim().to_ascii_uppercase().as_str()) {
                    f.write_str(" (if it marks a missing value: rlc reads an empty cell, `NA` or `NaN` as missing; replace it with one of those)")?;
                }
                Ok(())
            }
            ErrorKind::NotAnInteger { value, declaration } => {
                if value.is_finite() && value.fract() == 0.0 {
                    write!(
                        f,
                        "value {value:e} is too large for `{declaration}`: ints are at most 2^53 in magnitude"
                    )
                } else {
                    write!(
                        f,
                        "value {} is not an integer, as `{declaration}` needs",
                        number(*value)
                    )
                }
            }
            ErrorKind::NotABool { text, declaration } => write!(
                f,
                "{} is not a bool (true, false, 1 or 0), as `{declaration}` needs",
                quote(text)
            ),
            ErrorKind::OutOfRange { value, declaration } => {
                let range = declaration
                    .int_range
                    .map(|(lo, hi)| format!("{lo}..{hi}"))
                    .unwrap_or_default();
                write!(
                    f,
                    "value {} is outside the declared range {range} of `{declaration}` (the upper end is excluded)",
                    number(*value)
                )
            }
            ErrorKind::OutOfBounds { value, declaration } => write!(
                f,
                "value {} is outside the declared bounds of `{declaration}` ({})",
                number(*value),
                declaration.real_bounds.map(|b| b.ends_in_words()).unwrap_or_default()
            ),
            ErrorKind::MissingValue { declaration } => write!(
                f,
                "the value is missing, but `{declaration}` is not optional; declare it as `{}` if values may be missing",
                optional_type(declaration)
            ),
            ErrorKind::WrongShape {
                expected,
                declaration,
            } => write!(f, "expected {expected} here, for `{declaration}`"),
            ErrorKind::RaggedGroups {
                declaration,
                column,
                group,
                group_len,
                size,
                size_value,
            } => write!(
                f,
                "group {column} = {group} has {group_len} row{} but {size} is {size_value}, \
                 so its cells past row {group_len} would be missing, and `{declaration}` is not optional; \
                 declare it as `{}` to allow groups of different lengths",
                if *group_len == 1 { "" } else { "s" },
                optional_type(declaration)
            ),
            ErrorKind::RaggedNestedGroups {
                declaration,
                column,
                group,
                inner_column,
                count,
                size,
                size_value,
            } => write!(
                f,
                "group {column} = {group} has {count} distinct {inner_column} value{} but {size} is {size_value}, \
                 so its cells past {inner_column} {count} would be missing, and `{declaration}` is not optional; \
                 declare it as `{}` to allow groups with different numbers of {inner_column}s",
                if *count == 1 { "" } else { "s" },
                optional_type(declaration)
            ),
            ErrorKind::GroupValueVaries {
                declaration,
                column,
                group,
                first_line,
                first_text,
                text,
            } => write!(
                f,
                "`{declaration}` takes one value per group, but group {column} = {group} has {} {} and {} here",
                quote(first_text),
                earlier_row(*first_line),
                quote(text)
            ),
            ErrorKind::ElementVaries {
                declaration,
                column,
                first_line,
                first_text,
                text,
            } => write!(
                f,
                "column \"{column}\" is one element of the setting `{declaration}`, so it must hold one value, but it has {} {} and {} here",
                quote(first_text),
                earlier_row(*first_line),
                quote(text)
            ),
            ErrorKind::ArraySettingColumn { declaration } => {
                let columns = declaration.element_columns();
                write!(
                    f,
                    "column \"{}\" cannot set `{declaration}`, an array setting: its elements are the columns {}, each one value on every row (none: the model's default)",
                    declaration.name,
                    match columns.as_slice() {
                        [] => "(none: it has no elements)".to_string(),
                        [one] => format!("\"{one}\""),
                        [first, .., last] => format!("\"{first}\" … \"{last}\""),
                    }
                )
            }
            ErrorKind::SettingText { why } => write!(
                f,
                "a setting is NAME=VALUE, with VALUE a number, true or false, or a bracketed list of them (`mu0=[0.5, 1]`): {why}"
            ),
            ErrorKind::SettingUnknown {
                name,
                size: true,
                ..
            } => write!(
                f,
                "`{name}` is a size, which the data file determines (a JSON key, the length of an array, the groups of a column); only data, and sizes with a default (`size L = 3`) or taken from the data's values (`size K = max(choice)`), are set apart from the file"
            ),
            ErrorKind::SettingUnknown { name, declared, .. } => match declared.as_slice() {
                [] => write!(f, "the model declares no data, so `{name}` cannot be set"),
                _ => write!(
                    f,
                    "the model declares no data `{name}`; its data are {}",
                    declared
                        .iter()
                        .map(|d| format!("`{d}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            ErrorKind::SettingSized { declaration } => write!(
                f,
                "`{declaration}` is sized by the data, so the data file gives it: only data of constant dimensions (a scalar, `real[2]`), or of dimensions that sizes with a default give (`real[L - 1]` with `size L = 3`), are set apart from the file"
            ),
            ErrorKind::SettingRepeated { name } => {
                write!(f, "`{name}` is set twice (which value is meant?)")
            }
            ErrorKind::PartialSetting {
                declaration,
                given,
                missing,
            } => write!(
                f,
                "the header has column \"{given}\" but not \"{missing}\": the columns of the setting `{declaration}` give all its elements or none (none: the model's default, {})",
                declaration.default_text()
            ),
            ErrorKind::ScalarVaries {
                declaration,
                first_line,
                first_text,
                text,
            } => write!(
                f,
                "`{declaration}` is a scalar, so its column must hold one value, but it has {} {} and {} here",
                quote(first_text),
                earlier_row(*first_line),
                quote(text)
            ),
            ErrorKind::ShapeNotInCsv { declaration } => write!(
                f,
                "`{declaration}` cannot be read from a CSV file, which holds a scalar, a column [T], \
                 one value per group [N] or one row per group [N, T] (with `size N by COLUMN`), \
                 or, with nested groups (`size B by COLUMN2` declared after it), [N, B] and [N, B, T]; \
                 use a JSON data file"
            ),
            ErrorKind::GroupsOutOfOrder {
                declaration,
                outer: (outer, outer_column),
                inner: (inner, inner_column),
            } => write!(
                f,
                "`{declaration}` nests the groups of `{inner}` in those of `{outer}`, but `size {inner} by {inner_column}` is declared before `size {outer} by {outer_column}`, so in this file `{outer}` is read within `{inner}`: declare `size {outer} by {outer_column}` first (the grouped size declared first is the outer group, subjects; the next nests in it, blocks within a subject)"
            ),
            ErrorKind::SizeMismatch {
                size,
                first,
                first_source,
                second,
                second_source,
            } => write!(
                f,
                "inconsistent sizes: {size} is {first} ({first_source}) but {second} ({second_source})"
            ),
            ErrorKind::ConstDimMismatch {
                declaration,
                axis,
                expected,
                found,
            } => write!(
                f,
                "found {found} elements along axis {axis}, but `{declaration}` says {expected}"
            ),
            ErrorKind::DimMismatch {
                declaration,
                axis,
                found,
                found_source,
                value,
                sizes,
            } => {
                let dim = declaration
                    .shape
                    .get(*axis)
                    .map(ToString::to_string)
                    .unwrap_or_default();
                let known: Vec<String> = sizes
                    .iter()
                    .map(|(name, v, source)| format!("`{name}` is {v} ({source})"))
                    .collect();
                let known = if known.is_empty() {
                    String::new()
                } else {
                    format!(", where {}", known.join(", "))
                };
                match value {
                    Some(value) => write!(
                        f,
                        "`{declaration}` has {found} elements along axis {axis} ({found_source}), but its dimension `{dim}` is {value}{known}"
                    )?,
                    None => write!(
                        f,
                        "`{declaration}` has {found} elements along axis {axis} ({found_source}), but no value of the sizes makes its dimension `{dim}` {found}{known}"
                    )?,
                }
                if matches!(found_source, SizeSource::DefaultLength { .. }) {
                    write!(
                        f,
                        ": the model's default fits other sizes, so give `{}` values of these sizes (a key of that name, the columns `{}.1`, `{}.2`, …, or `--set`)",
                        declaration.name, declaration.name, declaration.name
                    )?;
                }
                Ok(())
            }
            ErrorKind::UndeterminedSize { size } => match &size.group_by {
                Some(_) => write!(f, "nothing in the file gives `{size}` a value"),
                None => write!(
                    f,
                    "nothing in the file gives `{size}` a value: give it as a key \"{}\" in a JSON file, \
                     or use it in the shape of a data variable (a CSV file gives a size only through the \
                     shapes of the variables it holds, never as a column of its own)",
                    size.name
                ),
            },
            ErrorKind::BadSize { size, text } => write!(
                f,
                "size {size} must be a non-negative integer, not {text}"
            ),
            ErrorKind::UnknownSize { declaration, size } => write!(
                f,
                "`{declaration}` uses size {size}, which is not declared"
            ),
            ErrorKind::TooLarge { declaration, cells } => write!(
                f,
                "`{declaration}` would have {cells} cells, more than a data file may hold"
            ),
            ErrorKind::LargestValueAbsent { size } => {
                let variable = size.largest_of.as_ref().map_or("", |l| l.variable.as_str());
                write!(
                    f,
                    "`{size}` takes its value from `{variable}`, which the file does not have: \
                     add the variable (in a simulation's design, its largest value sets {}; the values \
                     are then replaced by draws), or give \"{}\" as a key in a JSON file",
                    size.name, size.name
                )
            }
            ErrorKind::LargestValueExceeds {
                size,
                largest,
                value,
                source,
            } => {
                let variable = size.largest_of.as_ref().map_or("", |l| l.variable.as_str());
                write!(
                    f,
                    "`{size}` is {value} ({source}), but `{variable}` has values up to {largest}, \
                     which need {} >= {}",
                    size.name,
                    i128::from(*largest) + i128::from(size.largest_of.as_ref().map_or(0, |l| l.plus))
                )
            }
            ErrorKind::LargestValueNotASize { size, value } => write!(
                f,
                "`{size}` is {value} in this file, which is no size: a size is between 0 and {}",
                crate::sizes::MAX_CELLS
            ),
        }
    }
}

/// The header's column names for a message: `"subjID", "trial"`.
fn column_list(columns: &[String]) -> String {
    const LIMIT: usize = 12;
    let mut list: Vec<String> = columns.iter().take(LIMIT).map(|c| quote(c)).collect();
    if columns.len() > LIMIT {
        list.push(format!("and {} more", columns.len() - LIMIT));
    }
    if list.is_empty() {
        "no columns".to_string()
    } else {
        list.join(", ")
    }
}

/// Quotes a cell's text for a message, shortening a long one.
fn quote(text: &str) -> String {
    const LIMIT: usize = 40;
    if text.chars().count() > LIMIT {
        let head: String = text.chars().take(LIMIT).collect();
        format!("{head:?}…")
    } else {
        format!("{text:?}")
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}: {}", self.file, self.location, self.kind)?;
        match self.more {
            0 => Ok(()),
            1 => f.write_str(" (and 1 more row like it)"),
            n => write!(f, " (and {n} more rows like it)"),
        }
    }
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, error) in self.errors.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DataError {}
impl std::error::Error for LoadError {}
