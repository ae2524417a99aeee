//! The front end (parser and checker) never panics: random token soup and
//! mutated versions of the bundled models only ever produce diagnostics, and
//! every diagnostic's labels lie inside the source.

use proptest::prelude::*;
use std::path::PathBuf;

fn models() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/check");
    let mut out = Vec::new();
    for sub in ["ok", "err"] {
        for entry in std::fs::read_dir(dir.join(sub)).expect("corpus exists") {
            let path = entry.expect("dir entry").path();
            if path.extension().is_some_and(|e| e == "rlm") {
                out.push(std::fs::read_to_string(path).expect("UTF-8"));
            }
        }
    }
    out.sort();
    out
}

fn compile_checked(source: &str) {
    let (_, diagnostics) = rlc_check::compile(source);
    for d in &diagnostics {
        for label in &d.labels {
            assert!(
                label.span.start <= label.span.end && label.span.end <= source.len(),
                "{d:?}"
            );
        }
    }
    let _ = rlc_syntax::render(&diagnostics, "fuzz.rlm", source, false);
}

const PIECES: &[&str] = &[
    "size T",
    "data x: int?[T] in 0..2",
    "data y: real[T, 2]",
    "param a ~ Normal(0, 1)",
    "param b: real[T] in (0, 1)",
    "let q = ",
    "out o = ",
    "scan (c = [0.5, 0.5]; v in x) {",
    "}",
    "for i in 0..T {",
    "if present(v) {",
    "} else {",
    "x[i]",
    "y[:, 0]",
    "y[1:-1]",
    "x[-1]",
    "set_subtensor(c[v], 1.0)",
    "logsumexp(y, axis=1)",
    "sum(y, keepdims=true)",
    "a ~ Normal(0, 1)",
    "x ~ Categorical(logits = y)",
    "target += ",
    "c",
    "v",
    "a",
    "+",
    "-",
    "*",
    "^",
    "&&",
    "(",
    ")",
    "[",
    "]",
    ",",
    "\n",
    "0",
    "1.5",
    "T - 1",
    "arange(T)",
    "zeros(T, 2)",
    "matmul(y, y)",
    // Habits from other languages, and the constructs the new checks read.
    "x.shape[0]",
    "np.exp(a)",
    "a ** 2",
    "for t in range(T) {",
    "param s: real<lower=0>",
    "data z: vector[T]",
    "keepdims=True",
    "param f",
    "HalfNormal(-1)",
    "Categorical(p = [0.5, -0.5])",
    "Uniform(1, 0)",
    "if present(v) && present(c) {",
    "# comment",
    "len(x)",
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_programs_never_panic(picks in proptest::collection::vec(0..PIECES.len(), 0..40)) {
        let source: String = picks.iter().map(|&i| PIECES[i]).collect::<Vec<_>>().join(" ");
        compile_checked(&source);
    }

    #[test]
    fn mutated_models_never_panic(which in 0usize..64, at in 0usize..4000, cut in 0usize..30, piece in 0..PIECES.len()) {
        let all = models();
        let source = &all[which % all.len()];
        let mut chars: Vec<char> = source.chars().collect();
        let start = at.min(chars.len());
        let end = (start + cut).min(chars.len());
        chars.splice(start..end, PIECES[piece].chars());
        compile_checked(&chars.into_iter().collect::<String>());
    }
}

/// Scans nested 40 deep whose bodies use a parameter: each scan body is
/// checked at most twice per check of its enclosing one, which was 2^40
/// passes before the carries' widening was remembered (this test would not
/// end); now a few per level.
#[test]
fn nested_scans_using_a_parameter_check_in_linear_work() {
    let depth = 40;
    let mut body = format!("c{depth} + a * x{depth}");
    for k in (1..depth).rev() {
        let inner = k + 1;
        body = format!("c{k} + a * x{k} + sum(scan (c{inner} = 0; x{inner} in x) {{ {body} }})");
    }
    let source = format!(
        "size T\ndata x: real[T]\nparam a ~ Normal(0, 1)\ntarget += sum(scan (c1 = 0; x1 in x) {{ {body} }})\n"
    );
    let (model, diagnostics) = rlc_check::compile(&source);
    assert!(model.is_some(), "{diagnostics:?}");
}
