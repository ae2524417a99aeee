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
use crate::token::Tok;
use logos::Logos;

/// A token with its byte span, in the form lalrpop's external lexer expects.
pub type Spanned<'s> = (usize, Tok<'s>, usize);

/// A character sequence that is no token of the language.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub span: Span,
    pub text: String,
}

/// The UTF-8 byte-order mark that Windows editors put at the start of a file.
const BYTE_ORDER_MARK: char = '\u{FEFF}';

/// Lexes `source`, returning the tokens (with statement separators inserted)
/// and every lexical error; lexing never stops at the first error.
pub fn lex(source: &str) -> (Vec<Spanned<'_>>, Vec<LexError>) {
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
        match result {
            Ok(tok) => raw.push((range.start, tok, range.end)),
            Err(()) => errors.push(LexError {
                span: Span::new(range.start, range.end),
                text: lexer.slice().to_string(),
            }),
        }
    }
    (insert_separators(raw), errors)
}

fn insert_separators(raw: Vec<Spanned<'_>>) -> Vec<Spanned<'_>> {
    let mut out: Vec<Spanned<'_>> = Vec::with_capacity(raw.len());
    // Only whether the innermost bracket is `(`/`[` matters, so a stack of
    // bools suffices; an unbalanced closer is left for the parser to report.
    let mut in_parens: Vec<bool> = Vec::new();
    let mut pending_break: Option<usize> = None;
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
            let ends = out
                .last()
                .is_some_and(|(_, prev, _)| prev.can_end_statement());
            if ends && !tok.continues_line() {
                push_separator(&mut out, at, at + 1);
            }
        }
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
    fn a_byte_order_mark_elsewhere_is_an_error() {
        assert_eq!(lex("size T\u{FEFF}").1.len(), 1);
    }

    #[test]
    fn no_separator_before_closing_brace_or_else() {
        let k = kinds("if c {\n a\n}\nelse {\n b\n}\n");
        assert!(!k.contains(&"Sep".to_string()), "{k:?}");
    }
}
