//! The fuzzing campaign of rlc (a test-only crate, never published): inputs
//! that a user could type or feed, made by a structure-aware generator and
//! by mutation, driven in-process through the whole pipeline — check →
//! lower → autodiff → JIT → one log density and gradient — on both backends,
//! which must agree. A case *fails* when any stage panics or the JIT and
//! the interpreter disagree; every other outcome (a model error, a data
//! error, a non-finite density on both) is a success, since clear errors
//! are what bad input should get.
//!
//! * `model.rs` writes models from the grammar, typed so that most compile
//!   (declarations, `let`/`out`, `~`, `target +=`, `for`, `scan`, `if`,
//!   reductions with `axis=`, indexing, the built-in functions);
//! * `mutate.rs` mutates text (the bundled `models/*.rlm` and data files,
//!   and generated ones): lines dropped, duplicated and swapped, numbers
//!   replaced by extremes, tokens inserted;
//! * `data.rs` writes Stan-format JSON for a checked model's declarations,
//!   with sizes from 0 up, edge values and values outside the declared
//!   ranges;
//! * `run.rs` runs one case under `catch_unwind` and classifies it.
//!
//! `tests/fuzz.rs` is the campaign (proptest draws the cases); how to run it
//! for hours and turn a finding into a regression test is in
//! `docs/testing.md`. The crate knows the driver's API and nothing of the
//! stages' internals.

pub mod data;
pub mod model;
pub mod mutate;
pub mod run;

/// A small deterministic generator (xorshift64*): a case is its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        // A zero state would stay zero.
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15 | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform in `0..n` (`n` ≥ 1).
    pub fn below(&mut self, n: usize) -> usize {
        ((self.unit() * n as f64) as usize).min(n.saturating_sub(1))
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// One of `items`.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// One input of the pipeline: a model and a data file.
#[derive(Debug, Clone)]
pub struct Case {
    /// How it was made (for the report): `generated`, `mutated rl_hier.rlm`, ….
    pub origin: String,
    pub source: String,
    /// The data file's name (its extension decides the format) and bytes.
    pub data_name: String,
    pub data: Vec<u8>,
}

/// The repository's root.
pub fn workspace() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The bundled models with their data files: `(model name, source, data
/// file name, data bytes)`.
pub fn bundled() -> Vec<(String, String, String, Vec<u8>)> {
    let root = workspace().join("models");
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(&root) else {
        return out;
    };
    let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
    paths.sort();
    for path in paths {
        if path.extension().is_none_or(|e| e != "rlm") {
            continue;
        }
        let Some(stem) = path.file_stem().map(|s| s.to_string_lossy().into_owned()) else {
            continue;
        };
        let Ok(source) = std::fs::read_to_string(&path) else {
            continue;
        };
        for ext in ["csv", "json"] {
            let data_path = root.join("data").join(format!("{stem}.{ext}"));
            if let Ok(bytes) = std::fs::read(&data_path) {
                out.push((
                    format!("{stem}.rlm"),
                    source.clone(),
                    format!("{stem}.{ext}"),
                    bytes,
                ));
                break;
            }
        }
    }
    out
}

/// Makes case `seed`: a generated model with generated data, a mutated
/// bundled model with its own (mutated) data or with generated data, or a
/// mutated generated model.
pub fn make_case(seed: u64, bundled: &[(String, String, String, Vec<u8>)]) -> Case {
    let mut rng = Rng::new(seed);
    let kind = rng.below(10);
    match kind {
        // Generated models: the most varied programs.
        0..=4 => {
            let source = model::generate(&mut rng);
            let source = if rng.chance(0.2) {
                mutate::text(&mut rng, &source)
            } else {
                source
            };
            let data = data::for_source(&mut rng, &source);
            Case {
                origin: format!("generated (seed {seed})"),
                source,
                data_name: "data.json".into(),
                data,
            }
        }
        // A bundled model, mutated or not, with its own data mutated.
        5..=7 if !bundled.is_empty() => {
            let (name, source, data_name, bytes) = rng.pick(bundled).clone();
            let source = if rng.chance(0.7) {
                mutate::text(&mut rng, &source)
            } else {
                source
            };
            let bytes = if rng.chance(0.7) {
                mutate::data_text(&mut rng, &bytes)
            } else {
                bytes
            };
            Case {
                origin: format!("mutated {name} with mutated {data_name} (seed {seed})"),
                source,
                data_name,
                data: bytes,
            }
        }
        // A bundled model with data generated from its declarations.
        _ if !bundled.is_empty() => {
            let (name, source, _, _) = rng.pick(bundled).clone();
            let source = if rng.chance(0.3) {
                mutate::text(&mut rng, &source)
            } else {
                source
            };
            let data = data::for_source(&mut rng, &source);
            Case {
                origin: format!("{name} with generated data (seed {seed})"),
                source,
                data_name: "data.json".into(),
                data,
            }
        }
        _ => {
            let source = model::generate(&mut rng);
            let data = data::for_source(&mut rng, &source);
            Case {
                origin: format!("generated (seed {seed})"),
                source,
                data_name: "data.json".into(),
                data,
            }
        }
    }
}
