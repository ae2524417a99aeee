//! Every hBayesDM model in `models/hbayesdm/` against hBayesDM's own Stan program.
//!
//! `models/hbayesdm/reference/MODEL.json` holds Stan's log density
//! (`log_prob(adjust_transform=True)`) and gradient at points of the unconstrained space,
//! on the data file the reference names (made by `models/hbayesdm/stan_reference.py`,
//! which needs pystan only to regenerate them). For every reference and both backends,
//! rlc's log density minus Stan's is the same constant at every point (Stan drops
//! normalizing constants; rlc keeps them) and the gradients are equal. Every model has a
//! reference unless it is in `EXEMPT` with the reason. `MODEL.VARIANT.json` is a further
//! reference of the model on another data file, one that sets the model's settings
//! (hBayesDM's arguments) to other values than their defaults: both programs read them
//! from that file. Where hBayesDM's example data file
//! for the model is present (in `$RLC_HBAYESDM_DATA`, else `../shared/data/hbayesdm`),
//! the model loads it as it is and starts sampling; where it is absent the test says it
//! skipped.

mod common;

use common::{
    compile_port as compile, hbayesdm_dir, json_files, load_file, ported_models,
    starts_sampling_file, workspace,
};
use rlc_driver::{Backend, Density};
use serde_json::Value;
use std::path::PathBuf;

/// Models with no Stan reference, and why.
const EXEMPT: &[(&str, &str)] = &[];

/// Models that cannot read hBayesDM's example file as it is, and why: the example-data
/// check says so instead of running them on it. None today: `wcs_sql`, which needed each
/// row's matching decks, takes hBayesDM's answer sheet as its settings' default.
const NOT_AS_IS: &[(&str, &str)] = &[];

/// rlc's log density minus Stan's may vary between points by this much relative to |logp|.
const LOGP_TOLERANCE: f64 = 1e-8;
/// A gradient element may differ from Stan's by this much times the largest element of
/// Stan's gradient (at least 1): rounding errors scale with the terms that are summed, not
/// with the sum.
const GRADIENT_TOLERANCE: f64 = 1e-7;

struct Point {
    unconstrained: Vec<f64>,
    logp: f64,
    gradient: Vec<f64>,
}

struct Reference {
    model: String,
    /// `MODEL.VARIANT.json`: the model with other settings than its defaults.
    variant: Option<String>,
    /// rlc's coordinates that Stan's program does not have: the raw parameters of a
    /// parameter the settings fix (equal bounds), which hBayesDM's program drops. At
    /// Stan's points they are 0, where their priors' slopes are 0 and the likelihood
    /// does not depend on them: rlc's slope there is 0.
    rlc_only: Vec<String>,
    data: PathBuf,
    example_data: String,
    points: Vec<Point>,
}

fn numbers(value: &Value, what: &str) -> Vec<f64> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not an array"))
        .iter()
        .map(|x| x.as_f64().unwrap_or_else(|| panic!("{what}: not a number")))
        .collect()
}

fn references() -> Vec<Reference> {
    let dir = hbayesdm_dir().join("reference");
    json_files(&dir)
        .iter()
        .map(|path| {
            let text = std::fs::read_to_string(path).expect("reference file");
            let json: Value =
                serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let field = |name: &str| {
                json[name]
                    .as_str()
                    .unwrap_or_else(|| panic!("{}: no `{name}`", path.display()))
                    .to_string()
            };
            let model = field("model");
            let variant = json["variant"].as_str().map(str::to_string);
            let stem = match &variant {
                Some(variant) => format!("{model}.{variant}"),
                None => model.clone(),
            };
            assert_eq!(
                path.file_stem().and_then(|s| s.to_str()),
                Some(stem.as_str()),
                "{}: the file is named after another model or variant",
                path.display()
            );
            let points: Vec<Point> = json["points"]
                .as_array()
                .unwrap_or_else(|| panic!("{}: no `points`", path.display()))
                .iter()
                .map(|p| Point {
                    unconstrained: numbers(&p["unconstrained"], &model),
                    logp: p["logp"].as_f64().expect("logp"),
                    gradient: numbers(&p["gradient"], &model),
                })
                .collect();
            assert!(points.len() >= 4, "{model}: fewer than 4 points");
            Reference {
                data: hbayesdm_dir().join(field("data")),
                example_data: field("example_data"),
                model,
                variant,
                rlc_only: json["rlc_only"]
                    .as_array()
                    .map(|names| {
                        names
                            .iter()
                            .map(|n| n.as_str().expect("rlc_only: names").to_string())
                            .collect()
                    })
                    .unwrap_or_default(),
                points,
            }
        })
        .collect()
}

/// What differs between rlc and Stan on one reference and backend (empty if nothing).
fn compare(reference: &Reference, backend: Backend) -> Vec<String> {
    let compiled = compile(&reference.model);
    let model = &match &reference.variant {
        Some(variant) => format!("{} ({variant})", reference.model),
        None => reference.model.clone(),
    };
    let data = load_file(&compiled, &reference.data);
    let mut density = Density::new(&compiled, &data, backend).expect("density");
    let mut problems = Vec::new();
    let mut offsets = Vec::new();
    let stans: Vec<usize> = (0..density.dim)
        .filter(|&i| !reference.rlc_only.contains(&density.coordinates[i]))
        .collect();
    if stans.len() + reference.rlc_only.len() != density.dim {
        problems.push(format!(
            "{model}: rlc has no coordinates {:?}",
            reference.rlc_only
        ));
        return problems;
    }
    for (k, point) in reference.points.iter().enumerate() {
        if point.unconstrained.len() != stans.len() {
            problems.push(format!(
                "{model}: rlc has {} coordinates ({} of them not Stan's), Stan {}",
                density.dim,
                reference.rlc_only.len(),
                point.unconstrained.len()
            ));
            return problems;
        }
        // Stan's point in rlc's coordinates, and Stan's gradient with 0 where rlc's alone are.
        let mut unconstrained = vec![0.0; density.dim];
        let mut expected = vec![0.0; density.dim];
        for (j, &i) in stans.iter().enumerate() {
            unconstrained[i] = point.unconstrained[j];
            expected[i] = point.gradient[j];
        }
        let mut gradient = vec![0.0; density.dim];
        let logp = density
            .logp_grad(&unconstrained, &mut gradient)
            .unwrap_or_else(|e| panic!("{model}, point {k}: {e:?}"));
        offsets.push((logp - point.logp, point.logp.abs()));
        let scale = point.gradient.iter().fold(1.0f64, |m, g| m.max(g.abs()));
        for (i, (a, b)) in gradient.iter().zip(&expected).enumerate() {
            // Written so that a NaN is a difference.
            let equal = (a - b).abs() <= GRADIENT_TOLERANCE * scale;
            if !equal {
                problems.push(format!(
                    "{model} ({backend:?}), point {k}: d/d {} is {a}, Stan's {b}",
                    density.coordinates[i]
                ));
            }
        }
    }
    let first = offsets[0].0;
    for (k, (offset, size)) in offsets.iter().enumerate() {
        let constant = (offset - first).abs() <= LOGP_TOLERANCE * size.max(1.0);
        if !constant {
            problems.push(format!(
                "{model} ({backend:?}), point {k}: rlc - Stan = {offset}, at point 0 {first}"
            ));
        }
    }
    if problems.is_empty() {
        println!(
            "{model} ({backend:?}): rlc - Stan = {first:.6} at {} points, gradients equal",
            offsets.len()
        );
    }
    problems
}

#[test]
fn log_density_and_gradient_equal_stans() {
    let mut problems = Vec::new();
    for reference in references() {
        for backend in [Backend::Jit, Backend::Interp] {
            problems.extend(compare(&reference, backend));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_model_has_a_reference() {
    let refs: Vec<String> = references().into_iter().map(|r| r.model).collect();
    let models = ported_models();
    let missing: Vec<&String> = models
        .iter()
        .filter(|m| !refs.contains(m) && !EXEMPT.iter().any(|(e, _)| e == m))
        .collect();
    assert!(
        missing.is_empty(),
        "no reference/MODEL.json (make one with stan_reference.py, or exempt the model with its reason): {missing:?}"
    );
    let orphans: Vec<&String> = refs.iter().filter(|r| !models.contains(r)).collect();
    assert!(
        orphans.is_empty(),
        "references without a model: {orphans:?}"
    );
    for (model, why) in EXEMPT {
        assert!(
            models.iter().any(|m| m == model),
            "{model} is exempt but does not exist"
        );
        println!("{model}: no Stan reference: {why}");
    }
}

/// Where hBayesDM's example files are: `$RLC_HBAYESDM_DATA`, else `../shared/data/hbayesdm`.
fn example_dir() -> PathBuf {
    match std::env::var_os("RLC_HBAYESDM_DATA") {
        Some(dir) => PathBuf::from(dir),
        None => workspace().join("../shared/data/hbayesdm"),
    }
}

#[test]
fn starts_sampling_on_hbayesdm_example_data() {
    let dir = example_dir();
    let mut failures = Vec::new();
    for reference in references().into_iter().filter(|r| r.variant.is_none()) {
        let file = dir.join(&reference.example_data);
        if !file.is_file() {
            println!(
                "{}: skipped: needs {}",
                reference.model, reference.example_data
            );
            continue;
        }
        if let Some((_, why)) = NOT_AS_IS.iter().find(|(m, _)| *m == reference.model) {
            println!(
                "{}: not run on {}: {why}",
                reference.model, reference.example_data
            );
            continue;
        }
        let model = reference.model.clone();
        let path = hbayesdm_dir().join(format!("{model}.rlm"));
        let run = std::panic::catch_unwind(|| starts_sampling_file(&model, path, file));
        if let Err(e) = run {
            let message = e
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            failures.push(format!("{model} on {}: {message}", reference.example_data));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Real data carry the bounds of hBayesDM's programs (Stan's `real<lower=0>` delays,
/// `<lower=0, upper=1>` probabilities): a value at a closed end loads, one past it is
/// refused with the cell and the interval, as Stan refuses it.
#[test]
fn hbayesdm_data_bounds_refuse_values_stan_refuses() {
    let load = |model: &str, text: &str| {
        let path = hbayesdm_dir().join(format!("{model}.rlm"));
        let source = std::fs::read_to_string(&path).expect("model");
        let compiled =
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
        rlc_driver::data::load(&compiled.model, "obs.txt", text.as_bytes(), None).map(|_| ())
    };
    let dd = |delay: &str| {
        format!(
            "subjID\ttrial\tdelay_later\tamount_later\tdelay_sooner\tamount_sooner\tchoice\n\
             1\t1\t{delay}\t42.2\t0\t10\t1\n1\t2\t7\t33.6\t0\t10\t0\n"
        )
    };
    for model in ["dd_hyperbolic", "dd_exp", "dd_cs"] {
        load(model, &dd("0")).unwrap_or_else(|e| panic!("{model}: a delay of 0: {}", e.message));
        let error = load(model, &dd("-1")).expect_err("a negative delay");
        assert!(
            error
                .message
                .contains("line 2, column \"delay_later\": value -1 is outside")
                && error
                    .message
                    .contains("in [0, inf)` (0 included, inf excluded)"),
            "{model}: {}",
            error.message
        );
    }
    let cra = |prob: &str| {
        format!("subjID\tprob\tambig\treward_var\treward_fix\tchoice\n1\t{prob}\t0\t20\t5\t1\n")
    };
    load("cra_exp", &cra("1"))
        .unwrap_or_else(|e| panic!("cra_exp: a probability of 1: {}", e.message));
    let error = load("cra_exp", &cra("1.25")).expect_err("a probability above 1");
    assert!(
        error.message.contains("value 1.25 is outside") && error.message.contains("in [0, 1]`"),
        "{}",
        error.message
    );
}

/// `models/hbayesdm/runs.json` (made by `compare_runs.py`, which needs pystan) records rlc's
/// and Stan's runs of every model on its example data: a new port without a run, or a run
/// on another file than the one its reference names as the task's example, is noticed.
#[test]
fn every_model_has_a_recorded_run_on_its_example_data() {
    let path = hbayesdm_dir().join("runs.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let runs: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("runs.json: {e}"));
    let runs = runs["models"].as_object().expect("runs.json: no `models`");
    let references = references();
    let models = ported_models();
    let mut problems = Vec::new();
    for model in &models {
        let Some(run) = runs.get(model) else {
            problems.push(format!("{model}: no run (compare_runs.py {model})"));
            continue;
        };
        if run["rlc"]["exit_code"].as_i64().is_none() {
            problems.push(format!("{model}: no rlc run recorded"));
        }
        let Some(reference) = references
            .iter()
            .find(|r| &r.model == model && r.variant.is_none())
        else {
            continue;
        };
        // The models that cannot read the example file run on the reference's data file.
        let expected = if NOT_AS_IS.iter().any(|(m, _)| m == model) {
            let relative = reference.data.strip_prefix(hbayesdm_dir());
            relative
                .map(|p| p.display().to_string())
                .unwrap_or_default()
        } else {
            format!("hBayesDM extdata/{}", reference.example_data)
        };
        let data = run["data"].as_str().unwrap_or_default();
        if data != expected {
            problems.push(format!("{model}: run on {data:?}, expected {expected:?}"));
        }
    }
    for model in runs.keys() {
        if !models.contains(model) {
            problems.push(format!("{model}: a run without a model"));
        }
    }
    assert!(problems.is_empty(), "runs.json:\n{}", problems.join("\n"));
}

/// A dropout, a subject whose every response is missing, as real data have
/// (hBayesDM leaves such a subject out): the diffusion ports' non-decision
/// time is bounded by the subject's fastest response, of which it has none.
/// Its parameters then have only their prior: the log density and gradient
/// stay finite (the gradient was NaN, 0 times an infinite bound).
#[test]
fn a_subject_with_no_response_leaves_the_gradient_finite() {
    for (model, file) in [
        ("choiceRT_ddm", "choiceRT_sim.txt"),
        ("pstRT_ddm", "pstRT_sim.txt"),
        ("pstRT_rlddm1", "pstRT_sim.txt"),
        ("pstRT_rlddm6", "pstRT_sim.txt"),
    ] {
        let compiled = compile(model);
        let text = std::fs::read_to_string(hbayesdm_dir().join("data").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
        let first: Vec<&str> = lines.next().expect("a row").split('\t').collect();
        // Two rows of subject "dropout": the design columns as the first row's,
        // the responses missing.
        let mut with_dropout = text.clone();
        for _ in 0..2 {
            let row: Vec<String> = header
                .iter()
                .zip(&first)
                .map(|(column, value)| match *column {
                    "subjID" => "dropout".to_string(),
                    "RT" | "choice" => "NA".to_string(),
                    _ => value.to_string(),
                })
                .collect();
            with_dropout.push_str(&row.join("\t"));
            with_dropout.push('\n');
        }
        let data = rlc_driver::data::load(&compiled.model, file, with_dropout.as_bytes(), None)
            .unwrap_or_else(|e| panic!("{model}: {}", e.message));
        let mut density = Density::new(&compiled, &data, Backend::Jit).expect("density");
        let theta = vec![0.1; density.dim];
        let mut gradient = vec![0.0; density.dim];
        let logp = density
            .logp_grad(&theta, &mut gradient)
            .unwrap_or_else(|e| panic!("{model}: {e:?}"));
        assert!(logp.is_finite(), "{model}: log density {logp}");
        let bad: Vec<&String> = gradient
            .iter()
            .zip(&density.coordinates)
            .filter(|(g, _)| !g.is_finite())
            .map(|(_, c)| c)
            .collect();
        assert!(bad.is_empty(), "{model}: gradient not finite in {bad:?}");
    }
}

/// Every model runs forward on its data file (`rlc simulate --prior`, then at
/// the drawn truth, as `simulate --params` and `run --predict full` do): the
/// ports that observe a `let k = choice - 1` in both branches of an `if`
/// (`prl_fictitious*`) once failed with "malformed IR" at every simulation,
/// recovery and full predictive check, and no test ran them forward.
#[test]
fn every_model_runs_forward_on_its_data_file() {
    use rlc_driver::generate::{simulate, ParamValues};
    use rlc_driver::point::Point;
    let mut failures = Vec::new();
    for reference in references() {
        let model = &reference.model;
        let path = hbayesdm_dir().join(format!("{model}.rlm"));
        let source = std::fs::read_to_string(&path).expect("model");
        let compiled =
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
        // A model that cannot run forward says so when compiled for it (E0191,
        // e.g. BART's pumps up to a data-dependent stop): not this test's concern.
        let observed = match rlc_driver::generate::observed_variables(&compiled) {
            Ok(o) => o,
            Err(e) if e.kind == rlc_driver::ErrorKind::Model => {
                println!("{model}: cannot be run forward: {}", e.message);
                continue;
            }
            Err(e) => {
                failures.push(format!("{model}: {}", e.message));
                continue;
            }
        };
        let bytes = std::fs::read(&reference.data).expect("data file");
        let name = reference.data.display().to_string();
        let design = rlc_driver::data::load_design(&compiled.model, &name, &bytes, None, &observed)
            .unwrap_or_else(|e| panic!("{model}: {}", e.message));
        let prior = match simulate(&compiled, &design, &ParamValues::Prior, 1, 0) {
            Ok(s) => s,
            Err(e) if e.kind == rlc_driver::ErrorKind::Model => {
                println!("{model}: cannot be run forward: {}", e.message);
                continue;
            }
            Err(e) => {
                failures.push(format!("{model}: from the prior: {}", e.message));
                continue;
            }
        };
        let truth = prior
            .truth
            .iter()
            .filter(|(name, _, _)| compiled.ir.params.iter().any(|p| &p.name == name))
            .map(|(name, shape, values)| {
                let given = rlc_data::GivenValue::shaped(values.clone(), shape.clone());
                (name.clone(), given)
            })
            .collect();
        let at = ParamValues::Point(Point::Constrained(truth));
        if let Err(e) = simulate(&compiled, &design, &at, 2, 0) {
            failures.push(format!("{model}: at the drawn truth: {}", e.message));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Every model's observations are scored one by one (`rlc run --log-lik`,
/// `--loo`) on its data file, each score finite; the LBA models, whose trial
/// densities are written by hand (`~ LogDensity`: they were `target +=`, which
/// scored nothing pointwise), included. `cgt_cm` (a bet's rank
/// computed from the stake) and the `bart_*` models (a trial's pumps as a run
/// of decisions) once failed here with E0191: their left sides of `~` are
/// computed from data, and are now scored at the element they are computed from.
#[test]
fn every_model_scores_its_observations_pointwise() {
    use rlc_driver::generate::{rng, DrawExtras, DrawOutputs, LogLikUnit};
    let mut failures = Vec::new();
    let mut scored = 0;
    for reference in references() {
        let model = &reference.model;
        let source =
            std::fs::read_to_string(hbayesdm_dir().join(format!("{model}.rlm"))).expect("model");
        let compiled =
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
        let bytes = std::fs::read(&reference.data).expect("data file");
        let name = reference.data.display().to_string();
        let data = rlc_driver::data::load(&compiled.model, &name, &bytes, None)
            .unwrap_or_else(|e| panic!("{model}: {}", e.message));
        let extras = DrawExtras {
            log_lik: Some(LogLikUnit::Observation),
            predict: None,
        };
        match DrawOutputs::new(&compiled, &data, extras) {
            Ok(mut outputs) => {
                let dim = rlc_driver::density::dimension(&compiled, &data).expect("dimension");
                match outputs.compute(&vec![0.0; dim], &mut rng(0, 0)) {
                    Ok(values) if values.is_empty() => {
                        failures.push(format!("{model}: no observation scored"))
                    }
                    Ok(values) => {
                        if let Some(bad) = values.iter().position(|v| !v.is_finite()) {
                            failures.push(format!(
                                "{model}: log_lik.{} is {}",
                                bad + 1,
                                values[bad]
                            ));
                        }
                        scored += 1;
                    }
                    Err(e) => failures.push(format!("{model}: {}", e.message)),
                }
            }
            Err(e) => failures.push(format!("{model}: {}", e.message)),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert_eq!(scored, references().len(), "every model scored");
}
