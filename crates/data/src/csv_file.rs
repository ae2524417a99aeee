//! Reading long-format CSV: one column per variable, rows grouped by `size N by COLUMN`.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::cell::{check_cell, is_missing_text, RawCell};
use crate::error::{DataError, ErrorKind, LoadError, Location, SizeSource};
use crate::loaded::LoadedData;
use crate::sizes::{SizeTable, MAX_CELLS};
use crate::spec::{DataDecl, DataSpec, DimSpec, SizeDecl};
use crate::{assemble, Filled};

/// An error before it is given the file's name.
type Failure = (Location, ErrorKind);

pub(crate) fn load(
    spec: &DataSpec,
    file: &str,
    bytes: &[u8],
    delimiter: Option<u8>,
) -> Result<LoadedData, LoadError> {
    let with_file = |(location, kind): Failure| DataError {
        file: file.to_string(),
        location,
        kind,
        more: 0,
    };
    let table = Table::read(bytes, delimiter).map_err(|failure| LoadError {
        errors: vec![with_file(failure)],
    })?;

    let mut errors = Vec::new();
    let mut sizes = SizeTable::new(spec);
    // Sizes whose grouping failed: variables shaped by them are skipped, not reported twice.
    let mut failed_sizes: Vec<&str> = Vec::new();
    let mut grouping = Grouping::new(table.rows.len());
    for size in &spec.sizes {
        let Some(column) = &size.group_by else {
            continue;
        };
        // A level nests in the ones before it: if one of those failed, so does this one.
        if !failed_sizes.is_empty() {
            failed_sizes.push(&size.name);
            continue;
        }
        match grouping.nest(&table, size, column) {
            Ok(count) => {
                // The level this one nests in, if any.
                let outer = grouping
                    .levels
                    .iter()
                    .rev()
                    .nth(1)
                    .map(|l| l.column.clone());
                let source = || match outer {
                    Some(within) => SizeSource::CsvNestedGroups {
                        column: column.clone(),
                        within,
                    },
                    None => SizeSource::CsvGroups {
                        column: column.clone(),
                    },
                };
                if let Err(kind) = sizes.unify(&size.name, count, source) {
                    errors.push(with_file((Location::File, kind)));
                    failed_sizes.push(&size.name);
                }
            }
            Err(failure) => {
                errors.push(with_file(failure));
                failed_sizes.push(&size.name);
            }
        }
    }

    let mut set_apart = Vec::new();
    let mut sizes_set_apart = Vec::new();
    for size in spec.sizes.iter().filter(|s| s.default.is_some()) {
        let Ok(Some(column)) = table.column(&size.name) else {
            continue;
        };
        if size.given.is_some() {
            sizes_set_apart.push(size.name.as_str());
            continue;
        }
        if let Err(failure) = size_from_column(&table, size, column, &mut sizes) {
            errors.push(with_file(failure));
        }
    }
    let mut filled = Vec::with_capacity(spec.variables.len());
    let mut row_cells = Vec::with_capacity(spec.variables.len());
    for decl in &spec.variables {
        // Which cell each row reads: also for a variable set apart, whose draws a
        // simulation writes back when the model observes it.
        if let Some(reading) = reading(decl, &grouping) {
            row_cells.push((decl.name.clone(), cells_of_rows(&reading, table.rows.len())));
        }
        if let Some(cells) = &decl.given {
            let columns = std::iter::once(decl.name.clone()).chain(decl.element_columns());
            if columns
                .into_iter()
                .any(|c| matches!(table.column(&c), Ok(Some(_))))
            {
                set_apart.push(decl);
            }
            match Filled::given(decl, cells, &mut sizes) {
                Ok(cells) => filled.push(Some(cells)),
                Err(kind) => {
                    errors.push(with_file((Location::File, kind)));
                    filled.push(None);
                }
            }
            continue;
        }
        let uses_failed_size = decl
            .shape
            .iter()
            .any(|dim| matches!(dim, DimSpec::Size(name) if failed_sizes.contains(&name.as_str())));
        if uses_failed_size {
            filled.push(None);
            continue;
        }
        match read_variable(&table, decl, &grouping, &mut sizes) {
            Ok(mut cells) => {
                cells.placeholder = matches!(table.column(&decl.name), Ok(None));
                filled.push(Some(cells))
            }
            Err(failure) => {
                // A bad cell is reported once, with how many more the column has.
                let more = match failure.0 {
                    Location::Cell { .. } => bad_cells(&table, decl).saturating_sub(1),
                    _ => 0,
                };
                let mut error = with_file(failure);
                error.more = more;
                errors.push(error);
                filled.push(None);
            }
        }
    }

    let mut notes = Vec::new();
    let ignored: Vec<&str> = table
        .columns
        .iter()
        .map(String::as_str)
        .filter(|&name| {
            !name.is_empty()
                && !spec.variables.iter().any(|d| {
                    d.name == name
                        || ((d.array_default().is_some() || d.given.is_some())
                            && d.element_of_column(name).is_some())
                })
                && !spec.sizes.iter().any(|s| {
                    s.group_by.as_deref() == Some(name) || (s.default.is_some() && s.name == name)
                })
        })
        .collect();
    if !ignored.is_empty() {
        notes.push(format!(
            "columns in {file} that no declaration reads were ignored: {}",
            ignored.join(", ")
        ));
    }
    let mut defaults_used = Vec::new();
    for decl in &spec.variables {
        let left_out = if decl.array_default().is_some() {
            !table
                .columns
                .iter()
                .any(|c| decl.element_of_column(c).is_some())
        } else {
            matches!(table.column(&decl.name), Ok(None))
        };
        if decl.default.is_some() && decl.given.is_none() && left_out {
            defaults_used.push(decl);
        }
    }
    notes.extend(crate::defaults_used(&defaults_used, file));
    notes.extend(crate::set_apart_note(&set_apart, file));
    for name in sizes_set_apart {
        notes.push(format!(
            "`{name}` is set apart from {file}; its column in {file} is not read"
        ));
    }
    // A subject column the model does not group by, holding several subjects:
    // their rows are read as one sequence (a one-subject model given a
    // study's file is an easy slip).
    let grouped = spec.sizes.iter().any(|s| s.group_by.is_some());
    for &name in &ignored {
        let lower = name.to_ascii_lowercase();
        if grouped
            || !["subjid", "subject", "subj", "participant", "participant_id"]
                .contains(&lower.as_str())
        {
            continue;
        }
        let Ok(Some(column)) = table.column(name) else {
            continue;
        };
        let mut subjects: Vec<Cow<str>> = table
            .rows
            .iter()
            .map(|row| cell_text(&table, row, column))
            .collect();
        subjects.sort();
        subjects.dedup();
        if subjects.len() > 1 {
            notes.push(format!(
                "{file} holds {} subjects in column `{name}`, but the model groups no size by it: their rows are read as one subject's trials, one after another (for one subject each, use a hierarchical model with `size N by {name}`, or give each subject its own file)",
                subjects.len()
            ));
        }
    }
    let groups = grouping.labels();
    let mut loaded = assemble(spec, file, &mut sizes, filled, errors, notes, groups)?;
    loaded.row_cells = row_cells;
    loaded.row_lines = table.rows.iter().map(|r| r.line).collect();
    Ok(loaded)
}

/// `size L = 3` set by a column of its name: one non-negative integer on every row.
fn size_from_column(
    table: &Table,
    size: &SizeDecl,
    column: usize,
    sizes: &mut SizeTable,
) -> Result<(), Failure> {
    for row in &table.rows {
        let text = cell_text(table, row, column);
        let location = || Location::Cell {
            line: row.line,
            column: size.name.clone(),
        };
        let value = crate::sizes::size_from_text(&text).ok_or_else(|| {
            (
                location(),
                ErrorKind::BadSize {
                    size: size.name.clone(),
                    text: format!("\"{text}\""),
                },
            )
        })?;
        let source = || SizeSource::CsvColumn {
            column: size.name.clone(),
            line: row.line,
        };
        sizes
            .unify(&size.name, value, source)
            .map_err(|kind| (location(), kind))?;
    }
    Ok(())
}

/// How many of a variable's cells do not fit its declaration.
fn bad_cells(table: &Table, decl: &DataDecl) -> usize {
    let Ok(Some(column)) = table.column(&decl.name) else {
        return 0;
    };
    table
        .rows
        .iter()
        .filter(|row| check_cell(RawCell::Text(&cell_text(table, row, column)), decl).is_err())
        .count()
}

/// For each data row, the row-major cell of the variable it is read into.
fn cells_of_rows(reading: &Reading<'_>, rows: usize) -> Vec<usize> {
    match reading {
        Reading::Scalar => vec![0; rows],
        Reading::Column => (0..rows).collect(),
        Reading::PerGroup(grouping, depth) | Reading::Grouped(grouping, depth) => {
            let length = match reading {
                Reading::Grouped(..) => grouping.longest(*depth).map_or(0, |g| g.rows.len()),
                _ => 1,
            };
            let mut cells = vec![0; rows];
            for (n, group) in grouping.cells(*depth).into_iter().enumerate() {
                for (t, &r) in group
                    .map(|g| g.rows.as_slice())
                    .unwrap_or_default()
                    .iter()
                    .enumerate()
                {
                    if let Some(c) = cells.get_mut(r) {
                        *c = n * length + t;
                    }
                }
            }
            cells
        }
    }
}

/// The file with the named columns' cells replaced by `values` (one text per
/// data row; a column the file lacks is added at the end), every other byte
/// of every other field kept. Quoting follows RFC 4180.
pub(crate) fn rewrite(
    bytes: &[u8],
    delimiter: Option<u8>,
    columns: &[(String, Vec<String>)],
) -> Result<Vec<u8>, Failure> {
    let table = Table::read(bytes, delimiter)?;
    let delimiter = crate::csv_delimiter(bytes, delimiter);
    let mut header = table.columns.clone();
    let mut targets = Vec::with_capacity(columns.len());
    for (name, values) in columns {
        if values.len() != table.rows.len() {
            return Err((
                Location::File,
                ErrorKind::Syntax {
                    message: format!(
                        "{} values for column \"{name}\" but the file has {} rows",
                        values.len(),
                        table.rows.len()
                    ),
                },
            ));
        }
        let index = match table.column(name)? {
            Some(i) => i,
            None => {
                header.push(name.clone());
                header.len() - 1
            }
        };
        targets.push((index, values));
    }
    let quote = |field: &str| -> String {
        if field
            .bytes()
            .any(|b| b == delimiter || b == b'"' || b == b'\n' || b == b'\r')
        {
            format!("\"{}\"", field.replace('"', "\"\""))
        } else {
            field.to_string()
        }
    };
    let d = char::from(delimiter);
    let mut out = String::with_capacity(bytes.len() + bytes.len() / 4);
    let names: Vec<String> = header.iter().map(|h| quote(h)).collect();
    out.push_str(&names.join(&d.to_string()));
    out.push('\n');
    for (r, row) in table.rows.iter().enumerate() {
        let mut fields: Vec<String> = (0..table.columns.len())
            .map(|c| quote(&cell_text(&table, row, c)))
            .collect();
        fields.resize(header.len(), String::new());
        for (index, values) in &targets {
            if let (Some(field), Some(v)) = (fields.get_mut(*index), values.get(r)) {
                *field = quote(v);
            }
        }
        out.push_str(&fields.join(&d.to_string()));
        out.push('\n');
    }
    Ok(out.into_bytes())
}

/// The file's header and data rows. The rows' fields are stored end to end in one buffer,
/// as reading a million-row file one allocation per row was the loader's main cost.
struct Table {
    columns: Vec<String>,
    header_line: usize,
    rows: Vec<Row>,
    /// Every data row's fields, concatenated.
    field_bytes: Vec<u8>,
    /// Where each field ends in `field_bytes` (it starts where the previous one ends).
    field_ends: Vec<usize>,
}

struct Row {
    /// The line the row starts on, header = line 1.
    line: usize,
    /// The index of the row's first field in `Table::field_ends`.
    first_field: usize,
}

/// Excel's delimiter directive, a first line `sep=;`: the line's length
/// (without its end) and the delimiter it names.
fn excel_separator(content: &[u8]) -> Option<(usize, u8)> {
    let end = content
        .iter()
        .position(|b| *b == b'\n' || *b == b'\r')
        .unwrap_or(content.len());
    match content[..end].trim_ascii() {
        [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', separator] => Some((end, *separator)),
        [b's' | b'S', b'e' | b'E', b'p' | b'P', b'=', b'\\', b't'] => Some((end, b'\t')),
        _ => None,
    }
}

impl Table {
    fn read(bytes: &[u8], delimiter: Option<u8>) -> Result<Table, Failure> {
        let content = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
        if content.iter().all(|b| b.is_ascii_whitespace()) {
            return Err((Location::File, ErrorKind::Empty));
        }
        // Excel's first line `sep=;` names the delimiter; it is blanked (not
        // cut), so that lines keep their numbers.
        let directive = excel_separator(content);
        let blanked;
        let (content, delimiter) = match directive {
            Some((length, separator)) => {
                let mut copy = content.to_vec();
                copy[..length].fill(b' ');
                blanked = copy;
                (&blanked[..], Some(delimiter.unwrap_or(separator)))
            }
            None => (content, delimiter),
        };
        let delimiter = delimiter.unwrap_or_else(|| detect_delimiter(content));
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .delimiter(delimiter)
            .trim(csv::Trim::All)
            .from_reader(content);
        let mut header: Option<(usize, Vec<String>)> = None;
        let mut rows = Vec::new();
        let mut field_bytes = Vec::with_capacity(content.len());
        let mut field_ends = Vec::new();
        let mut record = csv::ByteRecord::new();
        // Lines are counted here from the byte offset: after a CRLF line end
        // (Windows files) the csv reader's record starts at the `\n`, and
        // its own line count is one short.
        // A line ends at `\n`, or at a `\r` not followed by one (old Mac files).
        let newlines: Vec<usize> = content
            .iter()
            .enumerate()
            .filter(|&(k, b)| *b == b'\n' || (*b == b'\r' && content.get(k + 1) != Some(&b'\n')))
            .map(|(k, _)| k)
            .collect();
        // Quotes come in pairs in a valid file (`""` inside a quoted field too); one
        // left open makes its field swallow the lines after it, up to the next quote or
        // the end of the file, which the csv reader accepts without a word.
        let unclosed_quote = content.iter().filter(|b| **b == b'"').count() % 2 == 1;
        let line_number = |p: &csv::Position| -> usize {
            let mut byte = usize::try_from(p.byte()).unwrap_or(usize::MAX);
            while content
                .get(byte)
                .is_some_and(|b| *b == b'\r' || *b == b'\n')
            {
                byte += 1;
            }
            newlines.partition_point(|&k| k < byte) + 1
        };
        loop {
            match reader.read_byte_record(&mut record) {
                Ok(false) => break,
                Ok(true) => {}
                Err(e) => {
                    let location = match e.position() {
                        Some(p) => Location::Line {
                            line: line_number(p),
                        },
                        None => Location::File,
                    };
                    return Err((
                        location,
                        ErrorKind::Syntax {
                            message: e.to_string(),
                        },
                    ));
                }
            }
            let line = record.position().map_or(0, line_number);
            if unclosed_quote {
                let swallowed = record.iter().enumerate().find_map(|(k, field)| {
                    let breaks = line_breaks(field);
                    (breaks > 0).then_some((k, breaks))
                });
                if let Some((field, lines)) = swallowed {
                    let location = match &header {
                        Some((_, names)) if field < names.len() => Location::Cell {
                            line,
                            column: names[field].clone(),
                        },
                        _ => Location::Line { line },
                    };
                    return Err((location, ErrorKind::UnclosedQuote { lines }));
                }
            }
            // Rows of empty fields (`,,,` or spaces) carry nothing, before the header or after.
            if record.iter().all(|f| f.is_empty()) {
                continue;
            }
            match &header {
                None => {
                    let names = record.iter().map(|f| text(f).into_owned()).collect();
                    header = Some((line, names));
                }
                Some((_, names)) => {
                    if record.len() != names.len() {
                        return Err((
                            Location::Line { line },
                            ErrorKind::FieldCount {
                                expected: names.len(),
                                found: record.len(),
                            },
                        ));
                    }
                    rows.push(Row {
                        line,
                        first_field: field_ends.len(),
                    });
                    for field in &record {
                        field_bytes.extend_from_slice(field);
                        field_ends.push(field_bytes.len());
                    }
                }
            }
        }
        let Some((header_line, columns)) = header else {
            return Err((Location::File, ErrorKind::Empty));
        };
        if rows.is_empty() {
            return Err((Location::File, ErrorKind::HeaderOnly));
        }
        Ok(Table {
            columns,
            header_line,
            rows,
            field_bytes,
            field_ends,
        })
    }

    /// The index of the column named `name`: `Ok(None)` if there is none.
    fn column(&self, name: &str) -> Result<Option<usize>, Failure> {
        let mut found = self
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.as_str() == name);
        let first = found.next().map(|(i, _)| i);
        if found.next().is_some() {
            return Err((
                Location::Line {
                    line: self.header_line,
                },
                ErrorKind::DuplicateColumn {
                    column: name.to_string(),
                },
            ));
        }
        Ok(first)
    }
}

/// The text of a row's cell (rows all have the header's number of fields).
fn cell_text<'t>(table: &'t Table, row: &Row, column: usize) -> Cow<'t, str> {
    let index = row.first_field + column;
    let start = match index.checked_sub(1) {
        Some(previous) => table.field_ends.get(previous).copied().unwrap_or(0),
        None => 0,
    };
    let end = table.field_ends.get(index).copied().unwrap_or(start);
    text(table.field_bytes.get(start..end).unwrap_or_default())
}

/// The line ends in a field: `\n`, `\r\n` or a lone `\r`, each counted once.
fn line_breaks(field: &[u8]) -> usize {
    field
        .iter()
        .enumerate()
        .filter(|&(k, b)| *b == b'\n' || (*b == b'\r' && field.get(k + 1) != Some(&b'\n')))
        .count()
}

/// A field as text; bytes that are not UTF-8 show as U+FFFD (and then fail as numbers).
fn text(field: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(field)
}

/// The most frequent of tab, comma and semicolon on the header line (comma if none).
pub(crate) fn detect_delimiter(content: &[u8]) -> u8 {
    // The csv reader skips blank lines, so the header is the first line with a field.
    let header = content
        .split(|&b| b == b'\n')
        .find(|line| !line.iter().all(|b| b.is_ascii_whitespace()))
        .unwrap_or_default();
    let count = |d: u8| header.iter().filter(|&&b| b == d).count();
    let mut best = (b',', 0);
    for d in [b'\t', b',', b';'] {
        let n = count(d);
        if n > best.1 {
            best = (d, n);
        }
    }
    best.0
}

/// The rows of a CSV file grouped by the columns of the `size … by COLUMN` declarations,
/// nested in declaration order: the first one's column groups the rows, the second one's
/// groups the rows of each of those groups (blocks within a subject), and so on.
struct Grouping {
    levels: Vec<Level>,
    /// All rows, with the first level's groups as its children.
    root: Group,
}

/// One `size … by COLUMN`: the size counts the groups of the first level, or the most
/// groups within one group of the level above for a nested level.
struct Level {
    size: String,
    column: String,
    count: usize,
}

struct Group {
    /// The group column's text on the group's rows (empty for the root).
    key: String,
    /// Indices into `Table::rows`, in file order.
    rows: Vec<usize>,
    /// The groups of the next level within this one, in order of first appearance.
    children: Vec<Group>,
}

impl Grouping {
    fn new(rows: usize) -> Grouping {
        Grouping {
            levels: Vec::new(),
            root: Group {
                key: String::new(),
                rows: (0..rows).collect(),
                children: Vec::new(),
            },
        }
    }

    /// Groups the rows of every group of the deepest level by `column`: a new level, whose
    /// size (returned) is the most groups any one group has.
    fn nest(&mut self, table: &Table, size: &SizeDecl, column: &str) -> Result<usize, Failure> {
        let Some(index) = table.column(column)? else {
            return Err((
                Location::Line {
                    line: table.header_line,
                },
                ErrorKind::MissingGroupColumn {
                    size: size.clone(),
                    columns: table.columns.clone(),
                },
            ));
        };
        let depth = self.levels.len();
        let mut count = 0;
        for group in self.root.at_depth_mut(depth) {
            group.children = split(table, &group.rows, index, size, column)?;
            count = count.max(group.children.len());
        }
        self.levels.push(Level {
            size: size.name.clone(),
            column: column.to_string(),
            count,
        });
        Ok(count)
    }

    /// The groups at `depth` (1 = the first level) laid out as the cells of an array
    /// `[count_1, …, count_depth]`, row-major: `None` where a group has fewer groups
    /// within it than the level's size.
    fn cells(&self, depth: usize) -> Vec<Option<&Group>> {
        let mut out = vec![Some(&self.root)];
        for level in self.levels.iter().take(depth) {
            let mut next = Vec::with_capacity(out.len() * level.count);
            for group in out {
                for i in 0..level.count {
                    next.push(group.and_then(|g| g.children.get(i)));
                }
            }
            out = next;
        }
        out
    }

    /// The group at `depth` with the most rows (the first of them).
    fn longest(&self, depth: usize) -> Option<&Group> {
        let mut longest: Option<&Group> = None;
        for group in self.cells(depth).into_iter().flatten() {
            if longest.is_none_or(|l| group.rows.len() > l.rows.len()) {
                longest = Some(group);
            }
        }
        longest
    }

    /// The labels of each level's positions: the first level's group keys; for a nested
    /// level, the keys its position has within every group above (left out when two
    /// groups disagree, e.g. one subject's second block is "B" and another's "C").
    fn labels(&self) -> Vec<(String, Vec<String>)> {
        let mut out = Vec::new();
        for (d, level) in self.levels.iter().enumerate() {
            let mut keys: Vec<Option<&str>> = vec![None; level.count];
            let mut agree = true;
            for parent in self.cells(d).into_iter().flatten() {
                for (i, child) in parent.children.iter().enumerate() {
                    match keys[i] {
                        None => keys[i] = Some(&child.key),
                        Some(k) if k != child.key => agree = false,
                        Some(_) => {}
                    }
                }
            }
            if agree {
                let keys = keys.into_iter().map(|k| k.unwrap_or("").to_string());
                out.push((level.size.clone(), keys.collect()));
            }
        }
        out
    }

    /// The level whose size is `name`.
    fn level_of(&self, name: &str) -> Option<usize> {
        self.levels.iter().position(|l| l.size == name)
    }
}

impl Group {
    fn at_depth_mut(&mut self, depth: usize) -> Vec<&mut Group> {
        if depth == 0 {
            return vec![self];
        }
        self.children
            .iter_mut()
            .flat_map(|c| c.at_depth_mut(depth - 1))
            .collect()
    }
}

/// `rows` grouped by the text of column `index`, in order of first appearance.
fn split(
    table: &Table,
    rows: &[usize],
    index: usize,
    size: &SizeDecl,
    column: &str,
) -> Result<Vec<Group>, Failure> {
    let mut groups: Vec<Group> = Vec::new();
    let mut by_key: HashMap<String, usize> = HashMap::new();
    for &r in rows {
        let Some(row) = table.rows.get(r) else {
            continue;
        };
        let key = cell_text(table, row, index);
        if is_missing_text(&key) {
            return Err((
                Location::Cell {
                    line: row.line,
                    column: column.to_string(),
                },
                ErrorKind::MissingGroupKey { size: size.clone() },
            ));
        }
        match by_key.get(key.as_ref()) {
            Some(&g) => {
                if let Some(group) = groups.get_mut(g) {
                    group.rows.push(r);
                }
            }
            None => {
                by_key.insert(key.to_string(), groups.len());
                groups.push(Group {
                    key: key.into_owned(),
                    rows: vec![r],
                    children: Vec::new(),
                });
            }
        }
    }
    Ok(groups)
}

/// How a declaration's shape is read from long-format rows.
enum Reading<'a> {
    /// `data x: real`: one value, the same on every row.
    Scalar,
    /// `[T]`: the column in row order.
    Column,
    /// `[N]` with `size N by COL` (or `[N, B]` with a nested `size B by COL2`, …, to the
    /// depth given): one value per group.
    PerGroup(&'a Grouping, usize),
    /// `[N, T]` (or `[N, B, T]`, …): the rows of each group at the depth given as a row.
    Grouped(&'a Grouping, usize),
}

/// How `decl` is read: its leading dimensions are the grouped sizes in their nesting
/// order (any number of them, from the first), then at most one more dimension, the rows.
fn reading<'a>(decl: &DataDecl, grouping: &'a Grouping) -> Option<Reading<'a>> {
    let level = |dim: &DimSpec| match dim {
        DimSpec::Size(name) => grouping.level_of(name),
        DimSpec::Const(_) | DimSpec::Linear { .. } => None,
    };
    let depth = decl
        .shape
        .iter()
        .enumerate()
        .take_while(|(i, dim)| level(dim) == Some(*i))
        .count();
    let rest = &decl.shape[depth..];
    if rest.iter().any(|d| level(d).is_some()) {
        return None;
    }
    match (depth, rest.len()) {
        (0, 0) => Some(Reading::Scalar),
        (0, 1) => Some(Reading::Column),
        (_, 0) => Some(Reading::PerGroup(grouping, depth)),
        (_, 1) => Some(Reading::Grouped(grouping, depth)),
        _ => None,
    }
}

/// Where a group is, for messages: `3` at the first level, `2 (subjID = 3)` below it.
fn group_name(grouping: &Grouping, depth: usize, flat: usize) -> (String, String) {
    let mut names = Vec::new();
    let mut rest = flat;
    let mut path = Vec::new();
    for level in grouping.levels.iter().take(depth).rev() {
        path.push(rest % level.count.max(1));
        rest /= level.count.max(1);
    }
    path.reverse();
    let mut group = &grouping.root;
    for (level, &i) in grouping.levels.iter().zip(&path) {
        match group.children.get(i) {
            Some(child) => {
                names.push(format!("{} = {}", level.column, child.key));
                group = child;
            }
            None => break,
        }
    }
    let column = grouping
        .levels
        .get(depth.saturating_sub(1))
        .map(|l| l.column.clone())
        .unwrap_or_default();
    let key = if names.len() > 1 {
        format!("{} ({})", group.key, names[..names.len() - 1].join(", "))
    } else {
        group.key.clone()
    };
    (column, key)
}

/// Why `decl` cannot be read from a long file: its first two axes are the
/// nested groups in the other order than their sizes were declared in (a
/// fix in the model), or a shape no CSV holds.
fn shape_not_in_csv(decl: &DataDecl, grouping: &Grouping) -> ErrorKind {
    let level = |dim: Option<&DimSpec>| match dim {
        Some(DimSpec::Size(name)) => grouping.levels.iter().position(|l| &l.size == name),
        _ => None,
    };
    match (level(decl.shape.first()), level(decl.shape.get(1))) {
        (Some(outer), Some(inner)) if outer > inner => ErrorKind::GroupsOutOfOrder {
            declaration: decl.clone(),
            outer: (
                grouping.levels[outer].size.clone(),
                grouping.levels[outer].column.clone(),
            ),
            inner: (
                grouping.levels[inner].size.clone(),
                grouping.levels[inner].column.clone(),
            ),
        },
        _ => ErrorKind::ShapeNotInCsv {
            declaration: decl.clone(),
        },
    }
}

/// The value of `decl` on `row`, read from `column` (named `name` in errors), or the
/// declaration's value when absent where the file has no such column.
fn cell_value(
    table: &Table,
    decl: &DataDecl,
    column: Option<usize>,
    name: &str,
    row: &Row,
) -> Result<Option<f64>, Failure> {
    let Some(column) = column else {
        return Ok(decl.value_when_absent());
    };
    let text = cell_text(table, row, column);
    check_cell(RawCell::Text(&text), decl).map_err(|kind| {
        (
            Location::Cell {
                line: row.line,
                column: name.to_string(),
            },
            kind,
        )
    })
}

/// The one value of `decl` on a run of rows that must agree ([`cell_value`]'s), or the
/// first row where they do not, with `varies` (the earlier line, its text and this one's).
fn constant_value(
    table: &Table,
    decl: &DataDecl,
    column: Option<usize>,
    name: &str,
    rows: &mut dyn Iterator<Item = &Row>,
    varies: &dyn Fn(usize, String, String) -> ErrorKind,
) -> Result<Option<f64>, Failure> {
    let mut first: Option<(&Row, Option<f64>)> = None;
    for row in rows {
        let value = cell_value(table, decl, column, name, row)?;
        match first {
            None => first = Some((row, value)),
            Some((first_row, first_value)) if first_value != value => {
                let text = |row: &Row| {
                    column.map_or(String::new(), |c| cell_text(table, row, c).into_owned())
                };
                return Err((
                    Location::Cell {
                        line: row.line,
                        column: name.to_string(),
                    },
                    varies(first_row.line, text(first_row), text(row)),
                ));
            }
            Some(_) => {}
        }
    }
    Ok(first.and_then(|(_, value)| value))
}

/// An array with a default (`data mu0: real[2] = [0.5, 1.0]`, a setting such as
/// hBayesDM's array arguments): its elements' columns (`mu0.1`, `mu0.2`), each one
/// value on every row, or, when the file has none of them, the default's cells.
fn read_array_setting(
    table: &Table,
    decl: &DataDecl,
    default: &[f64],
    sizes: &mut SizeTable,
) -> Result<Filled, Failure> {
    let header = Location::Line {
        line: table.header_line,
    };
    if table.column(&decl.name)?.is_some() {
        // A column of the array's own name holds one value per row, not the array.
        return Err((
            header,
            ErrorKind::ArraySettingColumn {
                declaration: decl.clone(),
            },
        ));
    }
    // A dimension that a size gives (`real[L - 1]`) has as many elements as the
    // header has columns for: the largest index along it.
    let lengths = match decl.constant_shape() {
        Some(lengths) => lengths,
        None => {
            let mut lengths = vec![0; decl.shape.len()];
            for column in &table.columns {
                for (length, i) in lengths
                    .iter_mut()
                    .zip(decl.element_of_column(column).unwrap_or_default())
                {
                    *length = (*length).max(i + 1);
                }
            }
            // Fewer columns than the largest indices make: one is missing (found
            // without listing them all, which `mu0.99999999` would make too many).
            let found: Vec<&String> = table
                .columns
                .iter()
                .filter(|c| decl.element_of_column(c).is_some())
                .collect();
            if crate::sizes::cell_count(&lengths) > found.len() as u128 {
                let name_of = |flat: usize| {
                    let index = crate::spec::unravel(flat, &lengths);
                    let parts: Vec<String> = index.iter().map(|i| (i + 1).to_string()).collect();
                    format!("{}.{}", decl.name, parts.join("."))
                };
                let missing = (0..=found.len())
                    .map(name_of)
                    .find(|name| !found.contains(&name))
                    .unwrap_or_default();
                return Err((
                    header,
                    ErrorKind::PartialSetting {
                        declaration: decl.clone(),
                        given: found.first().map(|c| c.to_string()).unwrap_or_default(),
                        missing,
                    },
                ));
            }
            lengths
        }
    };
    let names = crate::spec::element_names(&decl.name, &lengths);
    let columns = names
        .iter()
        .map(|name| table.column(name))
        .collect::<Result<Vec<_>, _>>()?;
    if columns.iter().all(Option::is_none) {
        return Filled::absent(decl, sizes).map_err(|kind| (header, kind));
    }
    if let Some(missing) = columns.iter().position(Option::is_none) {
        let given = columns.iter().position(Option::is_some).unwrap_or_default();
        return Err((
            header,
            ErrorKind::PartialSetting {
                declaration: decl.clone(),
                given: names[given].clone(),
                missing: names[missing].clone(),
            },
        ));
    }
    if decl.constant_shape().is_none() {
        let (first, last) = (names[0].clone(), names[names.len() - 1].clone());
        for (axis, &length) in lengths.iter().enumerate() {
            let source = || SizeSource::CsvElementColumns {
                first: first.clone(),
                last: last.clone(),
            };
            sizes
                .unify_dim(decl, axis, length, source)
                .map_err(|kind| (header.clone(), kind))?;
        }
    }
    let mut filled = Filled::with_capacity(default.len());
    for (name, column) in names.iter().zip(columns.into_iter().flatten()) {
        let value = constant_value(
            table,
            decl,
            Some(column),
            name,
            &mut table.rows.iter(),
            &|first_line, first_text, text| ErrorKind::ElementVaries {
                declaration: decl.clone(),
                column: name.clone(),
                first_line,
                first_text,
                text,
            },
        )?;
        filled.push(value);
    }
    Ok(filled)
}

fn read_variable(
    table: &Table,
    decl: &DataDecl,
    grouping: &Grouping,
    sizes: &mut SizeTable,
) -> Result<Filled, Failure> {
    if let Some(cells) = decl.array_default() {
        return read_array_setting(table, decl, cells, sizes);
    }
    let Some(reading) = reading(decl, grouping) else {
        return Err((Location::File, shape_not_in_csv(decl, grouping)));
    };
    let column = table.column(&decl.name)?;
    if column.is_none() && decl.value_when_absent().is_none() {
        return Err((
            Location::Line {
                line: table.header_line,
            },
            ErrorKind::MissingColumn {
                declaration: decl.clone(),
                columns: table.columns.clone(),
            },
        ));
    }
    let whole_column = || Location::Column {
        column: decl.name.clone(),
    };
    let cell = |row: &Row| cell_value(table, decl, column, &decl.name, row);
    let constant = |rows: &mut dyn Iterator<Item = &Row>,
                    varies: &dyn Fn(usize, String, String) -> ErrorKind| {
        constant_value(table, decl, column, &decl.name, rows, varies)
    };

    match reading {
        Reading::Scalar => {
            let value = constant(&mut table.rows.iter(), &|first_line, first_text, text| {
                ErrorKind::ScalarVaries {
                    declaration: decl.clone(),
                    first_line,
                    first_text,
                    text,
                }
            })?;
            let mut filled = Filled::with_capacity(1);
            filled.push(value);
            Ok(filled)
        }
        Reading::Column => {
            sizes
                .unify_dim(decl, 0, table.rows.len(), || SizeSource::CsvRows {
                    variable: decl.name.clone(),
                })
                .map_err(|kind| (whole_column(), kind))?;
            let mut filled = Filled::with_capacity(table.rows.len());
            for row in &table.rows {
                filled.push(cell(row)?);
            }
            Ok(filled)
        }
        Reading::PerGroup(grouping, depth) => {
            let cells = grouping.cells(depth);
            if !decl.optional {
                nested_gap(grouping, decl, depth)?;
            }
            let mut filled = Filled::with_capacity(cells.len());
            for (flat, group) in cells.into_iter().enumerate() {
                let Some(group) = group else {
                    filled.push(None);
                    continue;
                };
                let mut rows = group.rows.iter().filter_map(|&r| table.rows.get(r));
                let (column, name) = group_name(grouping, depth, flat);
                let value = constant(&mut rows, &|first_line, first_text, text| {
                    ErrorKind::GroupValueVaries {
                        declaration: decl.clone(),
                        column: column.clone(),
                        group: name.clone(),
                        first_line,
                        first_text,
                        text,
                    }
                })?;
                filled.push(value);
            }
            Ok(filled)
        }
        Reading::Grouped(grouping, depth) => {
            read_grouped(table, decl, grouping, depth, sizes, &cell)
        }
    }
}

/// A group with fewer groups within it than a nested level's size, in a declaration
/// that is not optional (its cells there would be missing): the error.
fn nested_gap(grouping: &Grouping, decl: &DataDecl, depth: usize) -> Result<(), Failure> {
    for d in 1..depth {
        let level = &grouping.levels[d];
        for (flat, parent) in grouping.cells(d).into_iter().enumerate() {
            let Some(parent) = parent else { continue };
            if parent.children.len() < level.count {
                let (column, group) = group_name(grouping, d, flat);
                return Err((
                    Location::Column {
                        column: decl.name.clone(),
                    },
                    ErrorKind::RaggedNestedGroups {
                        declaration: decl.clone(),
                        column,
                        group,
                        inner_column: level.column.clone(),
                        count: parent.children.len(),
                        size: level.size.clone(),
                        size_value: level.count,
                    },
                ));
            }
        }
    }
    Ok(())
}

/// `[N, T]` (or `[N, B, T]`): the rows of each group at `depth` as a row, padded with
/// missing cells to the longest group; a group that is not there (a subject with fewer
/// blocks than `B`) is a row of missing cells.
fn read_grouped(
    table: &Table,
    decl: &DataDecl,
    grouping: &Grouping,
    depth: usize,
    sizes: &mut SizeTable,
    cell: &dyn Fn(&Row) -> Result<Option<f64>, Failure>,
) -> Result<Filled, Failure> {
    let whole_column = || Location::Column {
        column: decl.name.clone(),
    };
    let cells = grouping.cells(depth);
    let longest = grouping.longest(depth);
    let length = longest.map_or(0, |g| g.rows.len());
    let longest_name = cells
        .iter()
        .position(|c| matches!((c, longest), (Some(a), Some(b)) if std::ptr::eq(*a, b)))
        .map(|flat| group_name(grouping, depth, flat));
    sizes
        .unify_dim(decl, depth, length, || {
            let (column, group) = longest_name.clone().unwrap_or_default();
            SizeSource::CsvLongestGroup {
                variable: decl.name.clone(),
                column,
                group,
            }
        })
        .map_err(|kind| (whole_column(), kind))?;
    if !decl.optional {
        nested_gap(grouping, decl, depth)?;
        if let Some((flat, short)) = cells
            .iter()
            .enumerate()
            .find_map(|(i, g)| g.filter(|g| g.rows.len() < length).map(|g| (i, g)))
        {
            let size = match decl.shape.get(depth) {
                Some(dim) => dim.to_string(),
                None => String::new(),
            };
            let (column, group) = group_name(grouping, depth, flat);
            return Err((
                whole_column(),
                ErrorKind::RaggedGroups {
                    declaration: decl.clone(),
                    column,
                    group,
                    group_len: short.rows.len(),
                    size,
                    size_value: length,
                },
            ));
        }
    }
    let total = (cells.len() as u128).saturating_mul(length as u128);
    if total > MAX_CELLS {
        return Err((
            whole_column(),
            ErrorKind::TooLarge {
                declaration: decl.clone(),
                cells: total,
            },
        ));
    }
    // `total` is at most MAX_CELLS, so it fits in usize.
    let mut filled = Filled::with_capacity(usize::try_from(total).unwrap_or(0));
    for group in cells {
        let rows = group.map(|g| g.rows.as_slice()).unwrap_or_default();
        for &r in rows {
            let value = match table.rows.get(r) {
                Some(row) => cell(row)?,
                None => None,
            };
            filled.push(value);
        }
        for _ in rows.len()..length {
            filled.push(None);
        }
    }
    Ok(filled)
}
