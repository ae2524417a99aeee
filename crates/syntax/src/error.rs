//! Syntax errors as typed values, each turned into a [`Diagnostic`] here.

use crate::ast::Span;
use crate::diagnostic::{Diagnostic, Label};
use crate::habit::{self, Habit};

#[derive(Debug, Clone, PartialEq)]
pub enum SyntaxError {
    /// Characters that are no token of the language.
    InvalidCharacter { span: Span, text: String },
    /// A `/*` comment with no `*/` after it.
    UnterminatedComment { span: Span },
    /// A name with characters outside ASCII (`müü`, `α`), read as one name.
    NonAsciiName { span: Span, name: String },
    /// A number literal that does not fit (e.g. an integer beyond 2^63).
    BadNumber { span: Span, text: String },
    /// A token where the grammar expects something else.
    UnexpectedToken {
        span: Span,
        found: String,
        expected: Vec<String>,
        /// What the token means in another language, and rlc's spelling.
        habit_hint: Option<String>,
        /// The `(` or `[` still open at the start of the token's line: the
        /// line break before it was inside brackets, so it ended nothing.
        unclosed: Option<(Span, char)>,
    },
    /// A construct from Python, NumPy, PyMC or Stan, parsed as rlc's
    /// spelling of it.
    Habit { span: Span, habit: Habit },
    /// The file ends inside a declaration, statement or bracket.
    UnexpectedEnd { span: Span, expected: Vec<String> },
    /// An interval `[LO, HI]` written with other than two ends.
    IntervalEnds { span: Span, count: usize },
    /// An expression, or a statement inside loops and blocks, nested more
    /// deeply than the compiler accepts.
    TooDeep {
        span: Span,
        limit: usize,
        /// A statement (a `for` inside a `for` …), not an expression.
        statement: bool,
    },
}

impl SyntaxError {
    pub fn span(&self) -> Span {
        match self {
            SyntaxError::InvalidCharacter { span, .. }
            | SyntaxError::UnterminatedComment { span }
            | SyntaxError::NonAsciiName { span, .. }
            | SyntaxError::BadNumber { span, .. }
            | SyntaxError::UnexpectedToken { span, .. }
            | SyntaxError::UnexpectedEnd { span, .. }
            | SyntaxError::IntervalEnds { span, .. }
            | SyntaxError::TooDeep { span, .. }
            | SyntaxError::Habit { span, .. } => *span,
        }
    }

    pub fn to_diagnostic(&self) -> Diagnostic {
        match self {
            SyntaxError::UnterminatedComment { span } => {
                Diagnostic::error("E0001", "this `/*` comment is never closed")
                    .with_label(Label::primary(*span, "opened here"))
                    .with_hint("close it with `*/`; everything after `/*` is the comment")
            }
            SyntaxError::InvalidCharacter { span, text } => {
                // A control character (a NUL byte) is invisible: name it.
                let shown = if text.chars().all(char::is_control) {
                    let codes: Vec<String> =
                        text.chars().map(|c| format!("U+{:04X}", c as u32)).collect();
                    format!("{} (a control character)", codes.join(" "))
                } else {
                    format!("`{text}`")
                };
                let d = Diagnostic::error("E0001", format!("unexpected character {shown}"))
                    .with_label(Label::primary(*span, "this is not part of the language"));
                match habit::invalid_character_hint(text) {
                    Some(hint) => d.with_hint(hint),
                    None => d,
                }
            }
            SyntaxError::NonAsciiName { span, name } => {
                let d = Diagnostic::error("E0001", format!("the name `{name}` is not ASCII"))
                    .with_label(Label::primary(
                        *span,
                        "a name is made of ASCII letters, digits and `_`",
                    ));
                match ascii_spelling(name) {
                    Some(ascii) => d.with_hint(format!("write it `{ascii}`")),
                    None => d,
                }
            }
            SyntaxError::IntervalEnds { span, count } => Diagnostic::error(
                "E0007",
                format!("an interval has two ends, not {count}"),
            )
            .with_label(Label::primary(*span, "write `[LO, HI]`, `[LO, HI)`, `(LO, HI]` or `(LO, HI)`"))
            .with_hint("`[` and `]` include the end, `(` and `)` exclude it: `in [0, inf)` allows 0"),
            SyntaxError::BadNumber { span, text } => {
                Diagnostic::error("E0002", format!("the number `{text}` is out of range"))
                    .with_label(Label::primary(*span, "too large to represent exactly"))
                    .with_hint("integers are exact up to 2^53 (9007199254740992), reals up to about 1.8e308")
            }
            SyntaxError::UnexpectedToken {
                span,
                found,
                expected,
                habit_hint,
                unclosed,
            } => {
                let d = Diagnostic::error("E0003", format!("unexpected {found}"))
                    .with_label(Label::primary(*span, expected_message(expected)));
                if let Some((open, bracket)) = unclosed {
                    let close = if *bracket == '(' { ')' } else { ']' };
                    return d
                        .with_label(Label::secondary(*open, format!("this `{bracket}` is not closed")))
                        .with_hint(format!(
                            "a line break inside `{bracket}…{close}` does not end the statement, so \
                             the next line was read as part of it: close the `{bracket}` where the \
                             statement ends"
                        ));
                }
                match habit_hint.clone().or_else(|| hint_for(found, expected)) {
                    Some(hint) => d.with_hint(hint),
                    None => d,
                }
            }
            SyntaxError::Habit { span, habit } => {
                let (message, label, hint) = habit.describe();
                Diagnostic::error("E0006", message)
                    .with_label(Label::primary(*span, label))
                    .with_hint(hint)
            }
            SyntaxError::TooDeep {
                span,
                limit,
                statement: false,
            } => Diagnostic::error(
                "E0005",
                format!("this expression nests more than {limit} levels deep"),
            )
            .with_label(Label::primary(*span, "nested too deeply"))
            .with_hint("split it into several `let` bindings, or use `sum(…)` over an array"),
            SyntaxError::TooDeep {
                span,
                limit,
                statement: true,
            } => Diagnostic::error(
                "E0005",
                format!(
                    "this statement nests more than {limit} levels deep (loops and blocks inside each other)"
                ),
            )
            .with_label(Label::primary(*span, "nested too deeply"))
            .with_hint("loop over several axes in one `for` body, or move the inner loops into a `let` of their own"),
            SyntaxError::UnexpectedEnd { span, expected } => {
                Diagnostic::error("E0004", "the file ends in the middle of a statement")
                    .with_label(Label::primary(*span, expected_message(expected)))
                    .with_hint("check for an unclosed `(`, `[` or `{`")
            }
        }
    }
}

fn expected_message(expected: &[String]) -> String {
    match expected.split_last() {
        None => "not expected here".to_string(),
        Some((last, [])) => format!("expected {last}"),
        Some((last, rest)) if expected.len() <= 6 => {
            format!("expected {} or {last}", rest.join(", "))
        }
        Some(_) => "not expected here".to_string(),
    }
}

fn hint_for(found: &str, expected: &[String]) -> Option<String> {
    if found == "end of the statement" && !expected.is_empty() {
        return Some(
            "a line break ends a statement here; break long lines after an operator or inside parentheses"
                .to_string(),
        );
    }
    // `let (a, b) = …` or `scan ((q, w) = …; …)`: tuples from Python or Stan's habits.
    // A comma inside parentheses that are no call: `(a, b)`, a tuple too.
    if (found == "`(`" && expected == ["a name"]) || (found == "`,`" && expected == ["`)`"]) {
        return Some(
            "rlc has no tuples: a `let` binds one name, and a `scan` carries one value; carry \
             several as one array (`stack(q, w)` for equal shapes, `concat(…)` otherwise) and \
             take them apart by indexing (`s[0]`, `s[1]`) in the body"
                .to_string(),
        );
    }
    if found == "`=`" && expected.iter().any(|e| e == "`~`") {
        return Some(
            "bind a value with `let x = …`; observe data with `x ~ Dist(…)`. Values never \
             change once bound: to update an element as Stan's `Q[k] = …` does, carry the \
             array through a `scan` and yield `set_subtensor(Q[k], …)` (language.md, §9)"
                .to_string(),
        );
    }
    None
}

/// Describes one of lalrpop's expected-token names in the user's words.
pub(crate) fn describe_expected(raw: &str) -> String {
    match raw {
        "IDENT" => "a name".to_string(),
        "INT" => "an integer".to_string(),
        "REAL" => "a number".to_string(),
        "Sep" => "a line break or `;`".to_string(),
        "Newline" => "a line break".to_string(),
        quoted => format!("`{}`", quoted.trim_matches('"')),
    }
}

/// A name written in ASCII, for the letters users put in model names
/// (Greek letters as their names, accented Latin letters without accents);
/// `None` when a character has no such spelling.
fn ascii_spelling(name: &str) -> Option<String> {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii() {
            out.push(c);
            continue;
        }
        out.push_str(match c {
            'à'..='å' => "a",
            'À'..='Å' => "A",
            'æ' => "ae",
            'Æ' => "AE",
            'ç' => "c",
            'Ç' => "C",
            'è'..='ë' => "e",
            'È'..='Ë' => "E",
            'ì'..='ï' => "i",
            'Ì'..='Ï' => "I",
            'ñ' => "n",
            'Ñ' => "N",
            'ò'..='ö' | 'ø' => "o",
            'Ò'..='Ö' | 'Ø' => "O",
            'ù'..='ü' => "u",
            'Ù'..='Ü' => "U",
            'ý' | 'ÿ' => "y",
            'ß' => "ss",
            // Combining accents (a decomposed `ü`) are dropped with the accent.
            '\u{300}'..='\u{36F}' => "",
            'α' => "alpha",
            'β' => "beta",
            'γ' => "gamma",
            'Γ' => "Gamma",
            'δ' => "delta",
            'Δ' => "Delta",
            'ε' | 'ϵ' => "epsilon",
            'ζ' => "zeta",
            'η' => "eta",
            'θ' | 'ϑ' => "theta",
            'Θ' => "Theta",
            'ι' => "iota",
            'κ' => "kappa",
            'λ' => "lambda",
            'Λ' => "Lambda",
            'μ' | 'µ' => "mu",
            'ν' => "nu",
            'ξ' => "xi",
            'Ξ' => "Xi",
            'π' => "pi",
            'Π' => "Pi",
            'ρ' => "rho",
            'σ' | 'ς' => "sigma",
            'Σ' => "Sigma",
            'τ' => "tau",
            'υ' => "upsilon",
            'φ' | 'ϕ' => "phi",
            'Φ' => "Phi",
            'χ' => "chi",
            'ψ' => "psi",
            'Ψ' => "Psi",
            'ω' => "omega",
            'Ω' => "Omega",
            _ => return None,
        });
    }
    Some(out)
}
