//! Constructs from Python, NumPy, PyMC and Stan that new users write out of
//! habit (`**`, `# comments`, `np.exp`, `x.shape[0]`, `range(T)`,
//! `real<lower=0>`, `vector[N]`, `and`, `model {`): the parser recognizes them,
//! reports how rlc spells them, and goes on as if rlc's spelling had been
//! written, so that one habit gives one error. Names (`True`, `inv_logit`,
//! `normal`) are the checker's business (`rlc_check::builtins::foreign_name`).

use crate::token::Tok;

/// A construct from another language, with what rlc writes instead.
#[derive(Debug, Clone, PartialEq)]
pub enum Habit {
    /// `**` for a power.
    Power,
    /// `#` to start a comment.
    HashComment,
    /// `np.exp(…)`, `pm.math.log(…)`, `pm.Normal(…)`: a module prefix.
    ModulePrefix { prefix: String, name: String },
    /// `np.inf`, `np.pi`, `np.nan`: a module's constant.
    ModuleConstant { written: String },
    /// `x.sum(…)`: a method call, which is rlc's function call `sum(x, …)`.
    Method { receiver: String, method: String },
    /// `x.shape`: NumPy's shape attribute. `dims` is `x`'s declared shape,
    /// filled in by the checker when it knows `x`.
    Shape {
        array: String,
        dims: Option<Vec<String>>,
    },
    /// Another attribute, `x.T`.
    Attribute { written: String },
    /// `for t in range(T)`, `t in range(1, T)` in a scan.
    Range { written: String, rewrite: String },
    /// `for x in xs { … }`: a `for` over an array.
    ForOverArray,
    /// Stan's bounds in a type: `real<lower=0>`.
    StanBounds { written: String, rewrite: String },
    /// A type name from Stan or Python: `vector[N]`, `array[N] int`, `float`.
    ForeignType { written: String, rewrite: String },
    /// Stan's `target()`, reading the log density.
    ReadTarget,
    /// `a // 40` meant as Python's floor division: `//` starts a comment, so the
    /// expression silently ends at `a`. `written` is the comment's text.
    FloorDivision { written: String },
}

impl Habit {
    /// The message, the primary label and the help line.
    pub(crate) fn describe(&self) -> (String, String, String) {
        match self {
            Habit::Power => (
                "`**` is Python's power operator".into(),
                "write `^`".into(),
                "rlc writes a power with `^` (or `pow(x, y)`): `x ^ 2`".into(),
            ),
            Habit::HashComment => (
                "`#` does not start a comment in rlc".into(),
                "write `//`".into(),
                "comments start with `//` and run to the end of the line (or `/* … */`)".into(),
            ),
            Habit::ModulePrefix { prefix, name } => (
                format!("rlc's built-ins have no module prefix: `{prefix}`"),
                format!("write `{name}(…)`"),
                format!(
                    "every built-in function and distribution is available without importing \
                     it: write `{name}(…)`"
                ),
            ),
            Habit::ModuleConstant { written } => {
                let (label, hint) = match written.rsplit('.').next().unwrap_or_default() {
                    "inf" | "Inf" | "infty" => ("write `inf`", "write `inf` (and `-inf`)"),
                    "pi" => (
                        "write `3.141592653589793`",
                        "rlc has no named constants: write the number, `3.141592653589793`",
                    ),
                    "e" => (
                        "write `exp(1.0)`",
                        "rlc has no named constants: write `exp(1.0)` or `2.718281828459045`",
                    ),
                    "nan" | "NaN" | "NAN" => (
                        "rlc has no NaN",
                        "a value that may be missing is a type, `real?`, tested with \
                         `present(…)`",
                    ),
                    _ => (
                        "not rlc",
                        "rlc has no modules; its built-in functions are listed in language.md §12",
                    ),
                };
                (
                    format!("`{written}` is a module's constant, which rlc does not have"),
                    label.to_string(),
                    hint.to_string(),
                )
            }
            Habit::Method { receiver, method } => (
                format!("`{receiver}.{method}(…)` is a method call, which rlc does not have"),
                format!("write `{method}({receiver}, …)`"),
                format!(
                    "functions take the array as their first argument: `{method}({receiver}, …)`, \
                     e.g. `sum(x, axis=1)`"
                ),
            ),
            Habit::Shape { array, dims } => {
                let hint = match dims.as_deref() {
                    Some([only]) => format!("`{array}` has length `{only}`: write `{only}`"),
                    Some(dims) if !dims.is_empty() => {
                        let each: Vec<String> = dims
                            .iter()
                            .enumerate()
                            .map(|(axis, d)| format!("`{array}.shape[{axis}]` is `{d}`"))
                            .collect();
                        format!(
                            "`{array}` has shape [{}]: {}",
                            dims.join(", "),
                            each.join(", ")
                        )
                    }
                    _ => format!(
                        "shapes are declared with size names: with `data {array}: real[T]`, \
                         the length of `{array}` is `T` (declare it with `size T`)"
                    ),
                };
                let label = match dims.as_deref() {
                    Some([only]) => format!("write `{only}`"),
                    _ => "write the size's name".to_string(),
                };
                (
                    format!("`{array}.shape` is NumPy's; rlc's shapes are made of declared sizes"),
                    label,
                    hint,
                )
            }
            Habit::Attribute { written } => (
                format!("`{written}` is an attribute, which rlc values do not have"),
                "not rlc".into(),
                "rlc has no attributes or methods: use the built-in functions of language.md \
                 §12, which take the value as an argument"
                    .into(),
            ),
            Habit::Range { written, rewrite } => (
                format!("`{written}` is Python's `range`"),
                format!("write `{rewrite}`"),
                format!(
                    "`for` and `scan` run over half-open ranges, as `range` does: `for t in \
                     {rewrite} {{ … }}`"
                ),
            ),
            Habit::ForOverArray => (
                "a `for` loop runs over a range of integers".into(),
                "write `lo..hi`".into(),
                "loop over the indices and index the array, `for i in 0..N { … x[i] … }`, or \
                 walk the elements with `scan (c = …; v in x) { … }`"
                    .into(),
            ),
            Habit::StanBounds { written, rewrite } => (
                format!("`{written}` is Stan's way of writing bounds"),
                format!("write `{rewrite}`"),
                format!(
                    "rlc writes bounds after the type: `{rewrite}`; an integer range is \
                     half-open (`in 0..2` is 0 or 1), a parameter's interval is open (`in (0, inf)`), \
                     and data that may equal a bound close that end with a bracket (`in [0, inf)`)"
                ),
            ),
            Habit::ForeignType { written, rewrite } => (
                format!("`{written}` is not an rlc type"),
                format!("write `{rewrite}`"),
                match lost_constraint(written) {
                    Some(constraint) => format!(
                        "rlc's types are `int`, `real` and `bool`, with the dimensions in \
                         brackets after them; `{rewrite}` alone does not keep the constraint: \
                         {constraint}"
                    ),
                    None => format!(
                        "rlc's types are `int`, `real` and `bool`, with the dimensions in \
                         brackets after them: `{rewrite}`"
                    ),
                },
            ),
            Habit::ReadTarget => (
                "the log density cannot be read in a model".into(),
                "Stan's `target()` is not rlc".into(),
                "terms are only added, with `target += …`; `rlc logp` prints the log density \
                 at given parameter values"
                    .into(),
            ),
            Habit::FloorDivision { written } => (
                "`//` starts a comment in rlc, as in Stan and C".into(),
                format!("the expression ends here: `// {written}` is not read"),
                "rlc has no integer division: compute the value in the data (a column such as \
                 `block`), or count it in a `scan` carry"
                    .into(),
            ),
        }
    }
}

/// Prefixes that name a Python module rather than a value.
pub(crate) fn is_module(name: &str) -> bool {
    matches!(
        name,
        "np" | "numpy"
            | "pm"
            | "pymc"
            | "pymc3"
            | "pt"
            | "pytensor"
            | "tt"
            | "at"
            | "aesara"
            | "theano"
            | "tensor"
            | "math"
            | "jnp"
            | "jax"
            | "scipy"
            | "sp"
            | "special"
            | "stats"
            | "torch"
            | "tf"
            | "tfp"
            | "numpyro"
            | "dist"
            | "random"
    )
}

/// How to keep the constraint of one of Stan's constrained types, which rlc
/// does not have.
fn lost_constraint(stan_type: &str) -> Option<&'static str> {
    Some(match stan_type {
        "ordered" => {
            "declare the first value and positive gaps (`param c0`, `param gap: real[J] in (0, \
             inf)`) and add them up with a `scan`, or bound each value by the one before \
             (`param c2 in (c1, inf)`)"
        }
        "positive_ordered" => {
            "declare positive gaps (`param gap: real[K] in (0, inf)`) and add them up with a `scan`"
        }
        "simplex" => {
            "normalize positive values (`param g: real[K] ~ Gamma(alpha, 1)` and `let p = g / \
             sum(g)` is a Dirichlet(alpha) draw), or take the `softmax` of free values"
        }
        "unit_vector"
        | "cov_matrix"
        | "corr_matrix"
        | "cholesky_factor_cov"
        | "cholesky_factor_corr" => {
            "rlc has no constrained matrix types; write the (Cholesky) factor's elements as \
             parameters with the bounds they need"
        }
        _ => return None,
    })
}

/// rlc's element type and whether it is a container with dimensions, for a
/// type name from Stan or Python.
pub(crate) fn foreign_type(name: &str) -> Option<&'static str> {
    Some(match name {
        "vector"
        | "row_vector"
        | "matrix"
        | "simplex"
        | "ordered"
        | "positive_ordered"
        | "unit_vector"
        | "cov_matrix"
        | "corr_matrix"
        | "cholesky_factor_cov"
        | "cholesky_factor_corr"
        | "float"
        | "double"
        | "float64"
        | "number"
        | "num"
        | "complex" => "real",
        "integer" | "long" | "int64" | "int32" | "usize" | "i64" => "int",
        "boolean" | "logical" => "bool",
        _ => return None,
    })
}

/// The help for a token the parser did not expect, when it is a habit:
/// Python's `and`, Stan's `model {` blocks, `for …:` with a colon.
pub(crate) fn unexpected_token_hint(
    previous: Option<&Tok<'_>>,
    found: &Tok<'_>,
    expected: &[String],
) -> Option<String> {
    let expects = |what: &str| expected.iter().any(|e| e == what);
    let hint = match (previous, found) {
        (_, Tok::Ident("and")) => "write `&&` for Python's `and`",
        (_, Tok::Ident("or")) => "write `||` for Python's `or`",
        (_, Tok::Ident("not")) => "write `!` for Python's `not`",
        (_, Tok::Ident("elif")) => "write `else if` for Python's `elif`",
        (_, Tok::Ident("def" | "function" | "lambda")) => {
            "rlc has no user-defined functions: compute values with `let`"
        }
        (_, Tok::Ident("return")) => {
            "a block's value is its last expression; there is no `return`"
        }
        (_, Tok::Ident("import" | "from")) => {
            "there is nothing to import: every built-in function and distribution is always available"
        }
        (_, Tok::Ident("with")) => {
            "there is no model context: the file is the model, with declarations at the top level"
        }
        (_, Tok::Ident("while")) => "loops are `for i in lo..hi { … }` and `scan`",
        (_, Tok::Ident("print")) => {
            "there is no printing: `out x = …` writes a value with every draw"
        }
        (Some(Tok::Ident(block)), Tok::LBrace)
            if matches!(
                *block,
                "model" | "parameters" | "transformed" | "generated" | "functions" | "quantities"
            ) =>
        {
            "rlc has no Stan blocks: declare each value on its own line (`data y: real[N]`, \
             `param mu ~ Normal(0, 1)`) and write the model's statements at the top level"
        }
        (Some(Tok::Data), Tok::LBrace) => {
            "rlc has no Stan blocks: declare each data variable on its own line, `data y: real[N]`"
        }
        (Some(Tok::Data | Tok::Param), Tok::IntType | Tok::RealType | Tok::BoolType) => {
            "the name comes first, then the type: `data y: real[N]`, `param mu: real`"
        }
        (Some(Tok::Data | Tok::Param), Tok::Ident(name)) if foreign_type(name).is_some() => {
            "the name comes first, then the type: `data y: real[N]`, `param mu: real`"
        }
        (_, Tok::Dot) => {
            "a number has digits on both sides of its point (`0.5`, `1.0`), and rlc values \
             have no attributes or methods"
        }
        (_, Tok::Colon) if expects("`{`") => {
            "blocks are written in braces, `for t in 0..T { … }`, not with `:` and indentation"
        }
        (Some(Tok::Ident(_) | Tok::RBracket), Tok::PlusAssign) => {
            "values cannot change: bind a new name (`let x2 = x + 1`); `+=` only adds to \
             `target`"
        }
        _ => return None,
    };
    Some(hint.to_string())
}

/// The help for a character that is no token, when it has a likely meaning.
pub(crate) fn invalid_character_hint(text: &str) -> Option<&'static str> {
    Some(match text.chars().next()? {
        '@' => "the matrix product `a @ b` is written `matmul(a, b)`",
        '%' => "rlc has no remainder operator",
        '\'' | '"' => "rlc has no strings: names are written without quotes",
        '|' => {
            "write `||` for \"or\"; Stan's `normal_lpdf(y | mu, sigma)` is written \
             `sum(logp(Normal(mu, sigma), y))`, or `y ~ Normal(mu, sigma)`"
        }
        '&' => "write `&&` for \"and\"",
        '\\' => {
            "no line continuation is needed: a line ending with an operator, or inside \
             parentheses, continues on the next"
        }
        _ => return None,
    })
}
