//! Random learning models, made from the pieces the bundled models use (a scan over
//! trials carrying a Q vector; `~` and `target +=` in the body, in `if present(…)`
//! branches, or in both; special functions of the carry and the parameters; sometimes
//! the whole scan in a loop over subjects), each checked as the bundled models are:
//! the JIT equals the interpreter, and the gradient equals finite differences. They
//! exercise the passes that reshape the gradient (dead code, common subexpressions,
//! joined branches, stacked residuals, loop twins) on programs nobody wrote by hand.

mod support;

use support::*;

/// Picks among `n` choices.
fn pick(rng: &mut Rng, n: usize) -> usize {
    ((rng.unit() * n as f64) as usize).min(n - 1)
}

/// A real scalar expression of the parameters and the step's values (`q` the carry,
/// `ai` the action, `ri` the reward), small enough that its exponentials stay finite.
fn scalar(rng: &mut Rng, depth: u32) -> String {
    let leaves = [
        "p0",
        "p1 * ri",
        "q[ai]",
        "u * q[0]",
        "s * ri",
        "logsumexp(q)",
        "max(q)",
        "0.5",
    ];
    if depth == 0 || rng.unit() < 0.4 {
        return leaves[pick(rng, leaves.len())].to_string();
    }
    let (a, b) = (scalar(rng, depth - 1), scalar(rng, depth - 1));
    match pick(rng, 9) {
        0 => format!("({a} + {b})"),
        1 => format!("({a} * {b})"),
        2 => format!("exp(0.3 * {a})"),
        3 => format!("log1p(exp({a}))"),
        4 => format!("logistic({a} - {b})"),
        5 => format!("(sin({a}) * cos({b}))"),
        6 => format!("log_Phi({a} - {b})"),
        7 => format!("tanh({a})"),
        _ => format!("({a} - {b})"),
    }
}

/// Logits over the `K` options.
fn logits(rng: &mut Rng) -> String {
    let x = scalar(rng, 1);
    match pick(rng, 3) {
        0 => format!("{x} * q"),
        1 => format!("s * q + {x}"),
        _ => format!("exp(p0) * q - {x}"),
    }
}

/// A statement of the scan body.
fn statement(rng: &mut Rng) -> String {
    match pick(rng, 5) {
        0 => format!("ai ~ Categorical(logits = {})", logits(rng)),
        1 => format!("target += -0.1 * {}", scalar(rng, 2)),
        2 => format!(
            "if present(ci) {{\n    ci ~ Categorical(logits = {})\n  }} else {{\n    target += -0.1 * {}\n  }}",
            logits(rng),
            scalar(rng, 1)
        ),
        3 => format!(
            "if present(yi) {{\n    yi ~ Normal({}, s + 0.5)\n  }}",
            scalar(rng, 1)
        ),
        _ => format!(
            "if present(ci) && present(yi) {{\n    ci ~ Categorical(logits = {})\n    target += -0.1 * yi * {}\n  }}",
            logits(rng),
            scalar(rng, 1)
        ),
    }
}

/// The next carry.
fn next_carry(rng: &mut Rng) -> String {
    match pick(rng, 3) {
        0 => "set_subtensor(q[ai], q[ai] + u * (ri - q[ai]))".to_string(),
        1 => format!(
            "set_subtensor(q[ai], q[ai] + u * (ri - q[ai]) + 0.01 * {})",
            scalar(rng, 1)
        ),
        _ => "q * (1 - u) + u * ri".to_string(),
    }
}

/// A whole model with `k` options, one subject or `N` of them.
fn model(rng: &mut Rng) -> String {
    let k = 2 + pick(rng, 3);
    let subjects = rng.unit() < 0.4;
    let init: Vec<String> = (0..k)
        .map(|i| format!("{:.1}", 0.1 * (i + 1) as f64))
        .collect();
    let mut body = String::new();
    for _ in 0..1 + pick(rng, 3) {
        body.push_str("  ");
        body.push_str(&statement(rng));
        body.push('\n');
    }
    body.push_str("  ");
    body.push_str(&next_carry(rng));
    body.push('\n');
    let (dims, row) = if subjects {
        ("[N, T]", "[n]")
    } else {
        ("[T]", "")
    };
    let mut src = String::new();
    if subjects {
        src.push_str("size N\n");
    }
    src.push_str("size T\n");
    src.push_str(&format!("data a: int{dims} in 0..{k}\n"));
    src.push_str(&format!("data r: real{dims}\n"));
    src.push_str(&format!("data c: int?{dims} in 0..{k}\n"));
    src.push_str(&format!("data y: real?{dims}\n"));
    src.push_str("param p0 ~ Normal(0, 1)\nparam p1 ~ Normal(0, 1)\n");
    src.push_str("param s ~ HalfNormal(1)\nparam u ~ Beta(2, 2)\n");
    let scan = format!(
        "scan (q = [{}]; ai in a{row}, ri in r{row}, ci in c{row}, yi in y{row}) {{\n{body}}}\n",
        init.join(", ")
    );
    if subjects {
        src.push_str("for n in 0..N {\n");
        src.push_str(&scan);
        src.push_str("}\n");
    } else {
        src.push_str(&scan);
    }
    src
}

#[test]
fn random_models_match_the_interpreter_and_finite_differences() {
    let mut rng = Rng(0x0123_4567_89ab_cdef);
    for i in 0..120 {
        let source = model(&mut rng);
        let (parsed, diagnostics) = rlc_check::compile(&source);
        assert!(
            parsed.is_some(),
            "random model {i} does not compile (a generator bug):\n{source}\n{diagnostics:?}"
        );
        let name = format!("random model {i}:\n{source}");
        check_source(&name, &source);
    }
}
