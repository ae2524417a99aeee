//! The syntax of the `.rlm` model language: a logos lexer, the lalrpop
//! grammar (in the workspace's `grammar/rlm.lalrpop`), the AST with byte
//! spans, and [`Diagnostic`]s with their one renderer (ariadne).
//!
//! Parsing never fails: [`parse`] returns the tree (with error nodes where it
//! recovered) together with every syntax error, so one run reports all of
//! them. Constructs from Python, NumPy, PyMC and Stan are recognized
//! ([`habit`]) and reported with rlc's spelling. This crate knows nothing of types, shapes, the IR or files: the
//! caller passes source text in. Its tests are unit tests here and the UI
//! corpus in the workspace's `tests/check/` (run by the `rlc-check` crate).

pub mod ast;
pub mod diagnostic;
pub mod error;
pub mod habit;
pub mod lexer;
mod parser_support;
pub mod token;

pub use diagnostic::{render, Diagnostic, Label, Severity};
pub use error::SyntaxError;

use ast::{IdGen, Program, Span};
use lalrpop_util::ParseError;
use token::Tok;

lalrpop_util::lalrpop_mod!(
    #[allow(
        clippy::all,
        clippy::pedantic,
        clippy::unwrap_used,
        unused_qualifications,
        unused_parens
    )]
    grammar,
    "/rlm.rs"
);

/// The result of parsing: a tree (possibly with error nodes) and the errors.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub program: Program,
    pub errors: Vec<SyntaxError>,
}

/// Parses a whole model file.
pub fn parse(source: &str) -> Parsed {
    let (tokens, mut errors) = lexer::lex(source);
    let ids = IdGen::default();
    let mut recovered = Vec::new();
    let result = grammar::ProgramParser::new().parse(
        &mut recovered,
        &ids,
        tokens.iter().copied().map(Ok::<_, SyntaxError>),
    );
    for recovery in recovered {
        errors.push(convert(recovery.error, &tokens, source.len()));
    }
    let program = match result {
        Ok(program) => program,
        Err(error) => {
            errors.push(convert(error, &tokens, source.len()));
            Program {
                items: Vec::new(),
                expr_count: ids.count(),
            }
        }
    };
    errors.sort_by_key(|e| e.span().start);
    errors.dedup();
    suppress_cascades(&mut errors, source);
    note_unclosed_brackets(&mut errors, &tokens, source);
    if let Some((span, statement)) = too_deep(&program) {
        errors.push(SyntaxError::TooDeep {
            span,
            limit: MAX_NESTING,
            statement,
        });
        // Later stages recurse over the tree; a tree this deep is not checked.
        let program = Program {
            items: Vec::new(),
            expr_count: program.expr_count,
        };
        return Parsed { program, errors };
    }
    Parsed { program, errors }
}

/// How deeply code may nest: expressions in expressions (`1 + 1 + … + 1`
/// nests once per `+`), statements in loops and blocks (a `for` in a
/// `for`), and both together. The checker and lowering recurse over the
/// tree, so a limit keeps any input from exhausting the stack.
pub const MAX_NESTING: usize = 512;

/// A node of the tree, for measuring depth.
enum Node<'a> {
    Expr(&'a ast::Expr),
    Stmt(&'a ast::Stmt),
    Block(&'a ast::Block),
}

/// The span of the first expression or statement nested deeper than
/// [`MAX_NESTING`], and whether it is a statement.
fn too_deep(program: &Program) -> Option<(Span, bool)> {
    use ast::{Bounds, ExprKind, Item, SequenceSource, Stmt};
    // An explicit stack: measuring depth must not recurse itself.
    let mut stack: Vec<(Node, usize)> = Vec::new();
    for item in &program.items {
        let mut exprs: Vec<&ast::Expr> = Vec::new();
        fn bounds(b: &Option<Bounds>) -> Vec<&ast::Expr> {
            match b {
                Some(Bounds::IntRange { lo, hi, .. } | Bounds::Interval { lo, hi, .. }) => {
                    vec![lo, hi]
                }
                _ => Vec::new(),
            }
        }
        match item {
            Item::Size(_) => {}
            Item::Data(d) => {
                exprs.extend(d.ty.dims.iter());
                exprs.extend(bounds(&d.bounds));
            }
            Item::Param(p) => {
                if let Some(t) = &p.ty {
                    exprs.extend(t.dims.iter());
                }
                exprs.extend(bounds(&p.bounds));
                exprs.extend(p.prior.iter());
            }
            Item::Stmt(s) => stack.push((Node::Stmt(s), 1)),
        }
        stack.extend(exprs.into_iter().map(|e| (Node::Expr(e), 1)));
    }
    while let Some((node, depth)) = stack.pop() {
        match node {
            Node::Expr(e) => {
                if depth > MAX_NESTING {
                    return Some((e.span, false));
                }
                match &e.kind {
                    ExprKind::Scan {
                        init,
                        sequences,
                        body,
                        ..
                    } => {
                        stack.push((Node::Expr(init), depth + 1));
                        for s in sequences {
                            match &s.source {
                                SequenceSource::Array(x) => stack.push((Node::Expr(x), depth + 1)),
                                SequenceSource::Range { lo, hi } => {
                                    stack.push((Node::Expr(lo), depth + 1));
                                    stack.push((Node::Expr(hi), depth + 1));
                                }
                            }
                        }
                        stack.push((Node::Block(body), depth + 1));
                    }
                    ExprKind::If {
                        cond,
                        then_block,
                        else_block,
                    } => {
                        stack.push((Node::Expr(cond), depth + 1));
                        stack.push((Node::Block(then_block), depth + 1));
                        if let Some(b) = else_block {
                            stack.push((Node::Block(b), depth + 1));
                        }
                    }
                    _ => ast::for_each_child(e, &mut |c| stack.push((Node::Expr(c), depth + 1))),
                }
            }
            Node::Block(b) => {
                stack.extend(b.stmts.iter().map(|s| (Node::Stmt(s), depth)));
                if let Some(v) = &b.value {
                    stack.push((Node::Expr(v), depth));
                }
            }
            Node::Stmt(s) => {
                if depth > MAX_NESTING {
                    return Some((s.span(), true));
                }
                match s {
                    Stmt::Let { value, .. } | Stmt::TargetAdd { value, .. } | Stmt::Expr(value) => {
                        stack.push((Node::Expr(value), depth + 1))
                    }
                    Stmt::Tilde { lhs, dist, .. } => {
                        stack.push((Node::Expr(lhs), depth + 1));
                        stack.push((Node::Expr(dist), depth + 1));
                    }
                    Stmt::For { lo, hi, body, .. } => {
                        stack.push((Node::Expr(lo), depth + 1));
                        stack.push((Node::Expr(hi), depth + 1));
                        stack.push((Node::Block(body), depth + 1));
                    }
                    Stmt::Error(_) => {}
                }
            }
        }
    }
    None
}

/// A dropped invalid character usually makes the rest of its line
/// unparsable; report the character, not the confusion it causes.
fn suppress_cascades(errors: &mut Vec<SyntaxError>, source: &str) {
    let invalid: Vec<Span> = errors
        .iter()
        .filter_map(|e| match e {
            SyntaxError::InvalidCharacter { span, .. } => Some(*span),
            _ => None,
        })
        .collect();
    errors.retain(|e| match e {
        SyntaxError::UnexpectedToken { span, .. } => !invalid.iter().any(|bad| {
            bad.end <= span.start
                && source
                    .get(bad.end..span.start)
                    .is_some_and(|between| !between.contains('\n'))
        }),
        _ => true,
    });
}

/// Notes the `(` or `[` still open at an unexpected token that starts a
/// line: the line break before it was inside the brackets and ended nothing,
/// so the bracket, not the token, is usually the mistake. One pass over the
/// tokens for all errors (sorted by position), not one per error.
fn note_unclosed_brackets(errors: &mut [SyntaxError], tokens: &[lexer::Spanned<'_>], source: &str) {
    let mut open: Vec<(Span, Tok<'_>)> = Vec::new();
    let mut next = 0;
    let mut previous_end = 0;
    for error in errors.iter_mut() {
        let SyntaxError::UnexpectedToken { span, unclosed, .. } = error else {
            continue;
        };
        while let Some(&(start, tok, end)) = tokens.get(next) {
            if start >= span.start {
                break;
            }
            match tok {
                Tok::LParen | Tok::LBracket | Tok::LBrace => {
                    open.push((Span::new(start, end), tok))
                }
                Tok::RParen | Tok::RBracket | Tok::RBrace => {
                    open.pop();
                }
                _ => {}
            }
            previous_end = end;
            next += 1;
        }
        let starts_line = source
            .get(previous_end..span.start)
            .is_some_and(|gap| gap.contains('\n'));
        *unclosed = match open.last() {
            Some((at, Tok::LParen)) if starts_line => Some((*at, '(')),
            Some((at, Tok::LBracket)) if starts_line => Some((*at, '[')),
            _ => None,
        };
    }
}

/// The token before the one at `start`.
fn previous_token<'t, 's>(tokens: &'t [lexer::Spanned<'s>], start: usize) -> Option<&'t Tok<'s>> {
    let at = tokens.partition_point(|(s, _, _)| *s < start);
    at.checked_sub(1)
        .and_then(|i| tokens.get(i))
        .map(|(_, tok, _)| tok)
}

fn convert(
    error: ParseError<usize, Tok<'_>, SyntaxError>,
    tokens: &[lexer::Spanned<'_>],
    source_len: usize,
) -> SyntaxError {
    let describe = |expected: Vec<String>| -> Vec<String> {
        let mut names: Vec<String> = expected
            .iter()
            .map(|e| error::describe_expected(e))
            .collect();
        names.sort();
        names.dedup();
        names
    };
    match error {
        ParseError::InvalidToken { location } => SyntaxError::InvalidCharacter {
            span: Span::new(location, location + 1),
            text: String::new(),
        },
        ParseError::UnrecognizedEof { location, expected } => SyntaxError::UnexpectedEnd {
            span: Span::new(location.min(source_len), source_len),
            expected: describe(expected),
        },
        ParseError::UnrecognizedToken {
            token: (start, tok, end),
            expected,
        } => {
            let expected = describe(expected);
            let previous = previous_token(tokens, start);
            SyntaxError::UnexpectedToken {
                span: Span::new(start, end),
                found: tok.to_string(),
                habit_hint: habit::unexpected_token_hint(previous, &tok, &expected),
                expected,
                unclosed: None,
            }
        }
        ParseError::ExtraToken {
            token: (start, tok, end),
        } => SyntaxError::UnexpectedToken {
            span: Span::new(start, end),
            found: tok.to_string(),
            expected: Vec::new(),
            habit_hint: habit::unexpected_token_hint(previous_token(tokens, start), &tok, &[]),
            unclosed: None,
        },
        ParseError::User { error } => error,
    }
}
