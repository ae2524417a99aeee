//! Check errors as typed values. Each variant keeps the spans and facts
//! (both shapes, the ranges) and becomes a plain [`Diagnostic`] in
//! [`CheckError::to_diagnostic`], the only place their wording lives.
//! Codes are explained in `docs/errors.md`.

use crate::builtins;
use crate::dim::{shape_to_string, Dim};
use crate::model::SymbolId;
use crate::types::{IntRange, ShapeOrigin, Type};
use rlc_syntax::ast::Span;
use rlc_syntax::{Diagnostic, Label};

/// One side of a broadcast: where it is, its shape, where the shape came from.
#[derive(Debug, Clone, PartialEq)]
pub struct Operand {
    pub span: Span,
    pub shape: Vec<Dim>,
    pub origin: Option<ShapeOrigin>,
}

/// How to handle a possibly-missing value, for the hint of E0150.
#[derive(Debug, Clone, PartialEq)]
pub enum MissingValueFix {
    /// Test the optional names (all those of the loop) with `present`; in a
    /// scan body, the `else` branch keeps the `carry`.
    Test {
        names: Vec<String>,
        carry: Option<String>,
    },
    /// An element of an optional array (`choice[t]`): test it where it is used
    /// (or bind it to a name and test that).
    Bind {
        text: String,
        binding: String,
        carry: Option<String>,
    },
    /// An optional array: test its elements one by one in a loop.
    Array { name: String, length: String },
    /// No name to test.
    Unnamed,
}

impl MissingValueFix {
    fn hint(&self) -> String {
        let keep_carry = |carry: &str| {
            format!(
                " else {{ {carry} }}`: the `else` branch must give the carry `{carry}` unchanged, \
                 so that a missing trial leaves the learning state as it was"
            )
        };
        match self {
            MissingValueFix::Test { names, carry } => {
                let tests: Vec<String> = names.iter().map(|n| format!("present({n})")).collect();
                let test = format!("if {} {{ … }}", tests.join(" && "));
                match carry {
                    Some(c) => format!(
                        "in a scan, test every value of the step that may be missing: `{test}{}",
                        keep_carry(c)
                    ),
                    None => format!(
                        "handle the missing case: `{test}` (with an `else` branch where the `if` \
                         must give a value)"
                    ),
                }
            }
            MissingValueFix::Bind {
                text,
                binding,
                carry,
            } => {
                let test = format!("if present({text}) {{ … }}");
                match carry {
                    Some(c) => format!(
                        "test the element before using it, with the same indices: `{test}{}",
                        keep_carry(c)
                    ),
                    None => format!(
                        "test the element before using it, with the same indices: `{test}` \
                         (or bind it, `let {binding} = {text}`, and test `present({binding})`)"
                    ),
                }
            }
            MissingValueFix::Array { name, length } => format!(
                "`{name}` is an array whose elements may be missing: test them one by one, \
                 `for i in 0..{length} {{ let v = {name}[i]; if present(v) {{ … }} }}`"
            ),
            MissingValueFix::Unnamed => {
                "bind it to a name with `let` and test it with `present(…)`".to_string()
            }
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum CheckError {
    UnknownName {
        span: Span,
        name: String,
        suggestion: Option<String>,
        /// How rlc spells it, for a name from another language (`True`).
        foreign: Option<String>,
        /// Its other uses: one error per name.
        other_uses: Vec<Span>,
        /// A model-level declaration of the name below its first use.
        declared_later: Option<Span>,
    },
    /// A name used as a size (a dimension, a range end, `zeros(T)`) that is
    /// not declared.
    UndeclaredSize {
        span: Span,
        name: String,
        other_uses: Vec<Span>,
        /// A declared size with a similar name.
        suggestion: Option<String>,
        /// Its declaration, below its first use.
        declared_later: Option<Span>,
    },
    Duplicate {
        span: Span,
        name: String,
        previous: Span,
    },
    UnknownFunction {
        span: Span,
        name: String,
        suggestion: Option<String>,
        /// How rlc spells it, for a function from another language.
        foreign: Option<String>,
        is_distribution: bool,
    },
    UnknownDistribution {
        span: Span,
        name: String,
        suggestion: Option<String>,
        /// How rlc spells it, for a distribution from another language.
        foreign: Option<String>,
        is_function: bool,
    },
    WrongArity {
        span: Span,
        callee: String,
        expected: String,
        found: usize,
    },
    UnknownArgument {
        span: Span,
        callee: String,
        argument: String,
        accepted: Vec<String>,
        suggestion: Option<String>,
        /// How rlc names another library's argument (PyMC's `nu` of `ExGaussian`).
        foreign: Option<&'static str>,
    },
    MissingArgument {
        span: Span,
        callee: String,
        argument: String,
    },
    BadOption {
        span: Span,
        option: &'static str,
        reason: String,
    },
    /// `axis=` given to a reduction of a scalar (or a size), which has no axes.
    AxisOfScalar {
        span: Span,
        argument: Span,
        function: String,
    },
    BroadcastMismatch {
        span: Span,
        operation: String,
        left: Operand,
        right: Operand,
        hint: Option<String>,
    },
    ShapeMismatch {
        span: Span,
        context: String,
        expected: Vec<Dim>,
        found: Vec<Dim>,
        expected_from: Option<ShapeOrigin>,
        hint: Option<String>,
    },
    ScanLengthMismatch {
        span: Span,
        sequences: Vec<(Span, String, Dim)>,
    },
    ScanCarryChanged {
        span: Span,
        init_span: Span,
        carry: Type,
        body: Type,
        hint: Option<String>,
    },
    BackwardsRange {
        span: Span,
        range: IntRange,
    },
    MissingValue {
        span: Span,
        context: String,
        hint: Option<String>,
    },
    IndexOutOfRange {
        span: Span,
        range: IntRange,
        axis: usize,
        axis_len: Dim,
        base_span: Span,
        base_type: Type,
        hint: Option<String>,
        /// The data variable whose declared range the index's range is.
        declared: Option<SymbolId>,
        /// How many more indices from the same declaration run past an axis
        /// of the same length (reported once, here).
        repeats: usize,
    },
    NonIntegerIndex {
        span: Span,
        found: Type,
    },
    TooManyIndices {
        span: Span,
        base_span: Span,
        base_type: Type,
        count: usize,
    },
    NonStaticSlice {
        span: Span,
    },
    OptionalUsed {
        span: Span,
        name: Option<String>,
        found: Type,
        declared: Option<Span>,
        /// The variable's other uses in the same loop.
        other_uses: Vec<Span>,
        fix: MissingValueFix,
    },
    ObservedDependsOnParam {
        span: Span,
        /// The names involved, and whether each is itself a parameter.
        params: Vec<(String, Span, bool)>,
        is_declared_param: Option<String>,
    },
    DiscretePrior {
        span: Span,
        distribution: String,
    },
    /// A distribution argument whose value is known when compiling and
    /// outside what the distribution allows (`HalfNormal(-10)`).
    ArgumentOutsideRange {
        span: Span,
        distribution: &'static str,
        /// The argument names of the parameterization used, for the hint.
        parameterization: &'static [&'static str],
        argument: &'static str,
        /// What the argument must be: "> 0", "in [0, 1]".
        requirement: String,
        /// What it is: `it is -10`, `its element [1] is -0.5`.
        found: String,
        /// The argument the requirement refers to (`lower` for `upper`).
        other: Option<(Span, &'static str)>,
    },
    /// A parameter with a flat prior on an unbounded support that no term
    /// of the log density depends on: the posterior is improper.
    ImproperPosterior {
        span: Span,
        name: String,
        /// The support the flat prior is on: "the real line", "(0, inf)".
        support: String,
        /// Where it is used (by an `out`, or a `let` that no term uses).
        used: Option<Span>,
        /// A proper prior for the hint: `HalfNormal(1)` on `(0, inf)`.
        example_prior: &'static str,
    },
    BoundsOutsideSupport {
        span: Span,
        bounds: String,
        distribution: String,
        support: String,
    },
    TypeMismatch {
        span: Span,
        context: String,
        expected: String,
        found: Type,
        hint: Option<String>,
    },
    NotASizeExpression {
        span: Span,
        context: String,
    },
    /// `size K = max(x)` where `x` cannot give a size.
    SizeFromData {
        span: Span,
        message: String,
        label: String,
        hint: String,
    },
    NotAllowedHere {
        span: Span,
        what: String,
        hint: Option<String>,
    },
    OutcomeOutsideSupport {
        span: Span,
        range: IntRange,
        support: String,
        hint: Option<String>,
    },
    UnusedValue {
        span: Span,
    },
    /// A loop statement that observes nothing and whose value is unused.
    NoEffect {
        span: Span,
    },
    /// A data declaration that no expression reads.
    UnusedData {
        span: Span,
        name: String,
    },
}

fn dims(shape: &[Dim]) -> String {
    shape_to_string(shape)
}

fn operand_label(operand: &Operand) -> Label {
    let shape = dims(&operand.shape);
    match &operand.origin {
        Some(origin) if origin.span == operand.span => Label::secondary(
            operand.span,
            format!("this has shape {shape}: {}", origin.note),
        ),
        _ => Label::secondary(operand.span, format!("this has shape {shape}")),
    }
}

fn with_hint(d: Diagnostic, hint: &Option<String>) -> Diagnostic {
    match hint {
        Some(h) => d.with_hint(h.clone()),
        None => d,
    }
}

/// A name used above its declaration: where it is declared, and the fix.
fn moved_up(d: Diagnostic, name: &str, declaration: Span) -> Diagnostic {
    d.with_label(Label::secondary(
        declaration,
        "declared here, below its first use",
    ))
    .with_hint(format!(
        "declarations are read in order: move the declaration of `{name}` above its first use"
    ))
}

/// The other uses of a name an error is about, as secondary labels.
fn also_used_here(mut d: Diagnostic, other_uses: &[Span]) -> Diagnostic {
    for span in other_uses {
        d = d.with_label(Label::secondary(*span, "also used here"));
    }
    d
}

fn did_you_mean(suggestion: &Option<String>) -> Option<String> {
    suggestion.as_ref().map(|s| format!("did you mean `{s}`?"))
}

impl CheckError {
    pub fn to_diagnostic(&self) -> Diagnostic {
        use CheckError as E;
        match self {
            E::UnknownName {
                span,
                name,
                suggestion,
                foreign,
                other_uses,
                declared_later,
            } => {
                let message = match declared_later {
                    Some(_) => format!("`{name}` is used before it is declared"),
                    None => format!("unknown name `{name}`"),
                };
                let d = also_used_here(
                    Diagnostic::error("E0101", message)
                        .with_label(Label::primary(*span, "not declared before this point")),
                    other_uses,
                );
                match declared_later {
                    Some(later) => moved_up(d, name, *later),
                    None => with_hint(d, &foreign.clone().or_else(|| did_you_mean(suggestion))),
                }
            }
            E::UndeclaredSize {
                span,
                name,
                other_uses,
                suggestion,
                declared_later,
            } => {
                let message = match declared_later {
                    Some(_) => format!("the size `{name}` is used before it is declared"),
                    None => format!("`{name}` is not declared"),
                };
                let d = also_used_here(
                    Diagnostic::error("E0103", message)
                        .with_label(Label::primary(*span, "used as a size here")),
                    other_uses,
                );
                let declare = format!("declare it before its first use: `size {name}`");
                match (declared_later, suggestion) {
                    (Some(later), _) => moved_up(d, name, *later),
                    (None, Some(s)) => {
                        d.with_hint(format!("did you mean the size `{s}`? If not, {declare}"))
                    }
                    (None, None) => d.with_hint(declare),
                }
            }
            E::Duplicate {
                span,
                name,
                previous,
            } => Diagnostic::error("E0102", format!("`{name}` is declared twice"))
                .with_label(Label::primary(*span, "declared again here"))
                .with_label(Label::secondary(*previous, "first declared here"))
                .with_hint("give the second one another name"),
            E::UnknownFunction {
                span,
                name,
                suggestion,
                foreign,
                is_distribution,
            } => {
                let d = Diagnostic::error("E0110", format!("unknown function `{name}`"))
                    .with_label(Label::primary(*span, "no built-in function has this name"));
                if let Some(foreign) = foreign {
                    d.with_hint(foreign.clone())
                } else if *is_distribution {
                    d.with_hint(format!(
                        "`{name}` is a distribution: use it on the right of `~` (`x ~ {name}(…)`), or score a value with `logp({name}(…), x)`"
                    ))
                } else {
                    with_hint(d, &did_you_mean(suggestion))
                }
            }
            E::UnknownDistribution {
                span,
                name,
                suggestion,
                foreign,
                is_function,
            } => {
                let d = Diagnostic::error("E0111", format!("unknown distribution `{name}`"))
                    .with_label(Label::primary(*span, "no built-in distribution has this name"));
                if let Some(foreign) = foreign {
                    d.with_hint(foreign.clone())
                } else if *is_function {
                    d.with_hint(format!("`{name}` is a function, not a distribution; to add an arbitrary term to the log density write `target += …`"))
                } else {
                    with_hint(d, &did_you_mean(suggestion))
                }
            }
            E::WrongArity {
                span,
                callee,
                expected,
                found,
            } => {
                let d = Diagnostic::error(
                    "E0112",
                    format!("`{callee}` takes {expected}, but {found} were given"),
                )
                .with_label(Label::primary(*span, format!("{found} arguments")));
                // NumPy's and Stan's habit: `min(a, b)` for the smaller of two values.
                match callee.as_str() {
                    "min" | "max" if *found >= 2 => {
                        let (cmp, which) = if callee == "min" { ("<", "smaller") } else { (">", "larger") };
                        d.with_hint(format!(
                            "`{callee}` reduces one array (NumPy's `np.{callee}`); the {which} of two values is `where(a {cmp} b, a, b)` (elementwise), or `{callee}([a, b])` for two scalars"
                        ))
                    }
                    _ => d,
                }
            }
            E::UnknownArgument {
                span,
                callee,
                argument,
                accepted,
                suggestion,
                foreign,
            } => {
                let d = Diagnostic::error(
                    "E0113",
                    format!("`{callee}` has no argument named `{argument}`"),
                )
                .with_label(Label::primary(*span, "unknown argument"));
                match (foreign, did_you_mean(suggestion)) {
                    (Some(h), _) => d.with_hint(format!(
                        "{h}; `{callee}` takes: {}",
                        accepted.join(", ")
                    )),
                    (None, Some(h)) => d.with_hint(h),
                    (None, None) => {
                        d.with_hint(format!("`{callee}` takes: {}", accepted.join(", ")))
                    }
                }
            }
            E::MissingArgument {
                span,
                callee,
                argument,
            } => Diagnostic::error(
                "E0114",
                format!("`{callee}` is missing its argument `{argument}`"),
            )
            .with_label(Label::primary(*span, format!("`{argument}` is not given"))),
            E::BadOption {
                span,
                option,
                reason,
            } => Diagnostic::error("E0115", format!("invalid `{option}=`: {reason}"))
                .with_label(Label::primary(*span, reason.clone())),
            E::AxisOfScalar {
                span,
                argument,
                function,
            } => Diagnostic::error(
                "E0116",
                format!("`{function}` over an axis of a scalar: a scalar has no axes"),
            )
            .with_label(Label::primary(*span, "there is no axis to reduce"))
            .with_label(Label::secondary(*argument, "this is a scalar"))
            .with_hint(format!(
                "remove `axis=`: `{function}` of a scalar is the scalar itself"
            )),
            E::BroadcastMismatch {
                span,
                operation,
                left,
                right,
                hint,
            } => {
                let mut d = Diagnostic::error(
                    "E0120",
                    format!(
                        "shapes {} and {} cannot be broadcast together in {operation}",
                        dims(&left.shape),
                        dims(&right.shape)
                    ),
                )
                .with_label(Label::primary(*span, "these operands do not broadcast"))
                .with_label(operand_label(left))
                .with_label(operand_label(right));
                for operand in [left, right] {
                    if let Some(origin) = operand.origin.as_ref().filter(|o| o.span != operand.span) {
                        d = d.with_label(Label::secondary(origin.span, origin.note.clone()));
                    }
                }
                with_hint(d, hint)
            }
            E::ShapeMismatch {
                span,
                context,
                expected,
                found,
                expected_from,
                hint,
            } => {
                let mut d = Diagnostic::error(
                    "E0121",
                    format!(
                        "{context}: expected shape {}, found {}",
                        dims(expected),
                        dims(found)
                    ),
                )
                .with_label(Label::primary(
                    *span,
                    format!("this has shape {}", dims(found)),
                ));
                if let Some(origin) = expected_from {
                    d = d.with_label(Label::secondary(origin.span, origin.note.clone()));
                }
                with_hint(d, hint)
            }
            E::ScanLengthMismatch { span, sequences } => {
                let mut d = Diagnostic::error(
                    "E0130",
                    "the sequences of this scan have different lengths",
                )
                .with_label(Label::primary(*span, "scan over sequences of unequal length"));
                for (seq_span, name, len) in sequences {
                    d = d.with_label(Label::secondary(
                        *seq_span,
                        format!("`{name}` has length {len}"),
                    ));
                }
                d.with_hint("slice the sequences to one length, e.g. `x[1:]` and `y[:-1]`")
            }
            E::ScanCarryChanged {
                span,
                init_span,
                carry,
                body,
                hint,
            } => with_hint(
                Diagnostic::error(
                    "E0131",
                    format!("the scan body changes the carry from {carry} to {body}"),
                )
                .with_label(Label::primary(*span, format!("the next carry is {body}")))
                .with_label(Label::secondary(
                    *init_span,
                    format!("the carry starts as {carry}"),
                )),
                hint,
            ),
            E::BackwardsRange { span, range } => Diagnostic::error(
                "E0133",
                format!("the range {range} runs backwards"),
            )
            .with_label(Label::primary(*span, "its end is before its start"))
            .with_hint("ranges count up: write `lo..hi` with lo <= hi"),
            E::MissingValue {
                span,
                context,
                hint,
            } => with_hint(
                Diagnostic::error("E0132", format!("{context} has no value"))
                    .with_label(Label::primary(*span, "a value is needed here")),
                hint,
            ),
            E::IndexOutOfRange {
                span,
                range,
                axis,
                axis_len,
                base_span,
                base_type,
                hint,
                repeats,
                ..
            } => with_hint(
                Diagnostic::error(
                    "E0140",
                    format!("index out of range: axis {axis} has length {axis_len}"),
                )
                .with_label(Label::primary(
                    *span,
                    match repeats {
                        0 => format!("this index is in {range}"),
                        1 => format!("this index is in {range}, as is 1 more like it"),
                        n => format!("this index is in {range}, as are {n} more like it"),
                    },
                ))
                .with_label(Label::secondary(
                    *base_span,
                    format!("this has type {base_type}"),
                )),
                hint,
            ),
            E::NonIntegerIndex { span, found } => Diagnostic::error(
                "E0141",
                format!("an index must be an integer, found {found}"),
            )
            .with_label(Label::primary(*span, format!("this is {found}"))),
            E::TooManyIndices {
                span,
                base_span,
                base_type,
                count,
            } => Diagnostic::error(
                "E0142",
                format!(
                    "{count} indices for a value with {} dimensions",
                    base_type.shape.len()
                ),
            )
            .with_label(Label::primary(*span, "too many indices"))
            .with_label(Label::secondary(
                *base_span,
                format!("this has type {base_type}"),
            )),
            E::NonStaticSlice { span } => Diagnostic::error(
                "E0143",
                "slice bounds must be integer constants or size expressions",
            )
            .with_label(Label::primary(*span, "the length of this slice is not known when compiling"))
            .with_hint("use a gather index (`x[arange(n)]`) or `where` for data-dependent selections"),
            E::OptionalUsed {
                span,
                name,
                found,
                declared,
                other_uses,
                fix,
            } => {
                let what = name
                    .as_ref()
                    .map(|n| format!("`{n}`"))
                    .unwrap_or_else(|| "this value".to_string());
                let mut d = Diagnostic::error(
                    "E0150",
                    format!("{what} may be missing ({found}) and is used without `present`"),
                )
                .with_label(Label::primary(*span, format!("{what} may be missing here")));
                for other in other_uses {
                    d = d.with_label(Label::secondary(*other, "also used here without `present`"));
                }
                if let Some(decl) = declared {
                    d = d.with_label(Label::secondary(*decl, "declared optional here"));
                }
                d.with_hint(fix.hint())
            }
            E::ObservedDependsOnParam {
                span,
                params,
                is_declared_param,
            } => {
                let mut d = Diagnostic::error(
                    "E0160",
                    "the left side of `~` depends on a parameter",
                )
                .with_label(Label::primary(*span, "this must be observed data"));
                for (name, decl, is_param) in params {
                    let note = if *is_param {
                        format!("`{name}` is a parameter")
                    } else {
                        format!("`{name}` depends on a parameter")
                    };
                    d = d.with_label(Label::secondary(*decl, note));
                }
                match is_declared_param {
                    Some(name) => d.with_hint(format!(
                        "priors belong to the declaration: write `param {name} ~ Dist(…)` (with its type) instead of a separate `{name} ~ …` statement"
                    )),
                    None => d.with_hint("to score a value that depends on parameters, write `target += sum(logp(Dist(…), value))`"),
                }
            }
            E::DiscretePrior { span, distribution } => Diagnostic::error(
                "E0161",
                format!("`{distribution}` is a discrete distribution and cannot be a parameter's prior"),
            )
            .with_label(Label::primary(*span, "parameters are continuous"))
            .with_hint("discrete unknowns must be marginalized out with `target += logsumexp(…)`"),
            E::ArgumentOutsideRange {
                span,
                distribution,
                parameterization,
                argument,
                requirement,
                found,
                other,
            } => {
                let mut d = Diagnostic::error(
                    "E0164",
                    format!("`{argument}` of {distribution} must be {requirement}, but {found}"),
                )
                .with_label(Label::primary(
                    *span,
                    format!("`{argument}` must be {requirement}"),
                ));
                if let Some((other_span, other_name)) = other {
                    d = d.with_label(Label::secondary(*other_span, format!("this is `{other_name}`")));
                }
                let needs: Vec<String> = builtins::distribution(distribution)
                    .map(|sig| {
                        parameterization
                            .iter()
                            .filter_map(|n| Some(format!("{n} {}", sig.range(n)?.describe())))
                            .collect()
                    })
                    .unwrap_or_default();
                d.with_hint(format!(
                    "`{distribution}({})` needs {} (as in Stan's functions reference)",
                    parameterization.join(", "),
                    needs.join(", ")
                ))
            }
            E::ImproperPosterior {
                span,
                name,
                support,
                used,
                example_prior,
            } => {
                let mut d = Diagnostic::error(
                    "E0165",
                    format!("the posterior is improper: nothing in the log density depends on `{name}`"),
                )
                .with_label(Label::primary(
                    *span,
                    format!("`{name}` has a flat prior on {support}, and no `~` or `target +=` uses it"),
                ));
                if let Some(used) = used {
                    d = d.with_label(Label::secondary(
                        *used,
                        "used here, but this adds nothing to the log density",
                    ));
                }
                d.with_hint(format!(
                    "give `{name}` a prior: end its declaration with `~ {example_prior}`; or use it \
                     in the model, in a `~` statement or `target += …` (an `out` alone does not \
                     count)"
                ))
            }
            E::BoundsOutsideSupport {
                span,
                bounds,
                distribution,
                support,
            } => Diagnostic::error(
                "E0162",
                format!("the bounds {bounds} are wider than the support {support} of `{distribution}`"),
            )
            .with_label(Label::primary(*span, "outside the prior's support"))
            .with_hint(format!("remove the bounds: `{distribution}` already constrains the parameter to {support}")),
            E::TypeMismatch {
                span,
                context,
                expected,
                found,
                hint,
            } => with_hint(
                Diagnostic::error(
                    "E0170",
                    format!("{context}: expected {expected}, found {found}"),
                )
                .with_label(Label::primary(*span, format!("this is {found}"))),
                hint,
            ),
            E::NotASizeExpression { span, context } => Diagnostic::error(
                "E0171",
                format!("{context} must be a size expression"),
            )
            .with_label(Label::primary(*span, "not known when the model is compiled"))
            .with_hint("use integer literals and declared sizes with `+`, `-` and `*`, e.g. `T - 1`"),
            E::SizeFromData {
                span,
                message,
                label,
                hint,
            } => Diagnostic::error("E0172", message.clone())
                .with_label(Label::primary(*span, label.clone()))
                .with_hint(hint.clone()),
            E::NotAllowedHere { span, what, hint } => with_hint(
                Diagnostic::error("E0180", format!("{what} is not allowed here"))
                    .with_label(Label::primary(*span, "not allowed here")),
                hint,
            ),
            E::OutcomeOutsideSupport {
                span,
                range,
                support,
                hint,
            } => with_hint(
                Diagnostic::error(
                    "E0163",
                    format!("observed values in {range} fall outside the distribution's support {support}"),
                )
                .with_label(Label::primary(*span, format!("this is in {range}"))),
                hint,
            ),
            E::UnusedData { span, name } => {
                Diagnostic::warning("W0103", format!("data `{name}` is never used"))
                    .with_label(Label::primary(*span, "declared here and read nowhere"))
                    .with_hint(format!(
                        "the model does not depend on `{name}`: use it (a `~` that observes it, or a value computed from it), or remove the declaration"
                    ))
            }
            E::UnusedValue { span } => Diagnostic::warning("W0101", "this value is never used")
                .with_label(Label::primary(*span, "computed and discarded"))
                .with_hint("bind it with `let`, or observe it with `~`"),
            E::NoEffect { span } => Diagnostic::warning("W0102", "this loop has no effect")
                .with_label(Label::primary(
                    *span,
                    "nothing in it is observed with `~` or added with `target +=`",
                ))
                .with_hint(
                    "a loop statement runs for its `~` and `target +=`; this one is skipped \
                     (and its indices are never checked): add what it should observe, bind \
                     its value with `let`, or remove it",
                ),
        }
    }
}
