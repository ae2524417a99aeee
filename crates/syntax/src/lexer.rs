//! Turns source text into the token stream the parser reads, deciding which
//! line breaks end statements.
//!
//! Statements are separated by line breaks or `;`, as in Go, Swift or Kotlin.
//! A line break separates two statements only when (1) it is not inside `(…)`
//! or `[…]`, (2) the token before it can end a statement, and (3) the token
//! after it cannot continue the previous line (a binary operator such as `+`,
//! `&&` or `~`, `else`, a closing bracket or an opening `{`). Separators are
//! collapsed, and none is emitted at the start of a block or before its end,
//! so the grammar sees exactly one `Sep` between two statements.

use crate::ast::Span;
use crate::error::SyntaxError;
use crate::habit::Habit;
use crate::token::Tok;
use logos::Logos;

/// A token with its byte span, in the form lalrpop's external lexer expects.
pub type Spanned<'s> = (usize, Tok<'s>, usize);

/// The UTF-8 byte-order mark that Windows editors put at the start of a file.
const BYTE_ORDER_MARK: char = '\u{FEFF}';

/// Lexes `source`, returning the tokens (with statement separators inserted)
/// and every lexical error: characters that are no token, and `#` comments
/// (skipped); lexing never stops at the first error.
pub fn lex(source: &str) -> (Vec<Spanned<'_>>, Vec<SyntaxError>) {
    let mut raw = Vec::new();
    let mut errors = Vec::new();
    let mut lexer = Tok::lexer(source);
    // A byte-order mark at the start is skipped rather than cut off, so that
    // every span still counts bytes from the start of the file as read.
    if source.starts_with(BYTE_ORDER_MARK) {
        lexer.bump(BYTE_ORDER_MARK.len_utf8());
    }
    while let Some(result) = lexer.next() {
        let range = lexer.span();
        let span = Span::new(range.start, range.end);
        // A name with letters outside ASCII (`müü`, `α_1`) would split into
        // ASCII names and one error per letter; it is read as one name with
        // one error, so that its uses resolve and report nothing more.
        let rest = source.get(range.end..).unwrap_or("");
        let name_start = match &result {
            Ok(_) if is_ascii_name(lexer.slice()) && rest.starts_with(is_foreign_name_char) => {
                Some(range.start)
            }
            Err(()) if lexer.slice().starts_with(is_foreign_name_char) => Some(range.start),
            _ => None,
        };
        if let Some(start) = name_start {
            let word = source.get(start..).unwrap_or("");
            let end =
                (start + word.find(|c| !is_name_char(c)).unwrap_or(word.len())).max(range.end);
            lexer.bump(end - range.end);
            let name = source.get(start..end).unwrap_or("");
            raw.push((start, Tok::Ident(name), end));
            errors.push(SyntaxError::NonAsciiName {
                span: Span::new(start, end),
                name: name.to_string(),
            });
            continue;
        }
        match result {
            Ok(Tok::HashComment) => errors.push(SyntaxError::Habit {
                span: Span::new(range.start, range.start + 1),
                habit: Habit::HashComment,
            }),
            // The comment pattern did not match: no `*/` closes this `/*`.
            Ok(Tok::Slash) if source[range.start..].starts_with("/*") => {
                errors.push(SyntaxError::UnterminatedComment {
                    span: Span::new(range.start, range.start + 2),
                });
                break;
            }
            Ok(tok) => raw.push((range.start, tok, range.end)),
            Err(()) => errors.push(SyntaxError::InvalidCharacter {
                span,
                text: lexer.slice().to_string(),
            }),
        }
    }
    // A `//` read as floor division closes the brackets its text closes (`(t // 40) % 2`
    // reads as `(t)`), so that the line still parses and the habit is its one error.
    let divisions = floor_divisions(source, &raw);
    for (after, _, closers) in divisions.iter().rev() {
        let at = raw[*after].2;
        for (k, closer) in closers.iter().enumerate() {
            raw.insert(after + 1 + k, (at, *closer, at));
        }
    }
    errors.extend(divisions.into_iter().map(|(_, error, _)| error));
    (insert_separators(raw), errors)
}

/// Whether a token's text is an ASCII name (or a keyword, spelled as one).
fn is_ascii_name(text: &str) -> bool {
    text.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A character of a name in most languages' sense: a letter or digit of any
/// script, `_`, or a combining accent (a decomposed `ü`).
fn is_name_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_' || ('\u{300}'..='\u{36F}').contains(&c)
}

fn is_foreign_name_char(c: char) -> bool {
    !c.is_ascii() && is_name_char(c)
}

/// `//` comments that read as Python's floor division: right after an operand on the
/// same line (`arange(T) // 40`, `(t // 40) % 2`), with a text that is an operand and
/// nothing but operators, operands and brackets after it (`40`, `40) % 2`), whose
/// names are all names of the code and whose divisor is not 0 or 1. Prose comments
/// (`// 2 options`, `// 1 = left`, `// 0-based`, `// per-trial`, `// Q + bonus` in
/// a model without `bonus`) are left alone.
/// Each is returned with the position in `raw` of the token before it and the closing
/// brackets of its text.
fn floor_divisions<'s>(
    source: &str,
    raw: &[Spanned<'s>],
) -> Vec<(usize, SyntaxError, Vec<Tok<'s>>)> {
    let names: std::collections::HashSet<&str> = raw
        .iter()
        .filter_map(|(_, tok, _)| match tok {
            Tok::Ident(name) => Some(*name),
            _ => None,
        })
        .collect();
    let mut found = Vec::new();
    for (after, pair) in raw.windows(2).enumerate() {
        let ((_, before, gap_start), (gap_end, _, _)) = (&pair[0], &pair[1]);
        let ends_operand = matches!(
            before,
            Tok::Ident(_) | Tok::Int(_) | Tok::Real(_) | Tok::RParen | Tok::RBracket
        );
        let Some(gap) = source.get(*gap_start..*gap_end) else {
            continue;
        };
        let Some(at) = gap.find("//") else { continue };
        if !ends_operand || gap[..at].contains("/*") || gap[..at].contains('\n') {
            continue;
        }
        let text = gap[at + 2..].lines().next().unwrap_or("").trim();
        if reads_as_division_operand(text, &|name| names.contains(name)) {
            let start = gap_start + at;
            let closers = text
                .chars()
                .filter_map(|c| match c {
                    ')' => Some(Tok::RParen),
                    ']' => Some(Tok::RBracket),
                    _ => None,
                })
                .collect();
            let error = SyntaxError::Habit {
                span: Span::new(start, start + 2),
                habit: Habit::FloorDivision {
                    written: text.to_string(),
                },
            };
            found.push((after, error, closers));
        }
    }
    found
}

/// Whether a comment's text is a number or a name followed only by brackets and
/// `operator operand` pairs: `40`, `40) % 2`, `n_block]`; every name one the code
/// uses (`is_name`), and the divisor not 0 or 1, which no one floor-divides by.
fn reads_as_division_operand(text: &str, is_name: &dyn Fn(&str) -> bool) -> bool {
    let mut chars = text.chars().peekable();
    // The divisor: a number, or a name directly followed by a closing bracket or an
    // operator (a lone word is prose).
    let starts_with_digit = text.starts_with(|c: char| c.is_ascii_digit());
    let code_operand = |word: &str| word.starts_with(|c: char| c.is_ascii_digit()) || is_name(word);
    let divisor = operand(&mut chars);
    if divisor.is_empty()
        || !code_operand(&divisor)
        || matches!(divisor.parse::<f64>(), Ok(d) if d == 0.0 || d == 1.0)
    {
        return false;
    }
    let mut rest_is_code = starts_with_digit;
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        match chars.next() {
            None => return rest_is_code,
            Some(')' | ']') => rest_is_code = true,
            Some('+' | '-' | '*' | '/' | '%' | '^') => {
                while chars.peek().is_some_and(|c| c.is_whitespace() || *c == '(') {
                    chars.next();
                }
                let word = operand(&mut chars);
                if word.is_empty() || !code_operand(&word) {
                    return false;
                }
                rest_is_code = true;
            }
            Some(_) => return false,
        }
    }
}

/// Consumes a number or a name and returns it (empty when there was none).
fn operand(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> String {
    let mut word = String::new();
    while let Some(c) = chars.next_if(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.') {
        word.push(c);
    }
    word
}

fn insert_separators(raw: Vec<Spanned<'_>>) -> Vec<Spanned<'_>> {
    let mut out: Vec<Spanned<'_>> = Vec::with_capacity(raw.len());
    // Only whether the innermost bracket is `(`/`[` matters, so a stack of
    // bools suffices; an unbalanced closer is left for the parser to report.
    let mut in_parens: Vec<bool> = Vec::new();
    let mut pending_break: Option<usize> = None;
    // Stan's bounds in a type, `real<lower=0>`, end with a `>` that may end
    // the statement (so that the parser can report them); any other `>` is
    // a comparison waiting for its right side.
    let mut in_stan_bounds = false;
    let mut last_ends_statement = false;
    for (start, tok, end) in raw {
        let at_statement_level = !in_parens.last().copied().unwrap_or(false);
        let as_separator = matches!(tok, Tok::Semi) && at_statement_level;
        if matches!(tok, Tok::Newline) || as_separator {
            if at_statement_level {
                if as_separator {
                    // An explicit `;` always separates.
                    pending_break = None;
                    push_separator(&mut out, start, end);
                } else if pending_break.is_none() {
                    pending_break = Some(start);
                }
            }
            continue;
        }
        if let Some(at) = pending_break.take() {
            if last_ends_statement && !tok.continues_line() {
                push_separator(&mut out, at, at + 1);
            }
        }
        let opens_stan_bounds = matches!(tok, Tok::Lt)
            && matches!(
                out.last(),
                Some((
                    _,
                    Tok::IntType | Tok::RealType | Tok::BoolType | Tok::Ident(_),
                    _
                ))
            );
        let closes_stan_bounds = in_stan_bounds && matches!(tok, Tok::Gt);
        if opens_stan_bounds {
            in_stan_bounds = true;
        } else if closes_stan_bounds || !tok.can_be_in_stan_bounds() {
            in_stan_bounds = false;
        }
        last_ends_statement = tok.can_end_statement() || closes_stan_bounds;
        match tok {
            Tok::LParen | Tok::LBracket => in_parens.push(true),
            Tok::LBrace => in_parens.push(false),
            Tok::RParen | Tok::RBracket | Tok::RBrace => {
                in_parens.pop();
                if matches!(tok, Tok::RBrace) {
                    drop_trailing_separator(&mut out);
                }
            }
            _ => {}
        }
        out.push((start, tok, end));
    }
    drop_trailing_separator(&mut out);
    out
}

fn push_separator(out: &mut Vec<Spanned<'_>>, start: usize, end: usize) {
    // No separator at the start of the file or of a block, nor twice.
    if !matches!(out.last(), None | Some((_, Tok::LBrace | Tok::Sep, _))) {
        out.push((start, Tok::Sep, end));
    }
}

fn drop_trailing_separator(out: &mut Vec<Spanned<'_>>) {
    while matches!(out.last(), Some((_, Tok::Sep, _))) {
        out.pop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(source: &str) -> Vec<String> {
        lex(source)
            .0
            .iter()
            .map(|(_, t, _)| format!("{t:?}"))
            .collect()
    }

    #[test]
    fn line_breaks_inside_parentheses_are_ignored() {
        assert_eq!(kinds("f(a,\n b)\nx"), kinds("f(a, b); x"));
    }

    #[test]
    fn operator_at_line_start_continues() {
        assert!(!kinds("a\n && b").contains(&"Sep".to_string()));
        assert!(kinds("a\n b").contains(&"Sep".to_string()));
    }

    #[test]
    fn a_byte_order_mark_at_the_start_is_skipped_and_spans_stay_in_the_file() {
        let source = "\u{FEFF}size T\nlet x = T";
        let (tokens, errors) = lex(source);
        assert!(errors.is_empty(), "{errors:?}");
        let (start, tok, end) = tokens[0];
        assert_eq!(tok, Tok::Size);
        assert_eq!(&source[start..end], "size");
    }

    #[test]
    fn a_control_character_is_named_by_its_code() {
        let (_, errors) = lex("let a = 1\u{0}\n");
        assert_eq!(errors.len(), 1);
        let diagnostic = errors[0].to_diagnostic();
        assert_eq!(
            diagnostic.message,
            "unexpected character U+0000 (a control character)"
        );
    }

    #[test]
    fn a_python_comment_is_skipped_and_reported_at_its_hash() {
        let source = "let a = 1 # one\nlet b = 2";
        let (tokens, errors) = lex(source);
        assert_eq!(kinds(source), kinds("let a = 1\nlet b = 2"));
        assert_eq!(errors.len(), 1);
        assert_eq!(&source[errors[0].span().range()], "#");
        assert!(!tokens.iter().any(|(_, t, _)| *t == Tok::HashComment));
    }

    #[test]
    fn stan_bounds_at_the_end_of_a_line_end_the_statement() {
        assert!(kinds("data x: real<lower=0>\nsize T").contains(&"Sep".to_string()));
        assert!(!kinds("let b = x >\n 0").contains(&"Sep".to_string()));
    }

    #[test]
    fn a_name_with_letters_outside_ascii_is_one_name_and_one_error() {
        for (source, name) in [
            ("müü ~", "müü"),
            ("α ~", "α"),
            ("σ_1 ~", "σ_1"),
            ("x2ü_b ~", "x2ü_b"),
            ("dataé ~", "dataé"),
            ("mu\u{308} ~", "mu\u{308}"),
        ] {
            let (tokens, errors) = lex(source);
            assert_eq!(tokens[0].1, Tok::Ident(name), "{source}");
            assert_eq!(tokens[1].1, Tok::Tilde, "{source}");
            assert_eq!(
                errors,
                [SyntaxError::NonAsciiName {
                    span: Span::new(0, name.len()),
                    name: name.to_string(),
                }],
                "{source}"
            );
        }
        // A symbol that is no letter stays an unexpected character.
        let (tokens, errors) = lex("x🙂 ~");
        assert_eq!(tokens[0].1, Tok::Ident("x"));
        assert!(matches!(errors[..], [SyntaxError::InvalidCharacter { .. }]));
    }

    #[test]
    fn a_byte_order_mark_elsewhere_is_an_error() {
        assert_eq!(lex("size T\u{FEFF}").1.len(), 1);
    }

    #[test]
    fn no_separator_before_closing_brace_or_else() {
        let k = kinds("if c {\n a\n}\nelse {\n b\n}\n");
        assert!(!k.contains(&"Sep".to_string()), "{k:?}");
    }

    #[test]
    fn a_comment_that_reads_as_a_divisor_is_floor_division() {
        let names = |name: &str| ["n_block", "T", "k", "lapse", "q", "alpha", "pe"].contains(&name);
        for code in [
            "40", "40) % 2", "2)", "n_block]", "T - 1", "40 * k)", "T * 2",
        ] {
            assert!(reads_as_division_operand(code, &names), "{code}");
        }
        for prose in [
            "2 options",
            "1 = left, 2 = right",
            "0-based index",
            "learning rate",
            "",
            "note",
            // Words of prose joined by operator characters: not names of the code.
            "0-based",
            "per-trial",
            "trial-by-trial",
            "q + bonus",
            "alpha*PE",
            "scalar + gather",
            // No one floor-divides by 0 or 1.
            "1 - lapse",
            "0 * k",
        ] {
            assert!(!reads_as_division_operand(prose, &names), "{prose}");
        }
        let (_, errors) = lex("let a = x // 40\nlet b = x // the block\n// 40 alone\n");
        assert_eq!(errors.len(), 1, "{errors:?}");
        let (_, errors) = lex("let k = c - 1   // 0-based\nlet q = k * 2   // per-trial\n");
        assert!(errors.is_empty(), "{errors:?}");
    }
}
