//! Models written from the grammar: declarations, then statements over
//! typed expressions. The generator tracks each name's element type and
//! shape so that most programs compile and reach lowering, the autodiff and
//! the JIT; a fifth of the choices are deliberately loose (a shape that
//! does not broadcast, an index that may be out of range, `axis=` on a
//! scalar) so the checker's errors are exercised too.

use crate::Rng;

/// An axis length: a size's name or a literal.
type Dim = String;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Int,
    Real,
    Bool,
}

#[derive(Debug, Clone)]
struct Var {
    name: String,
    elem: Elem,
    shape: Vec<Dim>,
    /// Declared `int … in 0..k` with a known `k`: a valid index of an axis of length k.
    int_upper: Option<Dim>,
    optional: bool,
    /// Data (may be observed with `~`).
    is_data: bool,
    positive: bool,
}

struct Gen<'r> {
    rng: &'r mut Rng,
    sizes: Vec<String>,
    vars: Vec<Var>,
    counter: usize,
    /// Loop variables in scope: `(name, the size it ranges over)`.
    loops: Vec<(String, Dim)>,
    /// How deep blocks nest here.
    depth: usize,
}

const UNARY: &[&str] = &[
    "exp(0.1 * {})",
    "log1p(exp({}))",
    "logistic({})",
    "abs({})",
    "sqrt(abs({}) + 1)",
    "Phi({})",
    "Phi_approx({})",
    "lgamma(abs({}) + 1)",
    "log(abs({}) + 0.5)",
    "expm1(0.1 * {})",
    "sin({})",
    "cos({})",
    "tanh({})",
    "log_Phi({})",
    "atan2({}, 1.5)",
    "inv_Phi(logistic({}))",
    "-{}",
];

const REDUCTIONS: &[&str] = &["sum", "mean", "max", "min", "logsumexp", "prod"];

impl Gen<'_> {
    fn fresh(&mut self, prefix: &str) -> String {
        self.counter += 1;
        format!("{prefix}{}", self.counter)
    }

    fn dim(&mut self) -> Dim {
        if !self.sizes.is_empty() && self.rng.chance(0.8) {
            self.rng.pick(&self.sizes).clone()
        } else {
            (1 + self.rng.below(3)).to_string()
        }
    }

    fn shape(&mut self, max_rank: usize) -> Vec<Dim> {
        let rank = self.rng.below(max_rank + 1);
        (0..rank).map(|_| self.dim()).collect()
    }

    fn shape_text(shape: &[Dim]) -> String {
        if shape.is_empty() {
            String::new()
        } else {
            format!("[{}]", shape.join(", "))
        }
    }

    /// A data default of the given axis lengths: nested brackets of number literals.
    fn default_literal(&mut self, lengths: &[usize], positive: bool) -> String {
        match lengths.split_first() {
            None => {
                let v = *self.rng.pick(&[0.5, 1.0, 2.0, 0.25, 1e-3, 10.0, 1e300]);
                let sign = if !positive && self.rng.chance(0.3) {
                    "-"
                } else {
                    ""
                };
                format!("{sign}{v:?}")
            }
            Some((&n, inner)) => {
                let items: Vec<String> = (0..n)
                    .map(|_| self.default_literal(inner, positive))
                    .collect();
                format!("[{}]", items.join(", "))
            }
        }
    }

    fn number(&mut self) -> String {
        let n = *self
            .rng
            .pick(&[0.0, 0.5, 1.0, 2.0, -1.0, 0.25, 3.0, 1e-3, 10.0]);
        if self.rng.chance(0.02) {
            // Extremes, rarely.
            self.rng
                .pick(&["1e300", "-1e300", "1e-300", "0.0"])
                .to_string()
        } else {
            format!("{n:?}")
        }
    }

    /// Variables usable as a value of `shape` (exactly), not optional.
    fn vars_of(&self, shape: &[Dim], numeric: bool) -> Vec<Var> {
        self.vars
            .iter()
            .filter(|v| v.shape == shape && !v.optional && (!numeric || v.elem != Elem::Bool))
            .cloned()
            .collect()
    }

    /// A real expression of `shape` (a scalar broadcasts to any shape).
    fn real(&mut self, shape: &[Dim], depth: usize) -> String {
        let loose = self.rng.chance(0.03);
        if loose {
            // A value of some other shape: the checker's broadcasting errors.
            let other = self.shape(2);
            return self.real(&other, depth.saturating_sub(1));
        }
        if depth == 0 || self.rng.chance(0.25) {
            return self.leaf(shape);
        }
        match self.rng.below(14) {
            0..=2 => {
                let f = self.rng.pick(UNARY).to_string();
                f.replace("{}", &self.real(shape, depth - 1))
            }
            3..=5 => {
                let op = *self.rng.pick(&["+", "-", "*"]);
                let a = self.real(shape, depth - 1);
                let b = self.real(shape, depth - 1);
                format!("({a} {op} {b})")
            }
            6 => {
                let a = self.real(shape, depth - 1);
                let b = self.real(shape, depth - 1);
                format!("({a} / (abs({b}) + 1))")
            }
            7 => {
                // A reduction over an inserted axis.
                let extra = self.dim();
                let at = self.rng.below(shape.len() + 1);
                let mut bigger = shape.to_vec();
                bigger.insert(at, extra);
                let f = *self.rng.pick(REDUCTIONS);
                let inner = self.real(&bigger, depth - 1);
                let axis = if self.rng.chance(0.3) {
                    at as i64 - bigger.len() as i64
                } else {
                    at as i64
                };
                let inner = if f == "prod" {
                    format!("logistic({inner})")
                } else {
                    inner
                };
                format!("{f}({inner}, axis={axis})")
            }
            8 if shape.is_empty() => {
                // A full reduction of an array.
                let s = self.shape(2);
                let f = *self.rng.pick(REDUCTIONS);
                let inner = self.real(&s, depth - 1);
                if self.rng.chance(0.05) {
                    // `axis=` on what may be a scalar (E0116 when it is).
                    format!("{f}({inner}, axis=0)")
                } else {
                    format!("{f}({inner})")
                }
            }
            8 => {
                let f = *self.rng.pick(&["softmax", "log_softmax"]);
                let inner = self.real(shape, depth - 1);
                format!("{f}({inner})")
            }
            9 => {
                let c = self.condition(shape, depth - 1);
                let a = self.real(shape, depth - 1);
                let b = self.real(shape, depth - 1);
                format!("where({c}, {a}, {b})")
            }
            10 => {
                let c = self.condition(&[], depth - 1);
                let a = self.real(shape, depth - 1);
                let b = self.real(shape, depth - 1);
                format!("if {c} {{ {a} }} else {{ {b} }}")
            }
            11 => self.indexed(shape, depth),
            12 if !shape.is_empty() => {
                let f = *self.rng.pick(&["zeros", "ones"]);
                format!("{f}({})", shape.join(", "))
            }
            12 => {
                // Same length only by luck when sizes differ: E0120 otherwise.
                let (d1, d2) = (self.dim(), self.dim());
                let a = self.real(&[d1], depth - 1);
                let b = self.real(&[d2], depth - 1);
                format!("dot({a}, {b})")
            }
            _ => self.scan_value(shape, depth),
        }
    }

    /// A leaf: a variable of the shape, a loop variable or a number.
    fn leaf(&mut self, shape: &[Dim]) -> String {
        let candidates = self.vars_of(shape, true);
        let scalars = self.vars_of(&[], true);
        if !candidates.is_empty() && self.rng.chance(0.7) {
            return self.rng.pick(&candidates).name.clone();
        }
        if !scalars.is_empty() && self.rng.chance(0.5) {
            return self.rng.pick(&scalars).name.clone();
        }
        if !self.loops.is_empty() && self.rng.chance(0.2) {
            return self.rng.pick(&self.loops).0.clone();
        }
        self.number()
    }

    /// An element or row of a bigger variable: `x[i]`, `x[0]`, `x[1:]`.
    fn indexed(&mut self, shape: &[Dim], depth: usize) -> String {
        let bigger: Vec<Var> = self
            .vars
            .iter()
            .filter(|v| {
                v.elem != Elem::Bool
                    && !v.optional
                    && v.shape.len() == shape.len() + 1
                    && v.shape[1..] == *shape
            })
            .cloned()
            .collect();
        if bigger.is_empty() {
            return self.leaf(shape);
        }
        let v = self.rng.pick(&bigger).clone();
        let axis = v.shape[0].clone();
        let loops: Vec<(String, Dim)> = self
            .loops
            .iter()
            .filter(|(_, d)| *d == axis)
            .cloned()
            .collect();
        let index = if !loops.is_empty() && self.rng.chance(0.7) {
            self.rng.pick(&loops).0.clone()
        } else {
            let ints: Vec<Var> = self
                .vars
                .iter()
                .filter(|i| i.elem == Elem::Int && i.shape.is_empty() && !i.optional)
                .filter(|i| i.int_upper.as_ref() == Some(&axis) || self.rng.chance(0.1))
                .cloned()
                .collect();
            if !ints.is_empty() && self.rng.chance(0.5) {
                self.rng.pick(&ints).name.clone()
            } else if self.rng.chance(0.1) {
                // Possibly out of range: E0140, or a run-time index error.
                self.rng.pick(&["1", "-1", "2", "5"]).to_string()
            } else {
                "0".into()
            }
        };
        let _ = depth;
        format!("{}[{index}]", v.name)
    }

    /// A boolean of `shape`: a comparison.
    fn condition(&mut self, shape: &[Dim], depth: usize) -> String {
        let a = self.real(shape, depth.min(1));
        let b = self.real(shape, depth.min(1));
        let op = *self.rng.pick(&[">", "<", ">=", "<=", "==", "!="]);
        format!("({a} {op} {b})")
    }

    /// A scan's stacked carries reduced or indexed to `shape`.
    fn scan_value(&mut self, shape: &[Dim], depth: usize) -> String {
        let seqs: Vec<Var> = self
            .vars
            .iter()
            .filter(|v| v.shape.len() == 1 && v.elem != Elem::Bool)
            .cloned()
            .collect();
        if seqs.is_empty() || self.depth > 3 {
            return self.leaf(shape);
        }
        let seq = self.rng.pick(&seqs).clone();
        let carry = self.fresh("c");
        let item = self.fresh("x");
        let carry_shape: Vec<Dim> = if self.rng.chance(0.5) {
            Vec::new()
        } else {
            vec![(2 + self.rng.below(2)).to_string()]
        };
        let init = if carry_shape.is_empty() {
            self.number()
        } else {
            format!("zeros({})", carry_shape[0])
        };
        self.vars.push(Var {
            name: carry.clone(),
            elem: Elem::Real,
            shape: carry_shape.clone(),
            int_upper: None,
            optional: false,
            is_data: false,
            positive: false,
        });
        self.vars.push(Var {
            name: item.clone(),
            elem: seq.elem,
            shape: Vec::new(),
            int_upper: seq.int_upper.clone(),
            optional: seq.optional,
            is_data: seq.is_data,
            positive: seq.positive,
        });
        self.depth += 1;
        let mut body = String::new();
        if self.rng.chance(0.5) {
            let t = self.real(&[], depth.saturating_sub(1).min(2));
            body.push_str(&format!("    target += -0.01 * {t}\n"));
        }
        let item_present = seq.optional;
        let next = {
            let a = self.real(&carry_shape, depth.saturating_sub(1).min(2));
            if item_present {
                let step = format!("{carry} * 0.9 + 0.1 * {a}");
                // Both ways of testing: the missing case first narrows in the `else`.
                if self.rng.chance(0.5) {
                    format!("if present({item}) {{ {step} }} else {{ {carry} }}")
                } else {
                    format!("if !present({item}) {{ {carry} }} else {{ {step} }}")
                }
            } else {
                let x = if seq.optional {
                    "0.0".to_string()
                } else {
                    item.clone()
                };
                format!("{carry} * 0.9 + 0.1 * ({a} + {x})")
            }
        };
        body.push_str(&format!("    {next}\n"));
        self.depth -= 1;
        self.vars.retain(|v| v.name != carry && v.name != item);
        let scan = format!(
            "scan ({carry} = {init}; {item} in {}) {{\n{body}  }}",
            seq.name
        );
        // The stacked carries have shape [len, carry…]; reduce to `shape`.
        if shape.is_empty() {
            format!("sum({scan})")
        } else if carry_shape.is_empty() && shape.len() == 1 && shape[0] == seq.shape[0] {
            scan
        } else {
            // Broadcast a scalar summary.
            format!("mean({scan})")
        }
    }

    /// A positive real expression (a scale).
    fn positive(&mut self, shape: &[Dim], depth: usize) -> String {
        let x = self.real(shape, depth);
        match self.rng.below(3) {
            0 => format!("exp(0.1 * {x})"),
            1 => format!("(abs({x}) + 0.5)"),
            _ => format!("log1p(exp({x}))"),
        }
    }

    fn declarations(&mut self) -> String {
        let mut src = String::new();
        let n_sizes = self.rng.below(3) + usize::from(self.rng.chance(0.8));
        for name in ["N", "T", "K"].iter().take(n_sizes) {
            src.push_str(&format!("size {name}\n"));
            self.sizes.push(name.to_string());
        }
        for _ in 0..1 + self.rng.below(4) {
            let name = self.fresh("d");
            let shape = self.shape(2);
            let optional = self.rng.chance(0.15);
            let q = if optional { "?" } else { "" };
            let (elem, decl, upper, positive) = match self.rng.below(5) {
                0 => {
                    let k = self.dim();
                    (
                        Elem::Int,
                        format!("int{q}{} in 0..{k}", Self::shape_text(&shape)),
                        Some(k),
                        false,
                    )
                }
                1 => (
                    Elem::Int,
                    format!("int{q}{}", Self::shape_text(&shape)),
                    None,
                    false,
                ),
                2 => (
                    Elem::Bool,
                    format!("bool{q}{}", Self::shape_text(&shape)),
                    None,
                    false,
                ),
                3 => (
                    Elem::Real,
                    format!("real{q}{} in (0, inf)", Self::shape_text(&shape)),
                    None,
                    true,
                ),
                _ => (
                    Elem::Real,
                    format!("real{q}{}", Self::shape_text(&shape)),
                    None,
                    false,
                ),
            };
            // A setting: a default literal where every dimension is a number.
            let lengths: Option<Vec<usize>> = shape.iter().map(|d| d.parse().ok()).collect();
            let default = match lengths {
                Some(lengths) if elem == Elem::Real && !optional && self.rng.chance(0.3) => {
                    format!(" = {}", self.default_literal(&lengths, positive))
                }
                _ => String::new(),
            };
            src.push_str(&format!("data {name}: {decl}{default}\n"));
            self.vars.push(Var {
                name,
                elem,
                shape,
                int_upper: upper,
                optional,
                is_data: true,
                positive,
            });
        }
        for _ in 0..1 + self.rng.below(3) {
            let name = self.fresh("p");
            let shape = self.shape(1);
            let (prior, positive) = match self.rng.below(6) {
                0 => ("Normal(0, 1)", false),
                1 => ("HalfNormal(1)", true),
                2 => ("Beta(2, 2)", true),
                3 => ("StudentT(3, 0, 1)", false),
                4 => ("Exponential(1)", true),
                _ => ("Cauchy(0, 1)", false),
            };
            let ty = if shape.is_empty() {
                String::new()
            } else {
                format!(": real{}", Self::shape_text(&shape))
            };
            src.push_str(&format!("param {name}{ty} ~ {prior}\n"));
            self.vars.push(Var {
                name,
                elem: Elem::Real,
                shape,
                int_upper: None,
                optional: false,
                is_data: false,
                positive,
            });
        }
        src
    }

    /// An observation of a data variable, or `target +=`.
    fn observe(&mut self, indent: &str) -> String {
        let data: Vec<Var> = self.vars.iter().filter(|v| v.is_data).cloned().collect();
        if data.is_empty() || self.rng.chance(0.2) {
            let t = self.real(&[], 3);
            return format!("{indent}target += {t}\n");
        }
        let y = self.rng.pick(&data).clone();
        let dist = match (y.elem, &y.int_upper) {
            (Elem::Bool, _) => format!("Bernoulli(logits = {})", self.real(&y.shape, 2)),
            (Elem::Int, Some(k)) if self.rng.chance(0.6) => {
                let mut logits_shape = y.shape.clone();
                logits_shape.push(k.clone());
                format!("Categorical(logits = {})", self.real(&logits_shape, 2))
            }
            (Elem::Int, _) => match self.rng.below(3) {
                0 => format!("Poisson(log_rate = {})", self.real(&y.shape, 2)),
                1 => format!("Binomial(10, logits = {})", self.real(&y.shape, 2)),
                _ => format!("Poisson({})", self.positive(&y.shape, 2)),
            },
            (Elem::Real, _) if y.positive => match self.rng.below(5) {
                4 => {
                    // Two accumulators' drifts along a last axis; a constant response
                    // (which a forward run refuses: it is no place to draw into).
                    let mut drifts = y.shape.clone();
                    drifts.push("2".to_string());
                    format!(
                        "LBA({}, {}, {}, {}, {}, response = {})",
                        self.positive(&y.shape, 1),
                        self.positive(&y.shape, 1),
                        self.real(&drifts, 2),
                        self.positive(&y.shape, 1),
                        self.positive(&y.shape, 1),
                        self.rng.below(2)
                    )
                }
                3 => format!(
                    "Wald({}, {})",
                    self.positive(&y.shape, 1),
                    self.positive(&y.shape, 1)
                ),
                0 => format!("Exponential({})", self.positive(&y.shape, 2)),
                1 => format!(
                    "Gamma({}, {})",
                    self.positive(&y.shape, 1),
                    self.positive(&y.shape, 1)
                ),
                _ => format!(
                    "LogNormal({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
            },
            (Elem::Real, _) => match self.rng.below(10) {
                7 => format!(
                    "Logistic({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
                8 => format!(
                    "Laplace({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
                9 => format!(
                    "Gumbel({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
                4 => format!(
                    "VonMises({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
                5 => format!(
                    "ExGaussian({}, {}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1),
                    self.positive(&y.shape, 1)
                ),
                6 => format!(
                    "SkewNormal({}, {}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1),
                    self.real(&y.shape, 1)
                ),
                0 => format!(
                    "StudentT(3, {}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
                1 => format!(
                    "Cauchy({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&[], 1)
                ),
                2 => format!(
                    "Uniform({}, {})",
                    self.rng.pick(&["-1e3", "0", "-5"]),
                    self.rng.pick(&["1e3", "1", "5"])
                ),
                _ => format!(
                    "Normal({}, {})",
                    self.real(&y.shape, 2),
                    self.positive(&y.shape, 1)
                ),
            },
        };
        if y.optional && y.shape.is_empty() {
            return format!(
                "{indent}if present({}) {{\n{indent}  {} ~ {dist}\n{indent}}}\n",
                y.name, y.name
            );
        }
        format!("{indent}{} ~ {dist}\n", y.name)
    }

    fn statement(&mut self, indent: &str) -> String {
        match self.rng.below(10) {
            0..=2 => {
                let name = self.fresh("v");
                let shape = self.shape(2);
                let value = self.real(&shape, 3);
                let keyword = if self.depth == 0 && self.rng.chance(0.3) {
                    "out"
                } else {
                    "let"
                };
                self.vars.push(Var {
                    name: name.clone(),
                    elem: Elem::Real,
                    shape,
                    int_upper: None,
                    optional: false,
                    is_data: false,
                    positive: false,
                });
                format!("{indent}{keyword} {name} = {value}\n")
            }
            3..=5 => self.observe(indent),
            6 | 7 if self.depth < 3 && !self.sizes.is_empty() => {
                // A loop over a size: the arrays with that first axis are
                // indexed by the loop variable inside.
                let size = self.rng.pick(&self.sizes).clone();
                let var = self.fresh("i");
                self.loops.push((var.clone(), size.clone()));
                self.depth += 1;
                let saved = self.vars.clone();
                let inner = format!("{indent}  ");
                let mut body = String::new();
                for _ in 0..1 + self.rng.below(2) {
                    body.push_str(&self.statement(&inner));
                }
                self.vars = saved;
                self.depth -= 1;
                self.loops.pop();
                format!("{indent}for {var} in 0..{size} {{\n{body}{indent}}}\n")
            }
            _ => {
                let t = self.real(&[], 3);
                format!("{indent}target += {t}\n")
            }
        }
    }
}

/// A model from the grammar (see the module doc).
pub fn generate(rng: &mut Rng) -> String {
    let mut g = Gen {
        rng,
        sizes: Vec::new(),
        vars: Vec::new(),
        counter: 0,
        loops: Vec::new(),
        depth: 0,
    };
    let mut src = g.declarations();
    for _ in 0..1 + g.rng.below(5) {
        src.push_str(&g.statement(""));
    }
    src
}
