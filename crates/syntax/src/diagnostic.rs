//! Plain diagnostics, the one form every compiler stage's errors take, and
//! the one place they are rendered (with ariadne).

use crate::ast::Span;
use ariadne::{Cache, Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind, Source};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Error,
    Warning,
}

/// A labelled span: the primary label marks the offending expression,
/// secondary labels say where the involved facts came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

impl Label {
    pub fn primary(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
            primary: true,
        }
    }
    pub fn secondary(span: Span, message: impl Into<String>) -> Label {
        Label {
            span,
            message: message.into(),
            primary: false,
        }
    }
}

/// A compiler message with a stable code (explained in `docs/errors.md`).
#[derive(Debug, Clone, PartialEq)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: &'static str,
    pub message: String,
    pub labels: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            hint: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn with_label(mut self, label: Label) -> Diagnostic {
        self.labels.push(label);
        self
    }
    pub fn with_hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
    /// The span of the primary label (or the first label).
    pub fn primary_span(&self) -> Span {
        self.labels
            .iter()
            .find(|l| l.primary)
            .or(self.labels.first())
            .map(|l| l.span)
            .unwrap_or_default()
    }
}

/// At most this many errors are rendered; the rest are counted in one line.
/// A systematic mistake (an unknown function used on every line) gives one
/// error per use, and thousands of reports bury the first, which is usually
/// the one to fix (clang stops at 20, for the same reason).
pub const MAX_RENDERED_ERRORS: usize = 50;

/// Renders diagnostics as ariadne reports, in source order: the first
/// [`MAX_RENDERED_ERRORS`] errors and the warnings before the last of them,
/// then a line counting the ones left out.
pub fn render(diagnostics: &[Diagnostic], file_name: &str, source: &str, color: bool) -> String {
    // A byte-order mark is not text the user sees: render without it, with the
    // labels shifted to match, so that columns count from the first character.
    if let Some(rest) = source.strip_prefix('\u{FEFF}') {
        let shift = source.len() - rest.len();
        let shifted: Vec<Diagnostic> = diagnostics
            .iter()
            .map(|d| Diagnostic {
                labels: d
                    .labels
                    .iter()
                    .map(|l| Label {
                        span: Span::new(
                            l.span.start.saturating_sub(shift),
                            l.span.end.saturating_sub(shift),
                        ),
                        ..l.clone()
                    })
                    .collect(),
                ..d.clone()
            })
            .collect();
        return render(&shifted, file_name, rest, color);
    }
    let mut sorted: Vec<&Diagnostic> = diagnostics.iter().collect();
    sorted.sort_by_key(|d| (d.primary_span().start, d.primary_span().end));
    // The line index is made once: made per report, it made rendering many
    // errors quadratic in the length of the file.
    let lines = Source::from(source);
    let mut out = Vec::new();
    let mut shown_errors = 0;
    let (mut left_errors, mut left_warnings) = (0, 0);
    for diagnostic in sorted {
        if shown_errors == MAX_RENDERED_ERRORS {
            match diagnostic.severity {
                Severity::Error => left_errors += 1,
                Severity::Warning => left_warnings += 1,
            }
            continue;
        }
        render_one(diagnostic, file_name, &lines, color, &mut out);
        if diagnostic.is_error() {
            shown_errors += 1;
        }
    }
    let mut text = String::from_utf8_lossy(&out).into_owned();
    if left_errors + left_warnings > 0 {
        let counts: Vec<String> = [(left_errors, "error"), (left_warnings, "warning")]
            .into_iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, what)| format!("{n} more {what}{}", if n == 1 { "" } else { "s" }))
            .collect();
        text.push_str(&format!(
            "… and {} (only the first {MAX_RENDERED_ERRORS} errors are shown)\n",
            counts.join(" and ")
        ));
    }
    text
}

/// Which snippet of a report a label is drawn in, as ariadne's source id.
/// ariadne starts a new snippet when a label lies on an earlier line than the
/// one before it, and heads every snippet of the report's own source with
/// the primary label's location; a snippet with an id of its own is headed
/// with its first label's location instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Snippet<'a> {
    file_name: &'a str,
    index: usize,
}

/// The one source every snippet is drawn from.
struct Snippets<'a> {
    lines: &'a Source<&'a str>,
}

impl<'a> Cache<Snippet<'a>> for Snippets<'a> {
    type Storage = &'a str;

    fn fetch(&mut self, _: &Snippet<'a>) -> Result<&Source<&'a str>, impl std::fmt::Debug> {
        Ok::<_, ()>(self.lines)
    }

    fn display<'b>(&self, id: &'b Snippet<'a>) -> Option<impl std::fmt::Display + 'b> {
        Some(id.file_name)
    }
}

fn render_one(
    d: &Diagnostic,
    file_name: &str,
    lines: &Source<&str>,
    color: bool,
    out: &mut Vec<u8>,
) {
    let source = lines.text();
    // A byte span as the character range ariadne draws: spans at the end of
    // the file still need one character to point at.
    let chars = |span: Span| {
        let end = span.end.min(source.len());
        let start = span.start.min(end);
        let start = floor_char_boundary(source, start);
        let end = floor_char_boundary(source, end).max(start);
        let bytes = if start == end && end < source.len() {
            start..next_char_boundary(source, end)
        } else if start == end && start > 0 {
            floor_char_boundary(source, start - 1)..end
        } else {
            start..end
        };
        char_offset(lines, bytes.start)..char_offset(lines, bytes.end)
    };
    // The line a label ends on, as ariadne groups labels into snippets by it.
    let end_line = |range: &std::ops::Range<usize>| {
        lines
            .get_offset_line(range.end.saturating_sub(1).max(range.start))
            .map_or(0, |(_, line, _)| line)
    };
    let mut snippet = 0;
    let mut last_line = 0;
    let mut labels = Vec::with_capacity(d.labels.len());
    let mut primary_snippet = None;
    for (order, label) in d.labels.iter().enumerate() {
        let range = chars(label.span);
        let line = end_line(&range);
        if order > 0 && line < last_line {
            snippet += 1;
        }
        last_line = line;
        if label.primary && primary_snippet.is_none() {
            primary_snippet = Some(snippet);
        }
        labels.push((snippet, range));
    }
    let id = |index: usize| Snippet { file_name, index };
    let (kind, primary_color) = match d.severity {
        Severity::Error => (ReportKind::Error, Color::Red),
        Severity::Warning => (ReportKind::Warning, Color::Yellow),
    };
    let config = Config::default()
        .with_color(color)
        .with_index_type(IndexType::Char);
    let mut report = Report::build(
        kind,
        (id(primary_snippet.unwrap_or(0)), chars(d.primary_span())),
    )
    .with_config(config)
    .with_code(d.code)
    .with_message(&d.message);
    for (order, (label, (snippet, range))) in d.labels.iter().zip(labels).enumerate() {
        let label_color = if label.primary {
            primary_color
        } else {
            Color::Blue
        };
        report = report.with_label(
            AriadneLabel::new((id(snippet), range))
                .with_message(&label.message)
                .with_color(label_color)
                .with_order(order as i32),
        );
    }
    if let Some(hint) = &d.hint {
        report = report.with_help(hint);
    }
    // Writing into a Vec cannot fail for IO reasons; a failure here would be
    // an ariadne bug, and the message is still counted by the caller.
    if report
        .finish()
        .write(Snippets { lines }, &mut *out)
        .is_err()
    {
        out.extend_from_slice(format!("error[{}]: {}\n", d.code, d.message).as_bytes());
    }
}

/// The character offset of a byte offset (on a character boundary).
fn char_offset(lines: &Source<&str>, byte: usize) -> usize {
    match lines.get_byte_line(byte) {
        Some((line, _, column)) => {
            let text = lines.get_line_text(line).unwrap_or("");
            line.offset() + text.get(..column).map_or(column, |t| t.chars().count())
        }
        None => lines.len(),
    }
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn next_char_boundary(s: &str, mut i: usize) -> usize {
    i += 1;
    while i < s.len() && !s.is_char_boundary(i) {
        i += 1;
    }
    i.min(s.len())
}
