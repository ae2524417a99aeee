//! The hBayesDM models in `models/hbayesdm/` start sampling on their example data: each
//! compiles, its data file loads as it is, and of 20 random initial points (uniform in
//! (-2, 2) on the unconstrained scale, Stan's default) at least 10 have a finite log
//! density, every one of those a finite gradient, and none a NaN, on both backends,
//! which agree. (In choiceRT_ddm a point where `Phi_approx` rounds the bias `beta` to
//! exactly 1 has density 0, which Stan rejects too, and the sampler draws again.) hBayesDM's own example files
//! are read in place from `../shared/data/hbayesdm` (GPL-3, not copied here): where
//! `../shared` is absent those models are visibly ignored ("needs ../shared"); the
//! models whose data set is simulated in `models/hbayesdm/data/` always run.

mod common;

use common::{starts_sampling_file, workspace};
use rlc_driver::{Backend, Density};
use std::path::PathBuf;

fn starts_sampling(model: &str, data: PathBuf) {
    let path = workspace()
        .join("models/hbayesdm")
        .join(format!("{model}.rlm"));
    starts_sampling_file(model, path, data);
}

fn shared(file: &str) -> PathBuf {
    workspace().join("../shared/data/hbayesdm").join(file)
}

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared")]
fn bandit2arm_delta() {
    starts_sampling("bandit2arm_delta", shared("bandit2arm_exampleData.txt"));
}

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared")]
fn bandit4arm_4par() {
    starts_sampling("bandit4arm_4par", shared("bandit4arm_exampleData.txt"));
}

#[test]
fn choice_rt_ddm_on_simulated_data() {
    starts_sampling(
        "choiceRT_ddm",
        workspace().join("models/hbayesdm/data/choiceRT_sim.txt"),
    );
}

/// Several independent blocks per subject, end to end: `models/rl_blocks.rlm` on its
/// long-format file (`size N by subjID`, then `size B by block`) loads as `[N, B, T]`
/// arrays with the short blocks and the missing third blocks as missing cells, and
/// starts sampling on both backends; its log density is the sum over blocks of
/// single-block models, each starting from fresh values.
#[test]
fn nested_blocks_end_to_end() {
    let source = std::fs::read_to_string(workspace().join("models/rl_blocks.rlm")).expect("model");
    let compiled =
        rlc_driver::compile(&source, "rl_blocks").unwrap_or_else(|e| panic!("{}", e.message));
    let bytes = std::fs::read(workspace().join("models/data/rl_blocks.csv")).expect("data");
    let data = rlc_driver::data::load(&compiled.model, "rl_blocks.csv", &bytes, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let sizes: Vec<(String, usize)> = data.loaded.sizes.clone();
    assert_eq!(
        sizes,
        vec![
            ("N".to_string(), 4),
            ("B".to_string(), 3),
            ("T".to_string(), 20)
        ]
    );
    let choice = data.loaded.value("choice").expect("choice");
    // S1 has blocks of 20 and 15 trials and no third block: 25 + 20 missing cells.
    let s1_missing = (0..60).filter(|&i| choice.is_missing(i)).count();
    assert_eq!(s1_missing, 5 + 20);
    starts_sampling_file(
        "rl_blocks",
        workspace().join("models/rl_blocks.rlm"),
        workspace().join("models/data/rl_blocks.csv"),
    );
    // The same subject-level parameters on a file with one block per subject, where each
    // block is its own subject: the Q-learning terms agree block for block.
    let text = String::from_utf8(bytes).expect("UTF-8");
    let mut flat = String::from("subjID,block,trial,choice,reward\n");
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        flat.push_str(&format!("{}-{},1,{},{},{}\n", f[0], f[1], f[2], f[3], f[4]));
    }
    let split = rlc_driver::data::load(&compiled.model, "flat.csv", flat.as_bytes(), None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(split.loaded.size("N"), Some(10));
    assert_eq!(split.loaded.size("B"), Some(1));
    // With every subject-level parameter at 0, a subject's parameters are the same
    // whatever its blocks, so the likelihoods agree (the priors differ by the number of
    // subjects: 2 x (10 - 4) extra standard-normal terms at 0).
    let mut blocks = Density::new(&compiled, &data, Backend::Jit).expect("jit");
    let mut single = Density::new(&compiled, &split, Backend::Jit).expect("jit");
    let theta_blocks = vec![0.0; blocks.dim];
    let theta_single = vec![0.0; single.dim];
    let mut g1 = vec![0.0; blocks.dim];
    let mut g2 = vec![0.0; single.dim];
    let lp_blocks = blocks.logp_grad(&theta_blocks, &mut g1).expect("evaluates");
    let lp_single = single.logp_grad(&theta_single, &mut g2).expect("evaluates");
    let normal_at_zero = -0.5 * (2.0 * std::f64::consts::PI).ln();
    let expected = lp_blocks + 2.0 * 6.0 * normal_at_zero;
    assert!(
        (lp_single - expected).abs() < 1e-9 * expected.abs(),
        "{lp_single} vs {expected}"
    );
}

/// The log density and its gradient at a few points, on the JIT backend.
fn logp_grads(
    compiled: &rlc_driver::Compiled,
    data: &rlc_driver::data::Data,
) -> Vec<(f64, Vec<f64>)> {
    let mut density =
        Density::new(compiled, data, Backend::Jit).unwrap_or_else(|e| panic!("{}", e.message));
    (0..3)
        .map(|k| {
            let theta: Vec<f64> = (0..density.dim)
                .map(|i| 0.3 * ((i * 7 + k * 3) % 11) as f64 / 11.0 - 0.15)
                .collect();
            let mut grad = vec![0.0; density.dim];
            let lp = density.logp_grad(&theta, &mut grad).expect("evaluates");
            (lp, grad)
        })
        .collect()
}

/// Two models on their data have the same log density (finite) and gradient, within 1e-9
/// relative, at `logp_grads`' points.
fn assert_same_density(
    label: &str,
    (found, found_data): (&rlc_driver::Compiled, &rlc_driver::data::Data),
    (written, written_data): (&rlc_driver::Compiled, &rlc_driver::data::Data),
) {
    let (found, written) = (
        logp_grads(found, found_data),
        logp_grads(written, written_data),
    );
    for ((lp1, g1), (lp2, g2)) in found.iter().zip(&written) {
        assert!(
            lp1.is_finite() && (lp1 - lp2).abs() <= 1e-9 * lp2.abs(),
            "{label}: {lp1} vs {lp2}"
        );
        for (a, b) in g1.iter().zip(g2) {
            assert!(
                (a - b).abs() <= 1e-9 * (1.0 + b.abs()),
                "{label}: gradient {a} vs {b}"
            );
        }
    }
}

/// The sizes hBayesDM takes from the data's values (`size Narm = max(choice)`): each port
/// that declares one has the log density and gradient of the same port with the size
/// written as a constant of the value found; and a banditNarm port runs unchanged on a
/// task with three arms, as the three-arm model.
#[test]
fn sizes_from_values_are_the_constants_they_stand_for() {
    let ports = [
        ("banditNarm_2par_lapse", "banditNarm_sim.txt"),
        ("banditNarm_4par", "banditNarm_sim.txt"),
        ("banditNarm_delta", "banditNarm_sim.txt"),
        ("banditNarm_kalman_filter", "banditNarm_sim.txt"),
        ("banditNarm_lapse", "banditNarm_sim.txt"),
        ("banditNarm_lapse_decay", "banditNarm_sim.txt"),
        ("banditNarm_singleA_lapse", "banditNarm_sim.txt"),
        ("choiceRT_lba", "choiceRT_lba_sim.txt"),
        ("choiceRT_lba_single", "choiceRT_lba_single_sim.txt"),
        ("pstRT_rlddm1", "pstRT_sim.txt"),
        ("pstRT_rlddm6", "pstRT_sim.txt"),
    ];
    let dir = workspace().join("models/hbayesdm");
    let mut declaring: Vec<String> = std::fs::read_dir(&dir)
        .expect("models/hbayesdm")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "rlm"))
        .filter(|p| {
            let text = std::fs::read_to_string(p).unwrap_or_default();
            text.lines()
                .any(|l| l.starts_with("size ") && l.contains(" = max("))
        })
        .map(|p| {
            p.file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect();
    declaring.sort();
    let listed: Vec<String> = ports.iter().map(|(m, _)| m.to_string()).collect();
    assert_eq!(
        declaring, listed,
        "a port declares a size from values: list it here"
    );

    let three_arms = {
        let text = std::fs::read_to_string(dir.join("data/banditNarm_sim.txt")).expect("data");
        let mut kept: Vec<&str> = text.lines().filter(|l| !l.ends_with("\t4")).collect();
        kept.push("");
        kept.join("\n")
    };
    for (model, file) in ports {
        let source = std::fs::read_to_string(dir.join(format!("{model}.rlm"))).expect("model");
        let compiled =
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
        let mut files = vec![(
            file.to_string(),
            std::fs::read(dir.join("data").join(file)).expect("data"),
        )];
        if model.starts_with("banditNarm") {
            files.push((
                "three_arms.txt".to_string(),
                three_arms.clone().into_bytes(),
            ));
        }
        for (name, bytes) in files {
            let data = rlc_driver::data::load(&compiled.model, &name, &bytes, None)
                .unwrap_or_else(|e| panic!("{model} on {name}: {}", e.message));
            // Each `size X = max(v)` line becomes `let X = <its value in this file>`.
            let constant_source: String = source
                .lines()
                .map(|line| {
                    match line
                        .strip_prefix("size ")
                        .and_then(|l| l.split_once(" = max("))
                    {
                        Some((size, _)) => format!("let {size} = {}", data.sizes[size]),
                        None => line.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("\n");
            assert_ne!(constant_source, source);
            if name == "three_arms.txt" {
                assert_eq!(data.sizes["Narm"], 3, "{model}");
            }
            let constant = rlc_driver::compile(&constant_source, model)
                .unwrap_or_else(|e| panic!("{}", e.message));
            let constant_data = rlc_driver::data::load(&constant.model, &name, &bytes, None)
                .unwrap_or_else(|e| panic!("{model} on {name}: {}", e.message));
            assert_same_density(
                &format!("{model} on {name}"),
                (&compiled, &data),
                (&constant, &constant_data),
            );
        }
    }
}

/// The columns of a tab-separated file but `name`.
fn without_column(text: &str, name: &str) -> String {
    let header: Vec<&str> = text
        .lines()
        .next()
        .unwrap_or_default()
        .split('\t')
        .collect();
    // The column of that name, and an array setting's element columns (`name.1`, …).
    let dropped = |c: &str| {
        c == name
            || c.strip_prefix(name)
                .and_then(|rest| rest.strip_prefix('.'))
                .is_some_and(|index| index.split('.').all(|i| i.parse::<usize>().is_ok()))
    };
    if !header.iter().any(|c| dropped(c)) {
        return text.to_string();
    }
    let mut out = String::new();
    for line in text.lines().filter(|l| !l.is_empty()) {
        let kept: Vec<&str> = line
            .split('\t')
            .enumerate()
            .filter(|(i, _)| !header.get(*i).is_some_and(|c| dropped(c)))
            .map(|(_, cell)| cell)
            .collect();
        out.push_str(&kept.join("\t"));
        out.push('\n');
    }
    out
}

/// A tab-separated file with a column `name` holding `value` on every row.
fn with_columns(text: &str, columns: &[(String, String)]) -> String {
    let mut out = String::new();
    for (i, line) in text.lines().filter(|l| !l.is_empty()).enumerate() {
        out.push_str(line);
        for (name, value) in columns {
            out.push('\t');
            out.push_str(if i == 0 { name } else { value });
        }
        out.push('\n');
    }
    out
}

/// The cells of an integer array setting's default in a model's source.
fn array_default(source: &str, name: &str) -> Vec<i64> {
    source
        .lines()
        .find(|l| l.starts_with(&format!("data {name}:")))
        .and_then(|l| l.split_once(" = ["))
        .map(|(_, cells)| {
            cells
                .trim_end_matches(']')
                .split(", ")
                .map(|c| c.parse().expect("an integer"))
                .collect()
        })
        .unwrap_or_else(|| panic!("{name}'s default"))
}

/// wcs_sql's simulated file without its sheet's columns, each choice the deck that
/// matches the card's colour on the port's default sheet (hBayesDM's) and each outcome
/// correct, so that every choice matches a dimension on it and moves attention toward one
/// (a choice that matches nothing has probability 0 on a first trial, and an error on a
/// deck that matches all three dimensions leaves no attention to move).
fn wcs_on_default_sheet(text: &str, source: &str) -> String {
    let colour: Vec<String> = array_default(source, "answer_color")
        .iter()
        .map(i64::to_string)
        .collect();
    let mut text = text.to_string();
    for name in ["answer_color", "answer_form", "answer_number"] {
        text = without_column(&text, name);
    }
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split('\t').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).expect(name);
    let (trial, choice, outcome) = (column("trial"), column("choice"), column("outcome"));
    let mut out = format!("{}\n", header.join("\t"));
    for line in lines.filter(|l| !l.is_empty()) {
        let mut cells: Vec<&str> = line.split('\t').collect();
        let t: usize = cells[trial].parse().expect("a trial number");
        cells[choice] = &colour[t - 1];
        cells[outcome] = "1";
        out.push_str(&cells.join("\t"));
        out.push('\n');
    }
    out
}

/// The CSV columns that set a setting to `value`, as the model writes it: `x` for a
/// scalar (`0.05`, `true`), `x.1`, `x.2`, … for an array (`[0.2, 0.6]`).
fn setting_columns(name: &str, value: &str) -> Vec<(String, String)> {
    match value.trim().strip_prefix('[') {
        Some(rest) => rest
            .trim_end_matches(']')
            .split(',')
            .enumerate()
            .map(|(i, v)| (format!("{name}.{}", i + 1), v.trim().to_string()))
            .collect(),
        None => vec![(name.to_string(), value.trim().to_string())],
    }
}

/// hBayesDM's function arguments (`RTbound`, `initQ`, `payscale`, `trans_prob`, and the
/// HGF's `input_first`, `mu0`, `sigma0` and bounds) are the ports' data with defaults,
/// `data RTbound: real … = 0.1`, `data mu0: real[2] = [0.5, 1.0]`: on a file without the
/// column(s), each port has the log density and gradient of the port with the default
/// written as a constant (and the load notes the default); a column of that name (an
/// array's `mu0.1`, `mu0.2`) sets the value instead, as hBayesDM's argument does, with
/// the density of the port with that constant.
#[test]
fn hbayesdm_arguments_are_data_with_defaults() {
    let mut ports = vec![
        (
            "choiceRT_ddm",
            "choiceRT_sim.txt",
            "RTbound",
            "0.05".to_string(),
        ),
        (
            "choiceRT_ddm_single",
            "choiceRT_single_sim.txt",
            "RTbound",
            "0.05".to_string(),
        ),
        ("igt_orl", "igt_sim.txt", "payscale", "50.0".to_string()),
        (
            "igt_pvl_decay",
            "igt_sim.txt",
            "payscale",
            "50.0".to_string(),
        ),
        (
            "igt_pvl_delta",
            "igt_sim.txt",
            "payscale",
            "50.0".to_string(),
        ),
        ("igt_vpp", "igt_sim.txt", "payscale", "50.0".to_string()),
        ("pstRT_ddm", "pstRT_sim.txt", "RTbound", "0.05".to_string()),
        (
            "pstRT_rlddm1",
            "pstRT_sim.txt",
            "RTbound",
            "0.05".to_string(),
        ),
        ("pstRT_rlddm1", "pstRT_sim.txt", "initQ", "0.3".to_string()),
        (
            "pstRT_rlddm6",
            "pstRT_sim.txt",
            "RTbound",
            "0.05".to_string(),
        ),
        ("pstRT_rlddm6", "pstRT_sim.txt", "initQ", "0.3".to_string()),
        ("ts_par4", "ts_sim.txt", "trans_prob", "0.8".to_string()),
        ("ts_par6", "ts_sim.txt", "trans_prob", "0.8".to_string()),
        ("ts_par7", "ts_sim.txt", "trans_prob", "0.8".to_string()),
    ];
    for (model, file) in [
        ("hgf_ibrb", "hgf_sim.txt"),
        ("hgf_ibrb_single", "hgf_single_sim.txt"),
    ] {
        for (argument, other) in [
            ("input_first", "true"),
            ("mu0", "[0.2, 0.6]"),
            ("sigma0", "[0.3, 2.0]"),
            ("kappa_lower", "[0.5]"),
            ("kappa_upper", "[1.5]"),
            ("omega_lower", "[-8.0, -12.0]"),
            ("omega_upper", "[-1.0, -2.0]"),
            ("zeta_lower", "0.5"),
            ("zeta_upper", "3.0"),
        ] {
            ports.push((model, file, argument, other.to_string()));
        }
    }
    // wcs_sql's answer sheet (hBayesDM's wcs_answersheet.txt by default; the file's
    // choices are made to match each card's colour on it, `wcs_on_default_sheet`), another
    // one each: form and number on every trial the next deck, colour where form gives the
    // same deck (so every choice still matches a dimension).
    let wcs = std::fs::read_to_string(workspace().join("models/hbayesdm/wcs_sql.rlm"))
        .expect("wcs_sql.rlm");
    let [colour, form, number] =
        ["answer_color", "answer_form", "answer_number"].map(|name| array_default(&wcs, name));
    let next = |deck: i64| deck % 4 + 1;
    let text = |sheet: Vec<i64>| {
        let cells: Vec<String> = sheet.iter().map(i64::to_string).collect();
        format!("[{}]", cells.join(", "))
    };
    let other_colour = colour
        .iter()
        .zip(&form)
        .map(|(&c, &f)| if c == f { next(c) } else { c })
        .collect();
    for (argument, other) in [
        ("answer_color", other_colour),
        ("answer_form", form.iter().map(|&f| next(f)).collect()),
        ("answer_number", number.iter().map(|&n| next(n)).collect()),
    ] {
        ports.push(("wcs_sql", "wcs_sim.txt", argument, text(other)));
    }
    let dir = workspace().join("models/hbayesdm");
    // Every port with a data default is listed.
    let mut declaring: Vec<(String, String)> = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("models/hbayesdm").flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|x| x != "rlm") {
            continue;
        }
        let model = path
            .file_stem()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for line in std::fs::read_to_string(&path).unwrap_or_default().lines() {
            let code = line.split("//").next().unwrap_or_default();
            if let (Some(rest), true) = (code.strip_prefix("data "), code.contains(" = ")) {
                let name = rest
                    .split(':')
                    .next()
                    .unwrap_or_default()
                    .trim()
                    .to_string();
                declaring.push((model.clone(), name));
            }
        }
    }
    declaring.sort();
    let mut listed: Vec<(String, String)> = ports
        .iter()
        .map(|(m, _, a, _)| (m.to_string(), a.to_string()))
        .collect();
    listed.sort();
    assert_eq!(declaring, listed, "a port has a data default: list it here");

    for (model, file, argument, other) in &ports {
        let other = other.as_str();
        let source = std::fs::read_to_string(dir.join(format!("{model}.rlm"))).expect("model");
        let line = source
            .lines()
            .find(|l| l.starts_with(&format!("data {argument}:")))
            .expect("the declaration");
        let default = line
            .split("//")
            .next()
            .and_then(|code| code.split_once(" = "))
            .map(|(_, value)| value.trim())
            .expect("a value after `=`");
        // The port with the argument written as the constant `value`; an array sized by a
        // size with a default (`real[L - 1]`) keeps its dimension as a slice of it.
        let dimension = line
            .split_once(':')
            .map(|(_, rest)| rest.split(" in ").next().unwrap_or_default())
            .and_then(|ty| ty.split(" = ").next())
            .and_then(|ty| ty.split_once('['))
            .and_then(|(_, rest)| rest.split_once(']'))
            .map(|(dim, _)| dim.trim())
            .filter(|dim| dim.parse::<usize>().is_err());
        let as_constant = |value: &str| {
            let constant = match dimension {
                Some(dim) => format!("let {argument} = {value}[0:{dim}]"),
                None => format!("let {argument} = {value}"),
            };
            let source = source.replace(line, &constant);
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message))
        };
        let compiled =
            rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
        let mut text = std::fs::read_to_string(dir.join("data").join(file)).expect("data");
        if *model == "wcs_sql" {
            // The simulated file's choices follow its own sheet, which its columns give:
            // on the default sheet they would choose decks that match nothing.
            text = wcs_on_default_sheet(&text, &source);
        }
        let without = without_column(&text, argument);
        let with_other = with_columns(&without, &setting_columns(argument, other));
        for (bytes, value) in [(without, default), (with_other, other)] {
            let data = rlc_driver::data::load(&compiled.model, file, bytes.as_bytes(), None)
                .unwrap_or_else(|e| panic!("{model} on {file}: {}", e.message));
            // One setting left out has its sentence; several, one list.
            let noted = data.loaded.notes.iter().any(|n| {
                n.contains(&format!(
                    "`{argument}` is not in {file}: the model's default"
                )) || (n.contains(&format!("settings not in {file} take the model's defaults"))
                    && n.contains(&format!("`{argument}` = ")))
            });
            assert_eq!(noted, value == default, "{model}: {:?}", data.loaded.notes);
            let constant = as_constant(value);
            let constant_data =
                rlc_driver::data::load(&constant.model, file, bytes.as_bytes(), None)
                    .unwrap_or_else(|e| panic!("{model} on {file}: {}", e.message));
            assert_same_density(
                &format!("{model}, {argument} = {value}"),
                (&compiled, &data),
                (&constant, &constant_data),
            );
        }
        // The other value changes the density: the column is read.
        let constant_lp = |value: &str| {
            let constant = as_constant(value);
            let data = rlc_driver::data::load(&constant.model, file, text.as_bytes(), None)
                .unwrap_or_else(|e| panic!("{}", e.message));
            logp_grads(&constant, &data)[0].0
        };
        let (default_lp, other_lp) = (constant_lp(default), constant_lp(other));
        assert!(
            default_lp != other_lp,
            "{model}: {argument} changes nothing"
        );
    }
}
