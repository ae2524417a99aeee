//! hBayesDM's model regressors (the per-trial quantities its generated quantities compute,
//! `modelRegressor = TRUE`) against hBayesDM's own Stan programs.
//!
//! The ports write them as outs in loops (`out pe[n, t] = …`, computed with
//! `--loop-outs`). `models/hbayesdm/reference/regressors/MODEL.json` (made by
//! `stan_reference.py --regressors`, which needs pystan only to regenerate them) holds
//! Stan's values of the regressors at the points of `reference/MODEL.json`, on the data
//! file that reference names, with the Stan data's `Tsubj` (and `Bsubj`): the trials the
//! program visits. For every reference and both backends, rlc's generated quantities at
//! each point equal Stan's in every cell Stan writes, and rlc's missing cells (NaN) are
//! exactly the cells Stan never writes (where it leaves its fill, the file's `unwritten`:
//! 0, -1 for pstRT's `Q1`, `Q2`, or NaN where its program leaves them unset).
//! Every port with outs written in loops has a reference unless it is in `EXEMPT`.

mod common;

use common::{compile_port as compile, hbayesdm_dir, json_files, load_file, ported_models};
use rlc_driver::{Backend, Density};
use serde_json::Value;
use std::path::PathBuf;

/// Ports with regressors but no Stan reference, and why.
const EXEMPT: &[(&str, &str)] = &[];

/// A cell may differ from Stan's by this much times (1 + |Stan's value|).
const TOLERANCE: f64 = 1e-9;

fn numbers(value: &Value, what: &str) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        // null: a cell Stan's program leaves NaN (never written).
        .map(|x| {
            if x.is_null() {
                f64::NAN
            } else {
                x.as_f64().unwrap_or_else(|| panic!("{what}: not a number"))
            }
        })
        .collect()
}

fn usizes(value: &Value, what: &str) -> Vec<usize> {
    numbers(value, what).iter().map(|&x| x as usize).collect()
}

struct Regressors {
    model: String,
    /// The data file of the reference the points come from.
    data: PathBuf,
    /// Each point's unconstrained coordinates (Stan's and rlc's).
    points: Vec<Vec<f64>>,
    /// Each regressor's name and shape, in the file's order.
    shapes: Vec<(String, Vec<usize>)>,
    /// Per point, per regressor (in `shapes`' order), Stan's values row-major.
    values: Vec<Vec<Vec<f64>>>,
    /// The value Stan's program leaves in the cells it does not write (0; -1 in
    /// pstRT's Q1, Q2; NaN where it sets none).
    unwritten: f64,
    /// Whether Stan's program writes a cell: its trial is within the subject's `Tsubj`
    /// (and block within `Bsubj`).
    written: WrittenCell,
}

/// Whether Stan's program writes the cell at an index (row-major, the regressor's axes).
type WrittenCell = Box<dyn Fn(&[usize]) -> bool>;

fn read_json(path: &PathBuf) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn regressor_references() -> Vec<Regressors> {
    let dir = hbayesdm_dir().join("reference/regressors");
    json_files(&dir)
        .iter()
        .map(|path| {
            let json = read_json(path);
            let model = json["model"].as_str().expect("model").to_string();
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(model.as_str()),
                "{}: named after another model",
                path.display()
            );
            let reference_path = dir.join(json["reference"].as_str().expect("reference"));
            let reference = read_json(&reference_path);
            assert_eq!(reference["model"].as_str(), Some(model.as_str()));
            assert_eq!(
                reference["stan_sha256"], json["stan_sha256"],
                "{model}: the regressors come from another program than the log density's"
            );
            assert!(
                reference["rlc_only"].is_null(),
                "{model}: a reference with coordinates rlc alone has"
            );
            let points: Vec<Vec<f64>> = reference["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| numbers(&p["unconstrained"], &model))
                .collect();
            let shapes: Vec<(String, Vec<usize>)> = json["shapes"]
                .as_object()
                .expect("shapes")
                .iter()
                .map(|(name, shape)| (name.clone(), usizes(shape, name)))
                .collect();
            let values: Vec<Vec<Vec<f64>>> = json["points"]
                .as_array()
                .expect("points")
                .iter()
                .map(|p| {
                    shapes
                        .iter()
                        .map(|(name, shape)| {
                            let v = numbers(&p[name.as_str()], name);
                            assert_eq!(v.len(), shape.iter().product::<usize>(), "{model}: {name}");
                            v
                        })
                        .collect()
                })
                .collect();
            assert_eq!(
                values.len(),
                points.len(),
                "{model}: not as many points as the reference"
            );
            // The cells Stan writes: [N, T, …] within Tsubj[n]; [N, B, T, …] within
            // Bsubj[n] and Tsubj[n, b].
            let written: WrittenCell = if json["Bsubj"].is_null() {
                let tsubj = usizes(&json["Tsubj"], "Tsubj");
                Box::new(move |cell: &[usize]| cell[1] < tsubj[cell[0]])
            } else {
                let bsubj = usizes(&json["Bsubj"], "Bsubj");
                let tsubj: Vec<Vec<usize>> = json["Tsubj"]
                    .as_array()
                    .expect("Tsubj")
                    .iter()
                    .map(|row| usizes(row, "Tsubj"))
                    .collect();
                Box::new(move |cell: &[usize]| {
                    cell[1] < bsubj[cell[0]] && cell[2] < tsubj[cell[0]][cell[1]]
                })
            };
            Regressors {
                data: hbayesdm_dir().join(reference["data"].as_str().expect("data")),
                unwritten: if json["unwritten"].is_null() {
                    f64::NAN
                } else {
                    json["unwritten"].as_f64().expect("unwritten")
                },
                model,
                points,
                shapes,
                values,
                written,
            }
        })
        .collect()
}

/// What differs between rlc's regressors and Stan's on one model and backend.
fn compare(reference: &Regressors, backend: Backend) -> Vec<String> {
    let model = &reference.model;
    let compiled = compile(model)
        .with_loop_outs()
        .unwrap_or_else(|e| panic!("{model}: {}", e.message));
    let data = load_file(&compiled, &reference.data);
    let mut density = Density::new(&compiled, &data, backend).expect("density");
    let mut problems = Vec::new();
    // Where each value starts in the generated quantities: the parameters, then the outs.
    let mut offsets = std::collections::HashMap::new();
    let mut at = 0;
    for p in &density.params {
        at += p.shape.iter().product::<usize>();
    }
    for (name, shape, in_loops) in &density.outs {
        offsets.insert(name.clone(), (at, shape.clone(), *in_loops));
        at += shape.iter().product::<usize>();
    }
    // As sets: the reference's names come sorted.
    let mut loop_outs: Vec<&String> = density.outs.iter().filter(|o| o.2).map(|o| &o.0).collect();
    loop_outs.sort();
    let mut stans: Vec<&String> = reference.shapes.iter().map(|(n, _)| n).collect();
    stans.sort();
    if loop_outs != stans {
        problems.push(format!(
            "{model}: rlc's outs in loops are {loop_outs:?}, Stan's regressors {stans:?}"
        ));
        return problems;
    }
    // The largest difference relative to 1 + |Stan's value|, and the cells compared and
    // found missing in both.
    let (mut worst, mut compared, mut missing) = (0.0f64, 0usize, 0usize);
    for (k, theta) in reference.points.iter().enumerate() {
        if theta.len() != density.dim {
            problems.push(format!(
                "{model}: rlc has {} coordinates, Stan {}",
                density.dim,
                theta.len()
            ));
            return problems;
        }
        let generated = density
            .generated(theta)
            .unwrap_or_else(|e| panic!("{model}, point {k}: {e:?}"));
        assert_eq!(generated.len(), at, "{model}: generated quantities' length");
        for ((name, shape), stan) in reference.shapes.iter().zip(&reference.values[k]) {
            let (start, rlc_shape, _) = &offsets[name];
            if rlc_shape != shape {
                problems.push(format!(
                    "{model}: {name} has shape {rlc_shape:?} in rlc, {shape:?} in Stan"
                ));
                continue;
            }
            let rlc = &generated[*start..*start + stan.len()];
            let mut bad = 0;
            for (flat, (&a, &b)) in rlc.iter().zip(stan).enumerate() {
                let cell = rlc_driver::density::unravel(flat, shape);
                let written = (reference.written)(&cell);
                if written && !a.is_nan() && !b.is_nan() {
                    worst = worst.max((a - b).abs() / (1.0 + b.abs()));
                    compared += 1;
                } else if !written && a.is_nan() {
                    missing += 1;
                }
                let problem = if !written {
                    // Never written by Stan: its fill there, missing in rlc.
                    let fill = reference.unwritten;
                    (!a.is_nan() || !(b == fill || (b.is_nan() && fill.is_nan())))
                        .then(|| format!("not a trial of Stan's: rlc {a}, Stan {b}"))
                } else if a.is_nan() || b.is_nan() {
                    Some(format!("a trial: rlc {a}, Stan {b}"))
                } else {
                    ((a - b).abs() > TOLERANCE * (1.0 + b.abs()))
                        .then(|| format!("rlc {a}, Stan {b}"))
                };
                if let Some(problem) = problem {
                    bad += 1;
                    if bad <= 5 {
                        let index: Vec<String> = cell.iter().map(|i| i.to_string()).collect();
                        problems.push(format!(
                            "{model} ({backend:?}), point {k}: {name}[{}]: {problem}",
                            index.join(", ")
                        ));
                    }
                }
            }
            if bad > 5 {
                problems.push(format!(
                    "{model} ({backend:?}), point {k}: {name}: {bad} cells differ"
                ));
            }
        }
    }
    if problems.is_empty() {
        println!(
            "{model} ({backend:?}): {} equal to Stan's at {} points ({compared} cells, \
             largest difference {worst:.1e} x (1 + |value|); {missing} cells missing in both)",
            stans
                .iter()
                .map(|s| s.as_str())
                .collect::<Vec<_>>()
                .join(", "),
            reference.points.len()
        );
    }
    problems
}

#[test]
fn regressors_equal_stans() {
    let mut problems = Vec::new();
    let references = regressor_references();
    assert!(!references.is_empty(), "no regressor references");
    for reference in &references {
        for backend in [Backend::Jit, Backend::Interp] {
            problems.extend(compare(reference, backend));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Every port with outs written in loops (hBayesDM's regressors) has a reference.
#[test]
fn every_port_with_regressors_has_a_reference() {
    let refs: Vec<String> = regressor_references()
        .into_iter()
        .map(|r| r.model)
        .collect();
    let with_regressors: Vec<String> = ported_models()
        .into_iter()
        .filter(|model| !compile(model).loop_out_names().is_empty())
        .collect();
    let missing: Vec<&String> = with_regressors
        .iter()
        .filter(|m| !refs.contains(m) && !EXEMPT.iter().any(|(e, _)| e == m))
        .collect();
    assert!(
        missing.is_empty(),
        "ports with regressors but no reference/regressors/MODEL.json (make one with \
         stan_reference.py --regressors MODEL, or exempt the model with its reason): {missing:?}"
    );
    let orphans: Vec<&String> = refs
        .iter()
        .filter(|r| !with_regressors.contains(r))
        .collect();
    assert!(
        orphans.is_empty(),
        "references of ports without regressors: {orphans:?}"
    );
    for (model, why) in EXEMPT {
        println!("{model}: no regressor reference: {why}");
    }
    println!("ports with regressors: {}", with_regressors.join(", "));
}
