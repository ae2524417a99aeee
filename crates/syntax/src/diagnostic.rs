//! Plain diagnostics, the one form every compiler stage's errors take, and
//! the one place they are rendered (with ariadne).

use crate::ast::Span;
use ariadne::{Color, Config, IndexType, Label as AriadneLabel, Report, ReportKind, Source};

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

/// Renders diagnostics as ariadne reports, in source order.
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
    let mut out = Vec::new();
    for diagnostic in sorted {
        render_one(diagnostic, file_name, source, color, &mut out);
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn render_one(d: &Diagnostic, file_name: &str, source: &str, color: bool, out: &mut Vec<u8>) {
    let clamp = |span: Span| {
        // Spans at the end of the file still need one character to point at.
        let end = span.end.min(source.len());
        let start = span.start.min(end);
        let start = floor_char_boundary(source, start);
        let end = floor_char_boundary(source, end).max(start);
        if start == end && end < source.len() {
            start..next_char_boundary(source, end)
        } else if start == end && start > 0 {
            floor_char_boundary(source, start - 1)..end
        } else {
            start..end
        }
    };
    let (kind, primary_color) = match d.severity {
        Severity::Error => (ReportKind::Error, Color::Red),
        Severity::Warning => (ReportKind::Warning, Color::Yellow),
    };
    let config = Config::default()
        .with_color(color)
        .with_index_type(IndexType::Byte);
    let mut report = Report::build(kind, (file_name, clamp(d.primary_span())))
        .with_config(config)
        .with_code(d.code)
        .with_message(&d.message);
    for (order, label) in d.labels.iter().enumerate() {
        let label_color = if label.primary {
            primary_color
        } else {
            Color::Blue
        };
        report = report.with_label(
            AriadneLabel::new((file_name, clamp(label.span)))
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
        .write((file_name, Source::from(source)), &mut *out)
        .is_err()
    {
        out.extend_from_slice(format!("error[{}]: {}\n", d.code, d.message).as_bytes());
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
