//! Parser tests: the spec's examples parse cleanly, errors are located and
//! several are reported, and no input makes the front end panic.

use proptest::prelude::*;
use rlc_syntax::ast::{ExprKind, Item, Stmt};
use rlc_syntax::diagnostic::MAX_RENDERED_ERRORS;
use rlc_syntax::{parse, render, Diagnostic, Label, SyntaxError};
use std::path::PathBuf;

fn models_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../models")
}

fn example_sources() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(models_dir()).expect("models/ exists") {
        let path = entry.expect("readable dir entry").path();
        if path.extension().is_some_and(|e| e == "rlm") {
            let source = std::fs::read_to_string(&path).expect("model is UTF-8");
            out.push((path.display().to_string(), source));
        }
    }
    out.sort();
    assert!(!out.is_empty());
    out
}

#[test]
fn every_bundled_model_parses_without_errors() {
    for (name, source) in example_sources() {
        let parsed = parse(&source);
        assert!(
            parsed.errors.is_empty(),
            "{name}:\n{}",
            render(
                &parsed
                    .errors
                    .iter()
                    .map(|e| e.to_diagnostic())
                    .collect::<Vec<_>>(),
                &name,
                &source,
                false
            )
        );
    }
}

#[test]
fn scan_body_value_is_the_last_expression() {
    let parsed = parse("scan (q = [0.5, 0.5]; a in action) {\n a ~ Bernoulli(p = q[0])\n q\n}\n");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let Item::Stmt(Stmt::Expr(e)) = &parsed.program.items[0] else {
        panic!("expected an expression statement")
    };
    let ExprKind::Scan { body, .. } = &e.kind else {
        panic!("expected a scan")
    };
    assert_eq!(body.stmts.len(), 1);
    assert!(body.value.is_some());
}

#[test]
fn power_binds_tighter_than_unary_minus() {
    let parsed = parse("let y = -x ^ 2");
    let Item::Stmt(Stmt::Let { value, .. }) = &parsed.program.items[0] else {
        panic!("expected let")
    };
    assert!(matches!(value.kind, ExprKind::Unary { .. }));
}

#[test]
fn several_syntax_errors_are_all_reported() {
    let parsed = parse("let a = (1 +\nlet b = 2\nlet c = * 3\nlet d = 4 $\n");
    assert!(parsed.errors.len() >= 2, "{:?}", parsed.errors);
    assert!(parsed
        .errors
        .iter()
        .any(|e| matches!(e, SyntaxError::InvalidCharacter { .. })));
}

#[test]
fn expression_ids_are_dense_and_unique() {
    for (_, source) in example_sources() {
        let parsed = parse(&source);
        let mut seen = vec![false; parsed.program.expr_count];
        rlc_syntax::ast::visit_exprs(&parsed.program, &mut |e| {
            let i = e.id.0 as usize;
            assert!(!seen[i], "duplicate id {i}");
            seen[i] = true;
        });
        assert!(seen.iter().all(|s| *s));
    }
}

fn check_spans(source: &str) {
    let parsed = parse(source);
    for error in &parsed.errors {
        let d = error.to_diagnostic();
        for label in &d.labels {
            assert!(label.span.start <= label.span.end && label.span.end <= source.len());
        }
    }
    rlc_syntax::ast::visit_exprs(&parsed.program, &mut |e| {
        assert!(e.span.start <= e.span.end && e.span.end <= source.len());
    });
    // Rendering must not panic either.
    let diagnostics: Vec<_> = parsed.errors.iter().map(|e| e.to_diagnostic()).collect();
    let _ = render(&diagnostics, "fuzz.rlm", source, false);
}

const TOKENS: &[&str] = &[
    "size",
    "data",
    "param",
    "let",
    "out",
    "target",
    "+=",
    "scan",
    "for",
    "in",
    "if",
    "else",
    "x",
    "T",
    "Normal",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ";",
    ":",
    "?",
    "~",
    "=",
    "+",
    "-",
    "*",
    "/",
    "^",
    "==",
    "<",
    "&&",
    "||",
    "!",
    "..",
    "1",
    "0.5",
    "inf",
    "true",
    "int",
    "real",
    "\n",
    " ",
    "//c\n",
    "@",
    "é",
    "99999999999999999999",
    // Habits from other languages, which the parser recognizes.
    "**",
    ".",
    "# comment",
    "np.exp(",
    "x.shape",
    "range(T)",
    "<lower=0>",
    "vector[T]",
    "array[T] int",
    "target()",
    "and",
    "|",
    "\u{FEFF}",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn token_soup_never_panics(picks in proptest::collection::vec(0..TOKENS.len(), 0..60)) {
        let source: String = picks.iter().map(|&i| TOKENS[i]).collect::<Vec<_>>().join(" ");
        check_spans(&source);
    }

    #[test]
    fn arbitrary_text_never_panics(source in "\\PC{0,200}") {
        check_spans(&source);
    }

    #[test]
    fn mutated_examples_never_panic(which in 0usize..16, cut in 0usize..2000, len in 0usize..40, insert in 0..TOKENS.len()) {
        let examples = example_sources();
        let (_, source) = &examples[which % examples.len()];
        let mut bytes: Vec<char> = source.chars().collect();
        let at = cut.min(bytes.len());
        let end = (at + len).min(bytes.len());
        bytes.splice(at..end, TOKENS[insert].chars());
        let mutated: String = bytes.into_iter().collect();
        check_spans(&mutated);
    }
}

#[test]
fn very_deep_expressions_are_an_error_not_a_crash() {
    for source in [
        format!("let a = 1{}", " + 1".repeat(5000)),
        format!("let a = {}1", "-".repeat(5000)),
    ] {
        let parsed = parse(&source);
        assert!(
            parsed
                .errors
                .iter()
                .any(|e| matches!(e, SyntaxError::TooDeep { .. })),
            "{:?}",
            parsed.errors.first()
        );
    }
}

#[test]
fn very_deep_statements_are_an_error_not_a_crash() {
    let depth = 5000;
    let mut source = String::from("size T\n");
    for i in 0..depth {
        source.push_str(&format!("for i{i} in 0..T {{\n"));
    }
    source.push_str("target += 1\n");
    source.push_str(&"}\n".repeat(depth));
    let parsed = parse(&source);
    assert!(
        parsed.errors.iter().any(|e| matches!(
            e,
            SyntaxError::TooDeep {
                statement: true,
                ..
            }
        )),
        "{:?}",
        parsed.errors.first()
    );
    assert_eq!(
        parsed.errors[0].to_diagnostic().code,
        "E0005",
        "{:?}",
        parsed.errors
    );
}

#[test]
fn a_byte_order_mark_is_skipped_and_spans_still_point_at_the_text() {
    let source = "\u{FEFF}let a = 1 $ 2\nlet b = a\n";
    let parsed = parse(source);
    let spans: Vec<&str> = parsed
        .errors
        .iter()
        .map(|e| &source[e.to_diagnostic().primary_span().range()])
        .collect();
    assert_eq!(spans, ["$"], "{:?}", parsed.errors);
    let clean = parse("\u{FEFF}size T\ndata y: real[T]\n");
    assert!(clean.errors.is_empty(), "{:?}", clean.errors);
    let rendered = render(
        &[parsed.errors[0].to_diagnostic()],
        "bom.rlm",
        source,
        false,
    );
    // Columns count from the first visible character: `$` is the 11th.
    assert!(rendered.contains("bom.rlm:1:11"), "{rendered}");
}

#[test]
fn simple_expressions_are_written_back_as_text() {
    let parsed = parse("let x = choice[n, t - 1] + (a - b) * -2.0 + f(y, axis = 1)");
    let Item::Stmt(Stmt::Let { value, .. }) = &parsed.program.items[0] else {
        panic!("expected let")
    };
    assert_eq!(
        rlc_syntax::ast::simple_text(value).as_deref(),
        Some("(choice[n, t - 1] + ((a - b) * -2.0)) + f(y, axis = 1)")
    );
}

fn diagnostics(source: &str) -> Vec<Diagnostic> {
    parse(source)
        .errors
        .iter()
        .map(|e| e.to_diagnostic())
        .collect()
}

#[test]
fn only_the_first_errors_are_rendered_and_the_rest_are_counted() {
    let source = "let x = 1 $ 2\n".repeat(MAX_RENDERED_ERRORS + 30);
    let all = diagnostics(&source);
    assert_eq!(all.len(), MAX_RENDERED_ERRORS + 30);
    let rendered = render(&all, "many.rlm", &source, false);
    assert_eq!(
        rendered.matches("[E0001]").count(),
        MAX_RENDERED_ERRORS,
        "{rendered}"
    );
    assert!(
        rendered.ends_with(&format!(
            "… and 30 more errors (only the first {MAX_RENDERED_ERRORS} errors are shown)\n"
        )),
        "{rendered}"
    );
    // Warnings after the last error shown are counted apart.
    let mut with_warning = all.clone();
    with_warning.push(
        Diagnostic::warning("W0101", "this value is never used").with_label(Label::primary(
            rlc_syntax::ast::Span::new(source.len() - 2, source.len() - 1),
            "here",
        )),
    );
    let rendered = render(&with_warning, "many.rlm", &source, false);
    assert!(
        rendered.contains("… and 30 more errors and 1 more warning "),
        "{rendered}"
    );
    // At the limit, nothing is left out.
    let few = &all[..MAX_RENDERED_ERRORS];
    assert!(!render(few, "many.rlm", &source, false).contains("more error"));
}

#[test]
fn each_snippet_is_headed_with_its_own_line_and_column() {
    // The secondary label comes first in the file, so ariadne draws it in a
    // snippet of its own; its header must give its place, in characters.
    let source = "/* ü */ let s = 1\nlet s = 2\n";
    let second = source.rfind('s').unwrap_or_default();
    let first = source.find("s =").unwrap_or_default();
    let diagnostic = Diagnostic::error("E0102", "`s` is declared twice")
        .with_label(Label::primary(
            rlc_syntax::ast::Span::new(second, second + 1),
            "declared again here",
        ))
        .with_label(Label::secondary(
            rlc_syntax::ast::Span::new(first, first + 1),
            "first declared here",
        ));
    let rendered = render(&[diagnostic], "twice.rlm", source, false);
    assert!(rendered.contains("╭─[ twice.rlm:2:5 ]"), "{rendered}");
    assert!(rendered.contains("├─[ twice.rlm:1:13 ]"), "{rendered}");
}
