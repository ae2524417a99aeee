//! End-to-end tests of the `rlc` binary: exit codes, messages, output.

use std::path::PathBuf;
use std::process::Command;

fn rlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rlc"))
}

/// `rlc COMMAND models/rl_single.rlm --data models/data/rl_single.csv`, the bundled
/// model most tests run.
fn rl_single(command: &str) -> Command {
    let mut cmd = rlc();
    cmd.args([
        command,
        "models/rl_single.rlm",
        "--data",
        "models/data/rl_single.csv",
    ]);
    cmd
}

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn check_accepts_every_bundled_model() {
    for entry in std::fs::read_dir(workspace().join("models")).expect("models/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "rlm") {
            let out = rlc().arg("check").arg(&path).output().expect("rlc runs");
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}: {}",
                path.display(),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
}

#[test]
fn check_rejects_the_seed_bug_with_exit_code_1_and_a_keepdims_hint() {
    let path = workspace().join("tests/check/err/shape_error_seed.rlm");
    let out = rlc()
        .args(["check", "--color", "never"])
        .arg(&path)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[T - 1, 2]") && stderr.contains("[T - 1]"),
        "{stderr}"
    );
    assert!(stderr.contains("keepdims=true"), "{stderr}");
    assert!(stderr.contains("has 1 error"), "{stderr}");
}

#[test]
fn check_shows_the_first_errors_of_many_and_counts_them_all() {
    // One mistake repeated on 200 lines: 200 errors, 50 of them shown.
    let dir = temp_dir("many-errors");
    let path = dir.join("many.rlm");
    let lines: Vec<String> = (0..200).map(|i| format!("let a{i} = tanhx(1.0)")).collect();
    std::fs::write(&path, lines.join("\n")).expect("write model");
    let out = rlc()
        .args(["check", "--color", "never"])
        .arg(&path)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("[E0110]").count(), 50, "{stderr}");
    // Source order: the first 50 lines are the ones shown.
    assert!(stderr.contains("many.rlm:50:"), "{stderr}");
    assert!(!stderr.contains("many.rlm:51:"), "{stderr}");
    assert!(
        stderr.contains("… and 150 more errors (only the first 50 errors are shown)"),
        "{stderr}"
    );
    assert!(stderr.contains("has 200 errors"), "{stderr}");
}

#[test]
fn emit_shapes_prints_the_inferred_types() {
    let path = workspace().join("models/rl_single_pytensor.rlm");
    let out = rlc()
        .args(["check", "--emit", "shapes"])
        .arg(&path)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("let   logits: real[T - 1, 2]"), "{stdout}");
    assert!(stdout.contains("param alpha: real in (0, 1)"), "{stdout}");
}

#[test]
fn unreadable_and_non_utf8_files_are_usage_errors_not_panics() {
    let missing = rlc()
        .args(["check", "no/such/model.rlm"])
        .output()
        .expect("rlc runs");
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("cannot read the model file"));

    let dir = std::env::temp_dir().join(format!("rlc-cli-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let binary = dir.join("binary.rlm");
    std::fs::write(&binary, [0x73, 0x69, 0xff, 0xfe, 0x0a]).expect("write");
    let out = rlc().arg("check").arg(&binary).output().expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not UTF-8"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn help_lists_commands_and_exit_codes() {
    let out = rlc().arg("--help").output().expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("check"));
    assert!(
        stdout.contains("Exit codes")
            && stdout.contains("model error")
            && stdout.contains("data error")
    );
}

/// Sends Ctrl-C (SIGINT) to a running rlc and waits for it to end.
fn interrupt(child: std::process::Child) -> std::process::Output {
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    child.wait_with_output().expect("rlc ends")
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn run_writes_one_cmdstan_csv_per_chain_and_a_summary() {
    let out_dir = temp_dir("run");
    let out = rl_single("run")
        .args([
            "--chains",
            "2",
            "--warmup",
            "150",
            "--draws",
            "100",
            "--seed",
            "11",
            "--quiet",
            "--output-dir",
        ])
        .arg(&out_dir)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for header in [
        "Mean",
        "MCSE",
        "StdDev",
        "MAD",
        "5%",
        "50%",
        "95%",
        "ESS_bulk",
        "ESS_tail",
        "ESS_bulk/s",
        "R_hat",
    ] {
        assert!(stdout.contains(header), "{stdout}");
    }
    assert!(
        stdout.lines().any(|l| l.starts_with("alpha "))
            && stdout.lines().any(|l| l.starts_with("beta "))
    );
    let mut files = Vec::new();
    for chain in 1..=2 {
        let path = out_dir.join(format!("rl_single_{chain}.csv"));
        let text = std::fs::read_to_string(&path).expect("chain file written");
        let header: Vec<&str> = text
            .lines()
            .filter(|l| !l.starts_with('#'))
            .take(1)
            .collect();
        assert_eq!(header, ["lp__,accept_stat__,stepsize__,treedepth__,n_leapfrog__,divergent__,energy__,alpha,beta"]);
        assert!(text.contains("# method = sample") && text.contains("#     num_samples = 100"));
        assert!(
            text.contains("# Step size = ")
                && text.contains("# Diagonal elements of inverse mass matrix:")
        );
        assert!(text.contains("Elapsed Time"));
        let rows = text.lines().filter(|l| !l.starts_with('#')).count() - 1;
        assert_eq!(rows, 100);
        files.push(path);
    }
    // `rlc summary` reads the files back and prints the same table rows.
    let summary = rlc()
        .arg("summary")
        .args(&files)
        .output()
        .expect("rlc runs");
    assert_eq!(summary.status.code(), Some(0));
    let again = String::from_utf8_lossy(&summary.stdout);
    let row = |text: &str| -> Vec<String> {
        let line = text
            .lines()
            .find(|l| l.starts_with("alpha "))
            .expect("alpha row")
            .to_string();
        // All columns but ESS_bulk/s, which needs the run's timing.
        let cells: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        [&cells[..10], &cells[11..]].concat()
    };
    assert_eq!(row(&stdout), row(&again));
    let _ = std::fs::remove_dir_all(&out_dir);
}

#[test]
fn the_same_seed_gives_the_same_draws() {
    let mut texts = Vec::new();
    for name in ["seed-a", "seed-b"] {
        let dir = temp_dir(name);
        let out = rlc()
            .args([
                "run",
                "models/eight_schools.rlm",
                "--data",
                "models/data/eight_schools.json",
            ])
            .args([
                "--chains",
                "2",
                "--warmup",
                "50",
                "--draws",
                "20",
                "--seed",
                "5",
                "--quiet",
                "--output-dir",
            ])
            .arg(&dir)
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("eight_schools_2.csv")).expect("written");
        texts.push(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert_eq!(texts[0], texts[1]);
}

/// Each kind of bad data file is a data error (exit 3) naming the problem, and nothing is sampled.
#[test]
fn bad_data_is_a_located_data_error() {
    let dir = temp_dir("bad-data");
    let cases: &[(&str, &str, &str)] = &[
        (
            "range.csv",
            "action,reward\n0,1\n2,0\n",
            "outside the declared range",
        ),
        ("missing_column.csv", "action,rewards\n0,1\n1,0\n", "reward"),
        ("not_a_number.csv", "action,reward\n0,1\n1,abc\n", "abc"),
        ("empty.csv", "", "empty"),
        ("missing_value.csv", "action,reward\n0,1\n,0\n", "missing"),
    ];
    for (file, content, expected) in cases {
        let path = dir.join(file);
        std::fs::write(&path, content).expect("write");
        let out = rlc()
            .args(["run", "models/rl_single.rlm", "--quiet", "--output-dir"])
            .arg(dir.join("out"))
            .arg("--data")
            .arg(&path)
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{file}: {stderr}");
        assert!(stderr.contains(file), "{file}: {stderr}");
        assert!(stderr.to_lowercase().contains(expected), "{file}: {stderr}");
        assert!(!dir.join("out").exists(), "{file}: sampling must not start");
    }
    // Ragged groups need an optional element type.
    let model = dir.join("ragged.rlm");
    std::fs::write(
        &model,
        "size N by subj\nsize T\ndata y: real[N, T]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu, 1)\n",
    )
    .expect("write");
    let data = dir.join("ragged.csv");
    std::fs::write(&data, "subj,y\n1,0.5\n1,0.7\n2,0.1\n").expect("write");
    let out = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args(["--quiet"])
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("real?"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn logp_reports_the_gradient_by_coordinate_name() {
    let out = rlc()
        .args(["logp", "models/rl_hier.rlm", "--data", "models/data/rl_hier.csv", "--json", "--at"])
        .arg("mu_pr=[0.1,-0.2],sigma=[0.3,0.2],A_pr=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0],tau_pr=[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]")
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("\"coordinates\": [\"mu_pr.1\", \"mu_pr.2\", \"sigma.1\""),
        "{stdout}"
    );
    let bad = rl_single("logp")
        .args(["--at", "alpha=1.5,beta=2"])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("outside its support"));
}

#[test]
fn a_density_that_is_never_finite_is_a_sampling_failure_with_a_reason() {
    let dir = temp_dir("never-finite");
    std::fs::write(
        dir.join("bad.rlm"),
        "data y: real\nparam s ~ HalfNormal(1)\ny ~ Normal(0, -s)\n",
    )
    .expect("write");
    std::fs::write(dir.join("bad.json"), "{\"y\": 1.0}").expect("write");
    let out = rlc()
        .arg("run")
        .arg(dir.join("bad.rlm"))
        .arg("--data")
        .arg(dir.join("bad.json"))
        .args([
            "--quiet",
            "--chains",
            "2",
            "--warmup",
            "20",
            "--draws",
            "20",
            "--output-dir",
        ])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("no finite log density") && stderr.contains("NaN"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An index the checker could not prove in range, given data that puts it
/// out of range, is a data error found before sampling (exit 3), that names
/// the data's place (a JSON path, a CSV line) and the model's, not a crash
/// or a sampling failure repeated per chain.
#[test]
fn an_out_of_range_data_index_names_its_row_and_its_place_in_the_model() {
    let dir = temp_dir("index");
    let model = dir.join("index.rlm");
    std::fs::write(
        &model,
        "size T\nsize K\ndata k: int[T]\nparam w: real[K] ~ Normal(0, 1)\ntarget += sum(w[k])\n",
    )
    .expect("write");
    let data = dir.join("index.json");
    std::fs::write(&data, r#"{"T": 2, "K": 3, "k": [1, 5]}"#).expect("write");
    for backend in ["jit", "interp"] {
        let out = rlc()
            .args(["logp", "--backend", backend, "--unconstrained", "0,0,0"])
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{backend}: {stderr}");
        assert!(
            stderr.contains("`k` holds 5 at k[1]")
                && stderr.contains("index.rlm:5:15")
                && stderr.contains("w[k]")
                && stderr.contains("0..3"),
            "{backend}: {stderr}"
        );
    }
    // A CSV file: the line of the row, and how many more rows are wrong.
    let model = dir.join("rows.rlm");
    std::fs::write(
        &model,
        "size T\ndata choice: int[T]\nparam q: real[2] ~ Normal(0, 1)\ntarget += sum(q[choice])\n",
    )
    .expect("write");
    let data = dir.join("rows.csv");
    std::fs::write(&data, "choice\n1\n2\n1\n2\n").expect("write");
    let out = rlc()
        .args(["run", "--quiet", "--output-dir"])
        .arg(dir.join("out"))
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("`choice` holds 2 at line 3 (and 1 more row)")
            && stderr.contains("1-based")
            && !stderr.contains("chain"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An index that is out of range only where a parameter leads (`if mu > 0 { c[t] }`
/// with a `c` too large) passes the check at load time; a chain that reaches it
/// stops the run with the index and its place (exit 4), as Stan stops on an index
/// error, instead of counting divergences and cutting the region off the posterior.
/// In the density, in an `out` and under `--predict`, on both backends.
#[test]
fn an_index_out_of_range_met_while_sampling_stops_the_run_and_names_it() {
    let dir = temp_dir("index_while_sampling");
    let data = dir.join("c.csv");
    std::fs::write(&data, "c\n0\n5\n").expect("write");
    let models = [
        ("density.rlm", "size T\ndata c: int[T]\nparam mu ~ Normal(1, 1)\nlet w = [1.0, 2.0, 3.0]\nfor t in 0..T {\n  let j = if mu > 0 { c[t] } else { 0 }\n  target += w[j] * mu\n}\n", "density.rlm:7:13"),
        ("out.rlm", "size T\ndata c: int[T]\nparam mu ~ Normal(1, 1)\nlet w = [1.0, 2.0, 3.0]\nout z = w[if mu > 0.5 { c[1] } else { 0 }]\n", "out.rlm:5:9"),
    ];
    for (name, source, place) in models {
        let model = dir.join(name);
        std::fs::write(&model, source).expect("write");
        for backend in ["jit", "interp"] {
            let out = rlc()
                .args([
                    "run",
                    "--quiet",
                    "--chains",
                    "2",
                    "--warmup",
                    "50",
                    "--draws",
                    "50",
                    "--backend",
                    backend,
                    "--output-dir",
                ])
                .arg(dir.join("out"))
                .arg(&model)
                .arg("--data")
                .arg(&data)
                .output()
                .expect("rlc runs");
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(4), "{name} {backend}: {stderr}");
            assert!(
                stderr.contains("index 5 is out of range")
                    || stderr.contains("index 5 is out of bounds"),
                "{name} {backend}: {stderr}"
            );
            assert!(
                stderr.contains("the run was stopped: an index is out of range"),
                "{name} {backend}: {stderr}"
            );
            if backend == "jit" {
                assert!(stderr.contains(place), "{name}: {stderr}");
            }
            assert!(!stderr.contains("divergen"), "{name} {backend}: {stderr}");
        }
    }
    // Run forward (the interpreter draws), the index is named at its place too.
    let model = dir.join("forward.rlm");
    std::fs::write(
        &model,
        "size T\ndata c: int[T]\ndata y: real[T]\nparam mu ~ Normal(0, 1)\nlet w = [1.0, 2.0, 3.0]\nfor t in 0..T {\n  let j = if mu > 0 { c[t] } else { 0 }\n  y[t] ~ Normal(w[j] * mu, 1)\n}\n",
    )
    .expect("write");
    let out = rlc()
        .args(["simulate", "--quiet", "--at", "mu=1", "--output"])
        .arg(dir.join("sim.csv"))
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("forward.rlm:8:17 (`w[j]`): index 5 is out of bounds"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A density that is not finite: `rlc run` says why once (not per chain),
/// naming the first term that is not finite and the parameter values there,
/// and `rlc logp` fails (exit 4) with the same reason instead of printing NaN.
#[test]
fn a_non_finite_density_names_its_first_bad_term() {
    let dir = temp_dir("bad-term");
    std::fs::write(
        dir.join("bad.rlm"),
        "data y: real\nparam s ~ HalfNormal(1)\ny ~ Normal(0, -s)\n",
    )
    .expect("write");
    std::fs::write(dir.join("bad.json"), "{\"y\": 1.0}").expect("write");
    let run = rlc()
        .arg("run")
        .arg(dir.join("bad.rlm"))
        .arg("--data")
        .arg(dir.join("bad.json"))
        .args(["--quiet", "--warmup", "10", "--draws", "10", "--output-dir"])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("all 4 chains")
            && !stderr.contains("chain 2:")
            && stderr.contains("bad.rlm:3:1 (`y ~ Normal(0, -s)`)")
            && stderr.contains("s = "),
        "{stderr}"
    );
    let logp = rlc()
        .args(["logp", "--at", "s=0.5"])
        .arg(dir.join("bad.rlm"))
        .arg("--data")
        .arg(dir.join("bad.json"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&logp.stderr);
    assert_eq!(logp.status.code(), Some(4), "{stderr}");
    assert!(
        // A negative scale makes the density -inf (not NaN); the explanation
        // names the operation that made the NaN, with its operand: the log of
        // the negative scale.
        stderr.contains("the log density is -inf at s = 0.5000")
            && stderr.contains("`y ~ Normal(0, -s)`")
            && stderr.contains("from log(-0.5)"),
        "{stderr}"
    );
    // An infinity the model writes itself (`-inf`, `s * inf`) is said to be one,
    // not left as a bare "not finite".
    for (name, source) in [
        (
            "neginf.rlm",
            "data y: real\nparam s ~ Normal(0, 1)\ntarget += -inf\ny ~ Normal(s, 1)\n",
        ),
        (
            "infmul.rlm",
            "data y: real\nparam s ~ Normal(0, 1)\ny ~ Normal(s * inf, 1)\n",
        ),
    ] {
        std::fs::write(dir.join(name), source).expect("write");
        let logp = rlc()
            .args(["logp", "--at", "s=0.5"])
            .arg(dir.join(name))
            .arg("--data")
            .arg(dir.join("bad.json"))
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&logp.stderr);
        assert_eq!(logp.status.code(), Some(4), "{stderr}");
        assert!(
            stderr.contains("at s = 0.5000") && stderr.contains("an infinity the model writes"),
            "{name}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A Wiener density of 0 says why: the response time is not above `tau` (a diffusion
/// model's usual reason no chain can start), or the bias is 0 or 1.
#[test]
fn a_zero_wiener_density_says_which_argument_makes_it() {
    let dir = temp_dir("wiener-zero");
    std::fs::write(
        dir.join("ddm.rlm"),
        "size T\ndata rt: real[T] in (0, inf)\ndata bias: real\nparam tau ~ Uniform(0, 1)\nrt ~ Wiener(1, tau, bias, 0.5)\n",
    )
    .expect("write");
    for (bias, at, why) in [
        (
            0.5,
            "tau=0.3",
            "the response time 0.25 is not above the non-decision time tau = 0.3, where the Wiener density is 0",
        ),
        (
            1.0,
            "tau=0.1",
            "the bias beta = 1 is not strictly between 0 and 1",
        ),
    ] {
        let data = format!("{{\"T\": 2, \"rt\": [0.6, 0.25], \"bias\": {bias}}}");
        std::fs::write(dir.join("ddm.json"), data).expect("write");
        let logp = rlc()
            .args(["logp", "--at", at])
            .arg(dir.join("ddm.rlm"))
            .arg("--data")
            .arg(dir.join("ddm.json"))
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&logp.stderr);
        assert_eq!(logp.status.code(), Some(4), "{stderr}");
        assert!(stderr.contains(why), "{at}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An `LBA` whose density is 0 (a response at or below `tau`) says so; one whose
/// `response` reaches past its accumulators names the data row; one whose `response` is a
/// constant cannot be simulated, and says why.
#[test]
fn lba_mistakes_are_named_where_they_are() {
    let dir = temp_dir("lba-mistakes");
    std::fs::write(
        dir.join("lba.rlm"),
        "size T
data choice: int[T]
data rt: real[T] in (0, inf)
param tau ~ Uniform(0, 1)
         rt ~ LBA(0.6, 0.5, [2.0, 1.0], 1, tau, response = choice - 1)
",
    )
    .expect("write");
    std::fs::write(
        dir.join("ok.csv"),
        "choice,rt
1,0.6
2,0.25
",
    )
    .expect("write");
    std::fs::write(
        dir.join("three.csv"),
        "choice,rt
1,0.6
2,0.7
3,0.8
",
    )
    .expect("write");
    let run = |args: &[&str], data: &str| {
        let out = rlc()
            .args(args)
            .arg(dir.join("lba.rlm"))
            .arg("--data")
            .arg(dir.join(data))
            .output()
            .expect("rlc runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).to_string(),
        )
    };
    let (code, stderr) = run(&["logp", "--at", "tau=0.3"], "ok.csv");
    assert_eq!(code, Some(4), "{stderr}");
    assert!(
        stderr.contains("is at or below the non-decision time `tau`, where `LBA`'s density is 0"),
        "{stderr}"
    );
    let (code, stderr) = run(&["logp", "--at", "tau=0.1"], "three.csv");
    assert_eq!(code, Some(3), "{stderr}");
    assert!(
        stderr.contains("`choice` holds 3 at line 4, but the model uses it as an index at"),
        "{stderr}"
    );
    // A constant response: no place to draw the response into.
    std::fs::write(
        dir.join("lba.rlm"),
        "size T
data rt: real[T] in (0, inf)
param tau ~ Uniform(0, 0.2)
         rt ~ LBA(0.6, 0.5, [2.0, 1.0], 1, tau, response = 0)
",
    )
    .expect("write");
    let (code, stderr) = run(&["simulate", "--at", "tau=0.1", "--seed", "1"], "ok.csv");
    assert_eq!(code, Some(1), "{stderr}");
    assert!(stderr.contains("E0191"), "{stderr}");
    assert!(stderr.contains("this `response` is a constant"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `y ~ LogDensity(lp)`: a log density written by hand is scored per observation, so
/// `--loo` sees every response; `rlc simulate` refuses it by name.
#[test]
fn a_log_density_written_by_hand_is_scored_per_observation_and_not_simulated() {
    let dir = temp_dir("log-density");
    // 60 responses between 0.6 and 1 s, and one contaminant at 4.5 s.
    let mut rts: Vec<String> = (0..60)
        .map(|k| format!("{:.3}", 0.6 + 0.4 * ((k * 37 % 60) as f64 / 60.0)))
        .collect();
    rts.push("4.5".into());
    let data = format!("{{\"T\": {}, \"rt\": [{}]}}", rts.len(), rts.join(", "));
    std::fs::write(dir.join("rt.json"), data).expect("write");
    let model = workspace().join("tests/check/ok/log_density.rlm");
    let run = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(dir.join("rt.json"))
        .args(["--loo", "--seed", "1", "--quiet", "--output-dir"])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("61 observations (PSIS-LOO)"), "{stdout}");
    let simulate = rlc()
        .arg("simulate")
        .arg(&model)
        .arg("--data")
        .arg(dir.join("rt.json"))
        .args(["--prior", "--output"])
        .arg(dir.join("sim.json"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&simulate.stderr);
    assert_eq!(simulate.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("`LogDensity` scores a value with a log density written by hand, which rlc cannot draw from"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Ctrl-C (SIGINT) stops the chains; the files keep what was written, with
/// their header, and rlc exits with 130.
#[test]
fn an_interrupted_run_keeps_its_files_and_exits_130() {
    let dir = temp_dir("interrupt");
    let child = rlc()
        .args([
            "run",
            "models/rl_hier.rlm",
            "--data",
            "models/data/rl_hier.csv",
            "--seed",
            "3",
            "--quiet",
            "--output-dir",
        ])
        .arg(&dir)
        .current_dir(workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlc starts");
    // Wait until the chains have started writing, then interrupt.
    let first = dir.join("rl_hier_1.csv");
    for _ in 0..200 {
        if std::fs::read_to_string(&first).is_ok_and(|t| t.contains("lp__")) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    let text = std::fs::read_to_string(&first).expect("file kept");
    assert!(
        text.contains("lp__,accept_stat__") && text.contains("Elapsed Time"),
        "{text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn summary_takes_the_maximum_tree_depth_from_the_files() {
    let dir = temp_dir("summary-depth");
    let out = rl_single("run")
        .args([
            "--max-depth",
            "2",
            "--warmup",
            "100",
            "--draws",
            "100",
            "--chains",
            "1",
        ])
        .args(["--seed", "1", "--quiet", "--output-dir"])
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let warned = |text: &[u8], depth: u32| {
        String::from_utf8_lossy(text).contains(&format!("hit the maximum tree depth of {depth};"))
    };
    assert!(
        warned(&out.stdout, 2),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let file = dir.join("rl_single_1.csv");
    let summary = rlc().arg("summary").arg(&file).output().expect("rlc runs");
    assert!(
        warned(&summary.stdout, 2),
        "the header's max_depth = 2 is used"
    );
    let summary = rlc()
        .arg("summary")
        .arg(&file)
        .args(["--max-depth", "5"])
        .output()
        .expect("rlc runs");
    assert!(
        !warned(&summary.stdout, 2),
        "--max-depth overrides the header"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn bench_takes_a_delimiter() {
    let dir = temp_dir("bench-delimiter");
    std::fs::create_dir_all(&dir).expect("temp dir");
    let text = std::fs::read_to_string(workspace().join("models/data/rl_single.csv"))
        .expect("bundled data");
    // `|` is not one of the delimiters detected from the header line.
    let data = dir.join("pipes.txt");
    std::fs::write(&data, text.replace(',', "|")).expect("write");
    let bench = |delimiter: Option<&str>| {
        let mut cmd = rlc();
        cmd.args(["bench", "models/rl_single.rlm", "--json", "--data"])
            .arg(&data)
            .current_dir(workspace());
        if let Some(d) = delimiter {
            cmd.args(["--delimiter", d]);
        }
        cmd.output().expect("rlc runs")
    };
    let without = bench(None);
    assert_eq!(
        without.status.code(),
        Some(3),
        "a data error without the flag"
    );
    let with = bench(Some("|"));
    assert_eq!(
        with.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&with.stderr)
    );
    assert!(String::from_utf8_lossy(&with.stdout).contains("\"grad_eval_us\""));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Reads a Zarr node's metadata document.
fn zarr_json(path: &std::path::Path) -> serde_json::Value {
    let text = std::fs::read_to_string(path.join("zarr.json"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).expect("zarr.json is JSON")
}

#[test]
fn output_format_zarr_writes_the_run_as_a_datatree_store() {
    let run = |dir: &std::path::Path, format: &str| {
        let out = rlc()
            .args([
                "run",
                "models/rl_hier.rlm",
                "--data",
                "models/data/rl_hier.csv",
            ])
            .args([
                "--chains", "2", "--warmup", "60", "--draws", "20", "--seed", "3",
            ])
            .args(["--quiet", "--output-format", format, "--output-dir"])
            .arg(dir)
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let zarr_dir = temp_dir("zarr");
    let csv_dir = temp_dir("zarr-csv");
    let stdout = run(&zarr_dir, "zarr");
    run(&csv_dir, "csv");
    let store = zarr_dir.join("rl_hier.zarr");
    assert!(stdout.contains("rl_hier.zarr"), "{stdout}");
    assert!(
        !zarr_dir.join("rl_hier_1.csv").exists(),
        "no CSV files with zarr"
    );

    // Zarr format 3: a root group and one group per DataTree group.
    let root = zarr_json(&store);
    assert_eq!(root["zarr_format"], 3);
    assert_eq!(root["node_type"], "group");
    for group in [
        "posterior",
        "sample_stats",
        "observed_data",
        "constant_data",
    ] {
        assert_eq!(
            zarr_json(&store.join(group))["node_type"],
            "group",
            "{group}"
        );
    }
    let attrs = &zarr_json(&store.join("posterior"))["attributes"];
    assert_eq!(attrs["inference_library"], "rlc");
    assert_eq!(attrs["seed"], 3);
    assert_eq!(attrs["num_draws"], 20);
    let stats_attrs = &zarr_json(&store.join("sample_stats"))["attributes"];
    assert_eq!(stats_attrs["step_size"].as_array().map(Vec::len), Some(2));

    // Each array names its axes where xarray looks for them.
    let array = |path: &str| zarr_json(&store.join(path));
    let a = array("posterior/A");
    assert_eq!(a["node_type"], "array");
    assert_eq!(a["shape"], serde_json::json!([2, 20, 20]));
    assert_eq!(
        a["dimension_names"],
        serde_json::json!(["chain", "draw", "N"])
    );
    assert_eq!(a["data_type"], "float64");
    assert_eq!(
        array("posterior/mu_pr")["dimension_names"],
        serde_json::json!(["chain", "draw", "mu_pr_dim_0"])
    );
    assert_eq!(array("posterior/N")["data_type"], "string");
    assert_eq!(array("posterior/chain")["data_type"], "int64");
    assert_eq!(array("sample_stats/diverging")["data_type"], "bool");
    assert_eq!(array("sample_stats/tree_depth")["data_type"], "int64");
    assert_eq!(
        array("observed_data/choice")["dimension_names"],
        serde_json::json!(["N", "T"])
    );
    // The data the model does not observe with `~` is constant_data.
    assert_eq!(
        array("constant_data/outcome")["dimension_names"],
        serde_json::json!(["N", "T"])
    );
    assert!(!store.join("observed_data/outcome").exists());
    for stat in ["lp", "acceptance_rate", "step_size", "n_steps", "energy"] {
        assert_eq!(
            array(&format!("sample_stats/{stat}"))["dimension_names"],
            serde_json::json!(["chain", "draw"])
        );
    }

    // The draws are the CSV files': chain 1's mu_pr chunk (one chunk per
    // chain, uncompressed little-endian float64, draw-major) against the
    // columns mu_pr.1 and mu_pr.2 of rl_hier_1.csv.
    let chunk = std::fs::read(store.join("posterior/mu_pr/c/0/0/0")).expect("chunk of chain 1");
    let values: Vec<f64> = chunk
        .chunks_exact(8)
        .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
        .collect();
    let csv = std::fs::read_to_string(csv_dir.join("rl_hier_1.csv")).expect("csv");
    // The store holds mu_pr row by row: each draw's two elements in turn.
    let expected: Vec<f64> = csv_column(&csv, "mu_pr.1")
        .into_iter()
        .zip(csv_column(&csv, "mu_pr.2"))
        .flat_map(|(first, second)| [first, second])
        .collect();
    assert_eq!(values, expected);
    let _ = std::fs::remove_dir_all(&zarr_dir);
    let _ = std::fs::remove_dir_all(&csv_dir);
}

/// The draws of column `name` in the text of a CmdStan CSV file (comments and
/// blank lines skipped).
fn csv_column(text: &str, name: &str) -> Vec<f64> {
    let mut rows = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header: Vec<&str> = rows.next().expect("a header").split(',').collect();
    let k = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name}"));
    rows.map(|row| {
        let cell = row.split(',').nth(k).expect("a cell per column");
        cell.parse()
            .unwrap_or_else(|_| panic!("{name}: {cell:?} is no number"))
    })
    .collect()
}

/// The small things a new user trips on: each gets its exit code and a
/// message that says what to do.
#[test]
fn a_new_users_small_mistakes_get_answers() {
    let dir = temp_dir("small-mistakes");
    let root = workspace();
    let model = root.join("models/rl_single.rlm");
    let data = root.join("models/data/rl_single.csv");
    // `rlc summary` on a data file is a data error, not a table.
    let out = rlc().arg("summary").arg(&data).output().expect("rlc runs");
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no `lp__` column"));
    // `--draws 0` is a usage error.
    let out = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args(["--draws", "0", "--quiet", "--output-dir"])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--draws must be at least 1"));
    // `rlc logp` without a point names both ways to give one.
    let out = rlc()
        .arg("logp")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--at") && stderr.contains("--unconstrained"),
        "{stderr}"
    );
    // Bad cells are reported once per column, with how many more there are;
    // a decimal comma gets a hint.
    std::fs::write(dir.join("bad.csv"), "action;reward\n0;0,5\n3;1\n5;0\n1;0\n").expect("write");
    let out = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(dir.join("bad.csv"))
        .args(["--quiet", "--output-dir"])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("line 3") && stderr.contains("(and 1 more row like it)"),
        "{stderr}"
    );
    assert!(stderr.contains("decimal comma"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The summary can show the model's own names (0-based, subject ids from
/// `size N by subjID`) and only the variables asked for; `rlc summary` reads
/// the ids back from the files' header.
#[test]
fn the_summary_shows_the_models_names_and_selected_variables() {
    let dir = temp_dir("labels");
    let root = workspace();
    std::fs::write(
        dir.join("hier.csv"),
        "subjID,choice,outcome\nS07,1,1\nS07,2,-1\nS07,1,1\nS11,2,1\nS11,1,-1\nS11,2,1\n",
    )
    .expect("write");
    let out = rlc()
        .arg("run")
        .arg(root.join("models/rl_hier.rlm"))
        .arg("--data")
        .arg(dir.join("hier.csv"))
        .args([
            "--quiet", "--chains", "2", "--warmup", "50", "--draws", "50",
        ])
        .args(["--seed", "3", "--labels", "model", "--vars", "A,sigma"])
        .arg("--output-dir")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("A[S07]") && stdout.contains("A[S11]") && stdout.contains("sigma[0]"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("tau") && !stdout.contains("mu_pr"),
        "{stdout}"
    );
    let files: Vec<PathBuf> = std::fs::read_dir(dir.join("out"))
        .expect("out")
        .map(|e| e.expect("entry").path())
        .collect();
    let out = rlc()
        .arg("summary")
        .args(&files)
        .args(["--labels", "model", "--vars", "tau"])
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("tau[S11]") && !stdout.contains("A[S07]"),
        "{stdout}"
    );
    // CmdStan's names (the default) say how they relate to the model's.
    let out = rlc()
        .arg("summary")
        .args(&files)
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("A.1") && stdout.contains("--labels model"),
        "{stdout}"
    );
    let out = rlc()
        .arg("summary")
        .args(&files)
        .args(["--vars", "nope"])
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Observed data outside a distribution's support is a data error found
/// before sampling (the formulas alone would score it as finite): a negative
/// waiting time under Exponential, a Bernoulli outcome of 2.
#[test]
fn data_outside_a_support_is_a_data_error() {
    let dir = temp_dir("support");
    for (model, data, place) in [
        (
            "size T\ndata y: real[T]\nparam lam ~ HalfNormal(1)\ny ~ Exponential(lam)\n",
            "y\n0.5\n-0.3\n",
            "`y ~ Exponential(lam)`",
        ),
        (
            "size T\ndata y: int[T]\nparam p ~ Beta(1, 1)\nscan (s = 0.0; yi in y) {\n  yi ~ Bernoulli(p)\n  s\n}\n",
            "y\n0\n1\n2\n",
            "`yi ~ Bernoulli(p)`",
        ),
        // Counts and positive values whose log density has terms (lgamma,
        // log y) that are not finite outside the support.
        (
            "size T\ndata y: int[T]\nparam r ~ Exponential(1)\ny ~ Poisson(r)\n",
            "y\n1\n-1\n",
            "`y ~ Poisson(r)`",
        ),
        (
            "size T\ndata y: int[T]\nparam p ~ Beta(1, 1)\ny ~ Binomial(3, p)\n",
            "y\n1\n4\n",
            "`y ~ Binomial(3, p)`",
        ),
        (
            "size T\ndata y: real[T]\nparam a ~ Exponential(1)\ny ~ Gamma(a, a)\n",
            "y\n0.5\n-1.5\n",
            "`y ~ Gamma(a, a)`",
        ),
        (
            "size T\ndata y: real[T]\nparam a ~ Exponential(1)\ny ~ Uniform(0, 1)\ntarget += -a\n",
            "y\n0.5\n5\n",
            "`y ~ Uniform(0, 1)`",
        ),
    ] {
        std::fs::write(dir.join("m.rlm"), model).expect("write");
        std::fs::write(dir.join("d.csv"), data).expect("write");
        let out = rlc()
            .arg("run")
            .arg(dir.join("m.rlm"))
            .arg("--data")
            .arg(dir.join("d.csv"))
            .args(["--quiet", "--output-dir"])
            .arg(dir.join("out"))
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains("outside the support") && stderr.contains(place),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `Categorical(p = …)` takes a probability vector, as Stan does: where a row of `p` is
/// not one (a sum away from 1) the density is -inf, and the explanation says so, instead
/// of scoring the log of an unnormalized number; a row that is one (within rounding) is
/// scored as before.
/// The number `rlc logp` printed as `logp = …`.
fn logp_value(stdout: &str, stderr: &str) -> f64 {
    stdout
        .lines()
        .find_map(|l| l.strip_prefix("logp = "))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{stdout}{stderr}"))
}

/// `rlc logp` of `dir/model` on `dir/d.csv` at `at`: its stdout and stderr.
fn logp_at(dir: &std::path::Path, model: &str, at: &str) -> (String, String) {
    let out = rlc()
        .arg("logp")
        .arg(dir.join(model))
        .arg("--data")
        .arg(dir.join("d.csv"))
        .args(["--at", at])
        .output()
        .expect("rlc runs");
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_bernoulli_or_binomial_probability_outside_zero_one_is_rejected() {
    let dir = temp_dir("bernoulli-p");
    for (name, line) in [
        ("bern.rlm", "y ~ Bernoulli(p = b)"),
        ("binom.rlm", "y ~ Binomial(3, p = b)"),
    ] {
        std::fs::write(
            dir.join(name),
            format!("size T\ndata y: int[T]\nparam b ~ Normal(0, 1)\n{line}\n"),
        )
        .expect("write");
    }
    std::fs::write(dir.join("d.csv"), "y\n1\n1\n").expect("write");
    let logp = |model: &str, at: &str| logp_at(&dir, model, at);
    for model in ["bern.rlm", "binom.rlm"] {
        // Before, y = 1 at p = 1.5 scored log 1.5 (and Binomial's 1 of 3 a finite formula).
        for at in ["b=1.5", "b=-0.25"] {
            let (stdout, stderr) = logp(model, at);
            assert!(
                stdout.contains("logp = -inf"),
                "{model} {at}: {stdout}{stderr}"
            );
            assert!(
                stderr.contains("is outside [0, 1]") && stderr.contains("`p`"),
                "{model} {at}: {stderr}"
            );
        }
        // Inside, and at the edges, the formula: p = 1 scores a certain 1 as 0.
        let (stdout, stderr) = logp(model, "b=0.5");
        assert!(!stdout.contains("-inf"), "{model}: {stdout}{stderr}");
    }
    let (stdout, stderr) = logp("bern.rlm", "b=1");
    let prior = -0.5 - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let value = logp_value(&stdout, &stderr);
    assert!((value - prior).abs() < 1e-12, "{value} vs {prior}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn categorical_probabilities_must_sum_to_one() {
    let dir = temp_dir("categorical-p");
    std::fs::write(
        dir.join("m.rlm"),
        "size T\ndata c: int[T] in 0..3\nparam b ~ Normal(0, 1)\nc ~ Categorical(p = [0.5, 0.5, b])\n",
    )
    .expect("write");
    std::fs::write(
        dir.join("ok.rlm"),
        "size T\ndata c: int[T] in 0..3\nparam b ~ Normal(0, 1)\nc ~ Categorical(p = [1.0 / 3, 1.0 / 3, 1.0 / 3])\n",
    )
    .expect("write");
    std::fs::write(dir.join("d.csv"), "c\n0\n2\n").expect("write");
    let logp = |model: &str, at: &str| logp_at(&dir, model, at);
    // p = [0.5, 0.5, 2] sums to 3: before, log 0.5 + log 2 was scored.
    let (stdout, stderr) = logp("m.rlm", "b=2");
    assert!(stdout.contains("logp = -inf"), "{stdout}{stderr}");
    assert!(
        stderr.contains("are not a probability vector")
            && stderr.contains("`Categorical(p = [0.5, 0.5, b])`"),
        "{stderr}"
    );
    // Thirds sum to 1 only within rounding: 2 log(1/3) plus the prior.
    let (stdout, stderr) = logp("ok.rlm", "b=0");
    let expected = 2.0 * (1.0f64 / 3.0).ln() - 0.5 * (2.0 * std::f64::consts::PI).ln();
    let value = logp_value(&stdout, &stderr);
    assert!((value - expected).abs() < 1e-12, "{value} vs {expected}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc loo` refuses a folder holding the runs of two models (the default
/// `output/` collects them), and `--vars` is checked before sampling.
#[test]
fn loo_does_not_pool_two_models_and_vars_are_checked_first() {
    let dir = temp_dir("loo-pool");
    let root = workspace();
    for model in ["models/rl_single.rlm", "models/rl_pos_neg.rlm"] {
        let out = rlc()
            .arg("run")
            .arg(root.join(model))
            .arg("--data")
            .arg(root.join("models/data/rl_single.csv"))
            .args([
                "--quiet", "--chains", "1", "--warmup", "50", "--draws", "50",
            ])
            .args(["--log-lik", "--seed", "1", "--output-dir"])
            .arg(dir.join("out"))
            .output()
            .expect("rlc runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = rlc()
        .arg("loo")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("2 models"), "{stderr}");
    let out = rlc()
        .arg("run")
        .arg(root.join("models/rl_single.rlm"))
        .arg("--data")
        .arg(root.join("models/data/rl_single.csv"))
        .args(["--quiet", "--vars", "alpah", "--output-dir"])
        .arg(dir.join("vars"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("alpah") && stderr.contains("alpha, beta"),
        "{stderr}"
    );
    assert!(!dir.join("vars").exists(), "no run started");
    let _ = std::fs::remove_dir_all(&dir);
}

// ---- Faults: signals, full disks, shared folders, hostile sizes --------------

/// Every line of a CSV of draws after its header has the header's number of
/// fields, and the file ends with a newline: rows are written whole.
fn assert_rows_whole(path: &std::path::Path) -> usize {
    let text = std::fs::read_to_string(path).expect("file kept");
    assert!(
        text.ends_with('\n'),
        "{}: ends inside a line",
        path.display()
    );
    let mut lines = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty());
    let header = lines.next().expect("a header line");
    let fields = header.split(',').count();
    let mut rows = 0;
    for line in lines {
        assert_eq!(
            line.split(',').count(),
            fields,
            "{}: {line}",
            path.display()
        );
        rows += 1;
    }
    rows
}

/// Starts a long `rlc run` of rl_hier into `dir`, waits until the first
/// chain has written `marker`, and sends `signal`.
fn run_and_signal(dir: &std::path::Path, signal: &str, marker: &str) -> std::process::Output {
    let child = rlc()
        .args([
            "run",
            "models/rl_hier.rlm",
            "--data",
            "models/data/rl_hier.csv",
            "--seed",
            "3",
            "--warmup",
            "150",
            "--draws",
            "100000",
            "--quiet",
            "--output-dir",
        ])
        .arg(dir)
        .current_dir(workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlc starts");
    let first = dir.join("rl_hier_1.csv");
    for _ in 0..3000 {
        if std::fs::read_to_string(&first).is_ok_and(|t| t.contains(marker)) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(300));
    let status = Command::new("kill")
        .args([&format!("-{signal}"), &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    child.wait_with_output().expect("rlc ends")
}

/// SIGTERM (what a scheduler sends at its time limit) mid-sampling stops
/// the chains like Ctrl-C: exit 143, every file complete to its last row,
/// and `rlc summary` reads them.
#[test]
fn sigterm_mid_sampling_exits_143_and_the_files_are_whole() {
    let dir = temp_dir("sigterm");
    let out = run_and_signal(&dir, "TERM", "Adaptation terminated");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("SIGTERM"), "{stderr}");
    let files: Vec<PathBuf> = (1..=4)
        .map(|c| dir.join(format!("rl_hier_{c}.csv")))
        .collect();
    let mut drawn = 0;
    for f in &files {
        drawn += assert_rows_whole(f);
        let text = std::fs::read_to_string(f).expect("file");
        assert!(text.contains("Interrupted"), "{text}");
    }
    assert!(drawn > 0, "some draws were made before the signal");
    let summary = rlc()
        .arg("summary")
        .args(&files)
        .output()
        .expect("rlc runs");
    assert_eq!(
        summary.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&summary.stderr)
    );
    assert!(String::from_utf8_lossy(&summary.stdout).contains("mu_pr.1"));
    assert!(!dir.join(".rlc.lock").exists(), "the lock is released");
    let _ = std::fs::remove_dir_all(&dir);
}

/// SIGHUP during warmup: exit 129, the files keep their header.
#[test]
fn sighup_during_warmup_exits_129() {
    let dir = temp_dir("sighup");
    let out = run_and_signal(&dir, "HUP", "lp__");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(129), "{stderr}");
    assert!(stderr.contains("SIGHUP"), "{stderr}");
    assert_rows_whole(&dir.join("rl_hier_1.csv"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// Standard output on a full disk: exit 74 and a message, never a panic
/// or a success.
#[test]
fn a_full_disk_behind_standard_output_is_exit_74() {
    let Ok(full) = std::fs::OpenOptions::new().write(true).open("/dev/full") else {
        return; // not Linux
    };
    let dir = temp_dir("devfull");
    let csv = dir.join("m_1.csv");
    std::fs::write(&csv, "lp__,x\n1,2\n3,4\n").expect("write");
    let cases: Vec<Vec<String>> = vec![
        vec![
            "check".into(),
            "--emit".into(),
            "shapes".into(),
            "models/rl_single.rlm".into(),
        ],
        vec![
            "logp".into(),
            "models/rl_single.rlm".into(),
            "--data".into(),
            "models/data/rl_single.csv".into(),
            "--at".into(),
            "alpha=0.3,beta=2".into(),
        ],
        vec!["summary".into(), csv.display().to_string()],
    ];
    for args in cases {
        let out = rlc()
            .args(&args)
            .current_dir(workspace())
            .stdout(full.try_clone().expect("clone"))
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(74), "{args:?}: {stderr}");
        assert!(
            stderr.contains("cannot write to standard output") && !stderr.contains("panicked"),
            "{args:?}: {stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// An output file that cannot grow (a full disk, here a file-size limit)
/// stops the run with exit 74, names the file and what it holds; the files
/// hold whole rows (the row cut by the limit is taken back), the lock is
/// released and `rlc summary` reads them. rlc ignores SIGXFSZ itself: the
/// shell leaves the limit's signal at its default, which kills.
#[test]
fn a_full_disk_during_sampling_is_exit_74_and_the_rows_stay_whole() {
    if !std::path::Path::new("/bin/sh").exists() {
        return;
    }
    let dir = temp_dir("fsize");
    // 40 blocks of 512 bytes: the header and a few hundred draws fit.
    let script = format!(
        "ulimit -f 40 && exec '{}' run models/rl_single.rlm --data models/data/rl_single.csv --seed 2 --quiet --chains 2 --output-dir '{}'",
        env!("CARGO_BIN_EXE_rlc"),
        dir.display()
    );
    let out = Command::new("/bin/sh")
        .args(["-c", &script])
        .current_dir(workspace())
        .output()
        .expect("sh runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(74), "{stderr}");
    // The first chain to hit the limit stops the run: it is named.
    assert!(
        stderr.contains("cannot write to") && stderr.contains("rl_single_"),
        "{stderr}"
    );
    assert!(stderr.contains("of the chain's draws"), "{stderr}");
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "no summary from memory"
    );
    let files = [dir.join("rl_single_1.csv"), dir.join("rl_single_2.csv")];
    for file in &files {
        let text = std::fs::read_to_string(file).expect("file kept");
        assert!(text.ends_with('\n'), "{} ends mid-row", file.display());
    }
    assert!(!dir.join(".rlc.lock").exists(), "the lock is released");
    let summary = rlc()
        .arg("summary")
        .args(&files)
        .output()
        .expect("rlc runs");
    let summary_err = String::from_utf8_lossy(&summary.stderr);
    assert_eq!(summary.status.code(), Some(0), "{summary_err}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A second run into a folder in use is refused (exit 75); a lock left by a
/// process that no longer exists is taken over.
#[test]
fn an_output_folder_in_use_is_refused_and_a_stale_lock_taken_over() {
    let dir = temp_dir("lock");
    let lock = dir.join(".rlc.lock");
    let run = || {
        rl_single("run")
            .args([
                "--warmup",
                "50",
                "--draws",
                "50",
                "--chains",
                "1",
                "--seed",
                "1",
                "--quiet",
                "--output-dir",
            ])
            .arg(&dir)
            .current_dir(workspace())
            .output()
            .expect("rlc runs")
    };
    // This test's own process is alive: the folder is in use.
    std::fs::write(&lock, std::process::id().to_string()).expect("write");
    let out = run();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{stderr}");
    assert!(stderr.contains("in use by another run"), "{stderr}");
    assert!(!dir.join("rl_single_1.csv").exists(), "nothing written");
    // A process that has ended.
    let mut gone = Command::new("true").spawn().expect("true runs");
    let pid = gone.id();
    gone.wait().expect("ends");
    std::fs::write(&lock, pid.to_string()).expect("write");
    let out = run();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!lock.exists(), "the lock is released at the end");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc summary` says when chains differ in length, refuses files with no
/// draws, skips a cut last row with a note, and lays out any name.
#[test]
fn summary_of_uneven_empty_and_cut_files() {
    let dir = temp_dir("summary-faults");
    let write = |name: &str, text: &str| {
        let p = dir.join(name);
        std::fs::write(&p, text).expect("write");
        p
    };
    let rows = |n: usize| -> String {
        (0..n)
            .map(|i| format!("{},{}\n", -(i as f64), (i as f64).sin()))
            .collect()
    };
    let a = write("a.csv", &format!("lp__,x\n{}", rows(30)));
    let b = write("b.csv", &format!("lp__,x\n{}", rows(20)));
    let out = rlc().arg("summary").arg(&a).arg(&b).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("different numbers of draws") && stderr.contains("first 20"),
        "{stderr}"
    );
    let empty = write("empty.csv", "# header only\nlp__,x\n");
    let out = rlc().arg("summary").arg(&empty).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("no draws"), "{stderr}");
    assert!(String::from_utf8_lossy(&out.stdout).is_empty());
    let cut = write("cut.csv", &format!("lp__,x\n{}-3.2,0.", rows(25)));
    let out = rlc().arg("summary").arg(&cut).output().expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("partial row"), "{stderr}");
    let long = "p".repeat(65_536);
    let named = write("long.csv", &format!("lp__,{long}\n{}", rows(10)));
    let out = rlc().arg("summary").arg(&named).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains(&long));
    // A byte order mark (a file saved by a spreadsheet) is not part of `lp__`.
    let marked = write("bom.csv", &format!("\u{feff}lp__,x\n{}", rows(10)));
    let out = rlc().arg("summary").arg(&marked).output().expect("runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Sizes and counts no machine can hold are refused before anything is
/// allocated, naming the array and the bytes; endless input is bounded.
#[test]
fn huge_sizes_and_counts_are_refused_before_allocating() {
    let dir = temp_dir("huge");
    let model = dir.join("big.rlm");
    std::fs::write(&model, "size N\nparam x: real[N] ~ Normal(0, 1)\n").expect("write");
    let data = dir.join("big.json");
    std::fs::write(&data, r#"{"N": 1000000000}"#).expect("write");
    let out = rlc()
        .arg("logp")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args(["--unconstrained", "0", "--max-memory", "2G"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(3), "{stderr}");
    assert!(
        stderr.contains("`x` would hold 1000000000 elements") && stderr.contains("8.0 GB"),
        "{stderr}"
    );
    let literal = dir.join("literal.rlm");
    std::fs::write(
        &literal,
        "size N\ndata y: real[N]\nparam m ~ Normal(0, 1)\nlet z = zeros(4611686018427387904)\ny ~ Normal(m + sum(z), 1)\n",
    )
    .expect("write");
    let small = dir.join("small.json");
    std::fs::write(&small, r#"{"N": 2, "y": [0.1, 0.2]}"#).expect("write");
    let out = rlc()
        .arg("logp")
        .arg(&literal)
        .arg("--data")
        .arg(&small)
        .args(["--unconstrained", "0"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        matches!(out.status.code(), Some(1) | Some(3)) && !stderr.contains("panicked"),
        "{stderr}"
    );
    for (flag, value, message) in [
        ("--draws", "2305843009213693952", "--draws"),
        (
            "--max-depth",
            "4294967295",
            "--max-depth must be between 1 and 30",
        ),
    ] {
        let out = rl_single("run")
            .args([flag, value, "--output-dir"])
            .arg(&dir)
            .current_dir(workspace())
            .output()
            .expect("runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{flag}: {stderr}");
        assert!(stderr.contains(message), "{flag}: {stderr}");
    }
    // The draws of a run must fit in memory too.
    let out = rlc()
        .args([
            "run",
            "models/rl_hier.rlm",
            "--data",
            "models/data/rl_hier.csv",
            "--draws",
            "100000000",
            "--max-memory",
            "1G",
            "--output-dir",
        ])
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("of memory for the draws"), "{stderr}");
    // A text file larger than the memory allowed is refused before it is read whole.
    let big = dir.join("big.csv");
    let mut text = String::from("action,reward\n");
    while text.len() < 11 << 20 {
        text.push_str("0,1\n1,0\n");
    }
    std::fs::write(&big, text).expect("writes");
    let out = rlc()
        .args(["logp", "models/rl_single.rlm", "--data"])
        .arg(&big)
        .args(["--at", "alpha=0.5,beta=1", "--max-memory", "10M"])
        .current_dir(workspace())
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("or endless"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// Loops nested thousands deep are E0005, not a stack overflow.
#[test]
fn deeply_nested_loops_are_a_model_error() {
    let dir = temp_dir("nesting");
    let model = dir.join("deep.rlm");
    let depth = 3000;
    let mut source = String::from("size T\nparam a ~ Normal(0, 1)\n");
    for i in 0..depth {
        source.push_str(&format!("for i{i} in 0..T {{\n"));
    }
    source.push_str("target += a\n");
    source.push_str(&"}\n".repeat(depth));
    std::fs::write(&model, source).expect("write");
    let out = rlc()
        .args(["check", "--color", "never"])
        .arg(&model)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("E0005"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--adaptation` chooses the warmup, its default length follows it, and the
/// choice is written in the header and shown by `rlc run` and `rlc summary`.
#[test]
fn the_adaptation_is_chosen_written_and_shown() {
    for (adaptation, warmup, header_key) in [
        (None, 400, "early_window = 10"),
        (Some("fisher"), 400, "early_window = 10"),
        (Some("stan"), 1000, "init_buffer = 75 (Default)"),
        (Some("fisher-lowrank"), 400, "early_window = 10"),
    ] {
        let name = format!("adaptation-{}", adaptation.unwrap_or("default"));
        let dir = temp_dir(&name);
        let mut command = rlc();
        command
            .args([
                "run",
                "models/rl_single.rlm",
                "--data",
                "models/data/rl_single.csv",
            ])
            .args(["--chains", "1", "--draws", "50", "--seed", "3", "--quiet"])
            .arg("--output-dir")
            .arg(&dir)
            .current_dir(workspace());
        if let Some(a) = adaptation {
            command.args(["--adaptation", a]);
        }
        let out = command.output().expect("rlc runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        let shown = adaptation.unwrap_or("fisher");
        let line = format!("in {warmup} warmup iterations with {shown} adaptation");
        assert!(stdout.contains(&line), "{stdout}");
        let file = dir.join("rl_single_1.csv");
        let text = std::fs::read_to_string(&file).expect("chain file");
        assert!(
            text.contains(&format!("#       adaptation = {shown}\n")),
            "{text}"
        );
        assert!(text.contains(&format!("#     num_warmup = {warmup}\n")));
        assert!(text.contains(header_key));
        let summary = rlc().arg("summary").arg(&file).output().expect("rlc runs");
        let again = String::from_utf8_lossy(&summary.stdout);
        assert!(
            again.contains(&format!(
                "1 chains × 50 draws, after {warmup} warmup iterations with {shown} adaptation"
            )),
            "{again}"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    let bad = rl_single("run")
        .args(["--adaptation", "nutpie"])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// `rlc recover --adaptation` chooses each fit's warmup (the default is
/// `rlc run`'s) and the recovery CSV's last column records it.
#[test]
fn recover_takes_the_adaptation_and_records_it() {
    for (adaptation, shown) in [
        (None, "fisher"),
        (Some("stan"), "stan"),
        (Some("fisher-lowrank"), "fisher-lowrank"),
    ] {
        let dir = temp_dir(&format!("recover-adaptation-{shown}"));
        std::fs::create_dir_all(&dir).expect("temporary directory");
        let output = dir.join("recover.csv");
        let mut command = rlc();
        command
            .args([
                "recover",
                "models/rl_single.rlm",
                "--data",
                "models/data/rl_single.csv",
            ])
            .args([
                "--fits", "2", "--chains", "1", "--warmup", "60", "--draws", "60",
            ])
            .args(["--seed", "5", "--quiet", "--output"])
            .arg(&output)
            .current_dir(workspace());
        if let Some(a) = adaptation {
            command.args(["--adaptation", a]);
        }
        let out = command.output().expect("rlc runs");
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}");
        assert!(stdout.contains(&format!("60 warmup ({shown})")), "{stdout}");
        let text = std::fs::read_to_string(&output).expect("the recovery CSV");
        let mut lines = text.lines();
        let header = lines.next().expect("a header");
        assert!(
            header.ends_with(",ess_bulk,divergences,adaptation"),
            "{header}"
        );
        let rows: Vec<&str> = lines.collect();
        assert!(!rows.is_empty());
        for row in rows {
            assert!(row.ends_with(&format!(",{shown}")), "{row}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let bad = rl_single("recover")
        .args(["--adaptation", "nutpie"])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(bad.status.code(), Some(2));
}

/// Each fit's divergent transitions are in its rows of the CSV, and the
/// warning names the fits that had any: a study's miscalibration may come
/// from a few fits its sampler could not explore.
#[test]
fn recover_names_the_fits_that_diverged() {
    let dir = temp_dir("recover-divergences");
    std::fs::create_dir_all(&dir).expect("temporary directory");
    let output = dir.join("recover.csv");
    // Eight schools with a warmup too short for its funnel: seed 3 diverges
    // in three of four fits.
    let out = rlc()
        .args(["recover", "models/eight_schools.rlm", "--data"])
        .arg("models/data/eight_schools.json")
        .args([
            "--fits", "4", "--warmup", "15", "--draws", "30", "--seed", "3",
        ])
        .arg("--output")
        .arg(&output)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let text = std::fs::read_to_string(&output).expect("the recovery CSV");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("a header").split(',').collect();
    let column = |name: &str| header.iter().position(|c| *c == name).expect(name);
    let (fit, divergences) = (column("fit"), column("divergences"));
    let mut per_fit: std::collections::BTreeMap<usize, usize> = Default::default();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let k: usize = cells[fit].parse().expect("a fit");
        let d: usize = cells[divergences].parse().expect("a count");
        assert_eq!(
            *per_fit.entry(k).or_insert(d),
            d,
            "one count per fit: {line}"
        );
    }
    assert_eq!(per_fit.len(), 4, "{text}");
    let total: usize = per_fit.values().sum();
    let diverged: Vec<String> = per_fit
        .iter()
        .filter(|(_, d)| **d > 0)
        .map(|(k, _)| k.to_string())
        .collect();
    assert!(total > 0 && diverged.len() < 4, "{per_fit:?}");
    let warning = format!(
        "warning: {total} divergent transitions in {} of 4 fits (fits {}:",
        diverged.len(),
        diverged.join(", ")
    );
    assert!(stdout.contains(&warning), "{warning}\n{stdout}");
}

#[test]
fn recover_starts_every_fit_where_init_says() {
    // Random starts (x in (-2, 2)) give the scale x - 10 < 0: every fit fails to start.
    let dir = temp_dir("recover-init");
    std::fs::write(
        dir.join("far.rlm"),
        "data y: real[3]\nparam x ~ Normal(20, 1)\ny ~ Normal(0, x - 10)\n",
    )
    .expect("write");
    std::fs::write(dir.join("far.json"), "{\"y\": [0, 0, 0]}").expect("write");
    std::fs::write(dir.join("init.json"), "{\"x\": 20}").expect("write");
    std::fs::write(dir.join("unknown.json"), "{\"z\": 1}").expect("write");
    let recover = |init: &[&str]| {
        rlc()
            .arg("recover")
            .arg(dir.join("far.rlm"))
            .arg("--data")
            .arg(dir.join("far.json"))
            .args([
                "--fits", "2", "--chains", "1", "--warmup", "50", "--draws", "50", "--seed", "3",
            ])
            .args(init)
            .arg("--quiet")
            .arg("--output")
            .arg(dir.join("recover.csv"))
            .output()
            .expect("rlc runs")
    };
    let random = recover(&[]);
    let stderr = String::from_utf8_lossy(&random.stderr);
    assert_eq!(random.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("no fit succeeded"), "{stderr}");

    let init_file = dir.join("init.json").display().to_string();
    let given = recover(&["--init", &init_file]);
    let stdout = String::from_utf8_lossy(&given.stdout);
    assert_eq!(
        given.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&given.stderr)
    );
    assert!(
        stdout.contains("2 of 2 simulated data sets fitted")
            && stdout.contains("seed 3, init x given (others from (-2, 2))"),
        "{stdout}"
    );

    // A radius is recorded too; a bad file or radius is refused once, before any fit.
    let origin = recover(&["--init", "0"]);
    assert!(
        String::from_utf8_lossy(&origin.stdout).contains("seed 3, init 0)"),
        "{}",
        String::from_utf8_lossy(&origin.stdout)
    );
    let unknown = recover(&["--init", &dir.join("unknown.json").display().to_string()]);
    let stderr = String::from_utf8_lossy(&unknown.stderr);
    assert_eq!(unknown.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("initial values: the model has no parameter `z`")
            && !stderr.contains("fit 0"),
        "{stderr}"
    );
    let negative = recover(&["--init", "-1"]);
    assert_eq!(negative.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn threads_per_chain_do_not_change_the_draws() {
    let mut texts = Vec::new();
    for threads in ["1", "3"] {
        let dir = temp_dir(&format!("threads-{threads}"));
        let out = rlc()
            .args([
                "run",
                "models/rl_hier.rlm",
                "--data",
                "models/data/rl_hier_sim.csv",
            ])
            .args([
                "--chains", "1", "--warmup", "60", "--draws", "30", "--seed", "9",
            ])
            .args(["--threads", threads, "--quiet", "--output-dir"])
            .arg(&dir)
            .current_dir(workspace())
            .output()
            .expect("rlc runs");
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(dir.join("rl_hier_1.csv")).expect("written");
        texts.push(
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(texts[0].len() > 30, "the draws were written");
    assert_eq!(texts[0], texts[1]);
}

#[test]
fn zero_threads_is_a_usage_error() {
    let out = rlc()
        .args([
            "run",
            "models/rl_hier.rlm",
            "--data",
            "models/data/rl_hier_sim.csv",
        ])
        .args(["--threads", "0", "--quiet"])
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--threads must be at least 1"));
}

/// Each thread of a chain computes in its own copy of the model's arrays (about
/// 210 kB for rl_hier), counted against `--max-memory`; threads beyond the
/// machine's cores are not made, so `--threads 1000` counts the cores' copies.
#[test]
fn the_memory_limit_counts_each_threads_arrays() {
    let dir = temp_dir("threads-memory");
    let run = |threads: &str| {
        rlc()
            .args([
                "run",
                "models/rl_hier.rlm",
                "--data",
                "models/data/rl_hier.csv",
            ])
            .args([
                "--chains", "1", "--warmup", "10", "--draws", "10", "--quiet",
            ])
            .args(["--threads", threads, "--max-memory", "300K", "--output-dir"])
            .arg(&dir)
            .current_dir(workspace())
            .output()
            .expect("runs")
    };
    let one = run("1");
    assert_eq!(
        one.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&one.stderr)
    );
    let many = run("1000");
    let stderr = String::from_utf8_lossy(&many.stderr);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores >= 2 {
        assert_eq!(many.status.code(), Some(3), "{stderr}");
        assert!(
            stderr.contains(&format!("on {cores} threads (--threads)")),
            "{stderr}"
        );
    } else {
        // One core: one thread, as with --threads 1.
        assert_eq!(many.status.code(), Some(0), "{stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--init FILE` starts every chain at the values it gives (CmdStan's `init=FILE`), and
/// `--init R` is the radius of the random ones: a density finite only where `x > 10` is
/// out of reach of initial values drawn from (-2, 2), and in reach from the file's.
#[test]
fn init_values_from_a_file_start_the_chains_where_random_ones_cannot() {
    let dir = temp_dir("init");
    std::fs::write(
        dir.join("far.rlm"),
        "data y: real\nparam x ~ Normal(12, 1)\nparam s ~ HalfNormal(1)\ny ~ Normal(s, x - 10)\n",
    )
    .expect("write");
    std::fs::write(dir.join("far.json"), "{\"y\": 1.0}").expect("write");
    let run = |init: &[&str], out: &str| {
        rlc()
            .arg("run")
            .arg(dir.join("far.rlm"))
            .arg("--data")
            .arg(dir.join("far.json"))
            .args([
                "--quiet", "--chains", "2", "--warmup", "50", "--draws", "20",
            ])
            .args(init)
            .arg("--output-dir")
            .arg(dir.join(out))
            .output()
            .expect("rlc runs")
    };
    let random = run(&[], "random");
    assert_eq!(
        random.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&random.stderr)
    );

    std::fs::write(dir.join("init.json"), "{\"x\": 12}").expect("write");
    let init_file = dir.join("init.json").display().to_string();
    let given = run(&["--init", &init_file], "given");
    let stderr = String::from_utf8_lossy(&given.stderr);
    assert_eq!(given.status.code(), Some(0), "{stderr}");
    let csv = std::fs::read_to_string(dir.join("given/far_1.csv")).expect("chain file");
    assert!(csv.contains(&format!("# init = {init_file}")), "{csv}");

    // A given point where the density is not finite is tried once, and said so.
    std::fs::write(dir.join("bad.json"), "{\"x\": 5, \"s\": 1}").expect("write");
    let bad = run(
        &["--init", &dir.join("bad.json").display().to_string()],
        "bad",
    );
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(4), "{stderr}");
    assert!(stderr.contains("at the fixed initial point"), "{stderr}");
    assert!(
        stderr.contains("why: the log density is -inf at x = 5.0000, s = 1.0000"),
        "{stderr}"
    );
    // Some given, the others drawn: the message says which.
    std::fs::write(dir.join("part.json"), "{\"x\": 5}").expect("write");
    let part = run(
        &["--init", &dir.join("part.json").display().to_string()],
        "part",
    );
    let stderr = String::from_utf8_lossy(&part.stderr);
    assert_eq!(part.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("(one coordinate given, the same at each)"),
        "{stderr}"
    );

    // Values outside a parameter's support, unknown names and bad radii are usage errors.
    for (json, expected) in [
        (
            "{\"s\": -1}",
            "parameter `s` = -1 is outside its support (0, inf)",
        ),
        (
            "{\"z\": 1}",
            "the model has no parameter `z` (its parameters: x, s)",
        ),
        (
            "{\"x\": [1, 2]}",
            "parameter `x` has 1 elements, 2 were given",
        ),
    ] {
        std::fs::write(dir.join("wrong.json"), json).expect("write");
        let wrong = run(
            &["--init", &dir.join("wrong.json").display().to_string()],
            "wrong",
        );
        let stderr = String::from_utf8_lossy(&wrong.stderr);
        assert_eq!(wrong.status.code(), Some(2), "{json}: {stderr}");
        assert!(stderr.contains(expected), "{json}: {stderr}");
    }
    for (args, expected) in [
        (
            &["--init", "-1"][..],
            "radius (--init R, or --init-radius R with a file) must be a finite number, 0 or more",
        ),
        (
            &["--init", "0.5", "--init-radius", "1"][..],
            "--init-radius goes with --init FILE",
        ),
        // Large finite radii once panicked drawing from (-r, r), whose width overflows.
        (&["--init", "1e308"][..], "must be at most 1e6 (got 1e308)"),
        (&["--init", "1e300"][..], "must be at most 1e6 (got 1e300)"),
        (
            &["--init", "no/such/file.json"][..],
            "neither a radius nor a readable file",
        ),
    ] {
        let wrong = run(args, "wrong");
        let stderr = String::from_utf8_lossy(&wrong.stderr);
        assert_eq!(wrong.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--init 0` starts every chain at the origin of the unconstrained scale (CmdStan's
/// `init=0`) and says so in the CSV header.
#[test]
fn init_zero_is_recorded_in_the_header() {
    let dir = temp_dir("init-zero");
    let out = rl_single("run")
        .args([
            "--chains", "1", "--warmup", "50", "--draws", "20", "--quiet", "--init", "0",
        ])
        .arg("--output-dir")
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("rl_single_1.csv")).expect("chain file");
    assert!(csv.contains("# init = 0\n"), "{csv}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A chain that cannot move when warmup ends (here after one warmup iteration, whose
/// averaged step size is about ten times too large) gets more warmup: the run says so in
/// a warning and in the chain's CSV file, and the chains then move.
#[test]
fn a_warmup_that_ends_where_the_chain_cannot_move_is_extended_and_said_so() {
    let out_dir = temp_dir("extended-warmup");
    let out = rl_single("run")
        .args([
            "--chains", "2", "--warmup", "1", "--draws", "200", "--seed", "3",
        ])
        .args(["--quiet", "--output-dir"])
        .arg(&out_dir)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "warning: warmup was extended (chain 1 by 50 iterations, chain 2 by 50 iterations)"
        ),
        "{stdout}"
    );
    // The run's summary counts the warmup it took, not only the one asked for.
    assert!(
        stdout.contains(" in 1 warmup iterations (extended by up to 50) with fisher adaptation"),
        "{stdout}"
    );
    for chain in 1..=2 {
        let csv = std::fs::read_to_string(out_dir.join(format!("rl_single_{chain}.csv")))
            .expect("chain file");
        assert!(
            csv.contains("# Adaptation terminated\n# Warmup extended by 50 iterations:"),
            "{csv}"
        );
        let lps: Vec<&str> = csv
            .lines()
            .filter(|l| !l.starts_with('#') && !l.starts_with("lp__"))
            .map(|l| l.split(',').next().unwrap_or(""))
            .collect();
        assert_eq!(lps.len(), 200);
        let distinct: std::collections::HashSet<&str> = lps.iter().copied().collect();
        assert!(
            distinct.len() > 100,
            "chain {chain} hardly moved: {} distinct lp__",
            distinct.len()
        );
    }
}

/// A model with two modes 30 log units apart and a barrier of about 90 between them: a
/// chain stays in the mode its random start is nearer. Whenever the chains of a run split
/// between the modes, `rlc run` and `rlc summary` name exactly the chains in the lower
/// one; when they do not, no such warning.
#[test]
fn chains_stuck_in_a_lower_mode_are_named() {
    let dir = temp_dir("lower-mode");
    let model = dir.join("two_modes.rlm");
    std::fs::write(
        &model,
        "param x: real ~ Normal(0, 3)\n\
         let left = (x + 4) / 0.3\n\
         let right = (x - 4) / 0.3\n\
         target += logsumexp([-0.5 * left * left, -0.5 * right * right - 30])\n",
    )
    .expect("write the model");
    let data = dir.join("none.json");
    std::fs::write(&data, "{}").expect("write the data");
    let mut split_runs = 0;
    for seed in 1..=8 {
        let out_dir = dir.join(format!("seed{seed}"));
        let out = rlc()
            .arg("run")
            .arg(&model)
            .arg("--data")
            .arg(&data)
            .args([
                "--warmup",
                "200",
                "--draws",
                "200",
                "--seed",
                &seed.to_string(),
            ])
            .arg("--output-dir")
            .arg(&out_dir)
            .output()
            .expect("rlc runs");
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        // Which chains ended in the right-hand (lower) mode, from their draws of x.
        let in_lower: Vec<usize> = (1..=4)
            .filter(|c| {
                let text = std::fs::read_to_string(out_dir.join(format!("two_modes_{c}.csv")))
                    .expect("a CSV per chain");
                let x = csv_column(&text, "x");
                x.iter().sum::<f64>() / x.len() as f64 > 0.0
            })
            .collect();
        let warning = stdout
            .lines()
            .find(|l| l.contains("may be stuck in a minor mode"));
        if in_lower.is_empty() || in_lower.len() == 4 {
            assert!(
                warning.is_none(),
                "seed {seed}: all chains in one mode, yet: {stdout}"
            );
            continue;
        }
        split_runs += 1;
        let warning = warning.unwrap_or_else(|| {
            panic!("seed {seed}: chains {in_lower:?} in the lower mode, no warning: {stdout}")
        });
        let names: Vec<String> = in_lower.iter().map(|c| c.to_string()).collect();
        let expected = match names.len() {
            1 => format!("chain {} sampled a region of lower log density", names[0]),
            _ => format!(
                "chains {} sampled a region of lower log density",
                names.join(", ")
            ),
        };
        assert!(
            warning.contains(&expected),
            "seed {seed}: {warning} (expected: {expected})"
        );
        // `rlc summary` reads the same from the files.
        let files: Vec<PathBuf> = (1..=4)
            .map(|c| out_dir.join(format!("two_modes_{c}.csv")))
            .collect();
        let summary = rlc()
            .arg("summary")
            .args(&files)
            .output()
            .expect("rlc runs");
        assert!(
            String::from_utf8_lossy(&summary.stdout).contains(&expected),
            "seed {seed}: {}",
            String::from_utf8_lossy(&summary.stdout)
        );
    }
    assert!(
        split_runs > 0,
        "no seed of 8 split the chains between the modes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// An `inf` in a data column makes every initial value fail; no term makes it from
/// finite values, so the explanation names the data cell (and its line in the file).
#[test]
fn an_infinite_data_value_is_named_when_no_chain_can_start() {
    let dir = temp_dir("inf_data");
    let csv = std::fs::read_to_string(workspace().join("models/data/rl_single.csv"))
        .expect("bundled data");
    let mut lines: Vec<String> = csv.lines().map(str::to_string).collect();
    // Line 6 of the file (the header is line 1): its reward becomes inf.
    let fields: Vec<&str> = lines[5].split(',').collect();
    lines[5] = format!("{},{},inf", fields[0], fields[1]);
    let data = dir.join("inf.csv");
    std::fs::write(&data, lines.join("\n") + "\n").expect("write");
    let out = rlc()
        .current_dir(workspace())
        .args(["run", "models/rl_single.rlm", "--data"])
        .arg(&data)
        .args([
            "--quiet", "--chains", "2", "--warmup", "20", "--draws", "10",
        ])
        .arg("--output-dir")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("the data hold a value that is not finite, `reward` holds inf at line 6"),
        "{stderr}"
    );
    // `rlc logp` explains the same point the same way.
    let logp = rlc()
        .current_dir(workspace())
        .args(["logp", "models/rl_single.rlm", "--data"])
        .arg(&data)
        .args(["--at", "alpha=0.3,beta=2"])
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&logp.stderr);
    assert!(stderr.contains("`reward` holds inf at line 6"), "{stderr}");
}

/// Ctrl-C during `rlc recover`: the headline counts the fits that finished,
/// a fit stopped part-way is left out (its few draws would skew the ranks),
/// and the table is computed from exactly the fits in the CSV.
#[test]
fn an_interrupted_recovery_keeps_only_whole_fits() {
    let dir = temp_dir("recover-interrupt");
    let csv = dir.join("recover.csv");
    // Long sampling and a short warmup: the signal most likely lands while a
    // fit is drawing, the case that used to keep a half-sampled fit.
    let child = rlc()
        .args([
            "recover",
            "docs/examples/rl_single_task.rlm",
            "--data",
            "models/data/tutorial.csv",
            "--fits",
            "100000",
            "--chains",
            "1",
            "--warmup",
            "20",
            "--draws",
            "3000",
            "--jobs",
            "1",
            "--seed",
            "1",
            "--quiet",
            "--output",
        ])
        .arg(&csv)
        .current_dir(workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlc starts");
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let out = interrupt(child);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stdout}\n{stderr}");
    let headline = stdout
        .lines()
        .find(|l| l.contains("simulated data sets fitted"))
        .unwrap_or_else(|| panic!("{stdout}"));
    let fitted: usize = headline
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{headline}"));
    assert!(
        headline.contains(&format!(
            "of 100000 simulated data sets fitted ({} not fitted: interrupted",
            100000 - fitted
        )),
        "{headline}"
    );
    let text = std::fs::read_to_string(&csv).expect("CSV written");
    let mut fits = std::collections::BTreeSet::new();
    let mut ranked = std::collections::BTreeSet::new();
    let mut alpha_rows = 0;
    for line in text.lines().skip(1) {
        let cells: Vec<&str> = line.split(',').collect();
        fits.insert(cells[0].to_string());
        ranked.insert(cells[13].to_string());
        alpha_rows += usize::from(cells[2] == "alpha");
    }
    assert_eq!(fits.len(), fitted, "{headline}");
    // Every fit kept ranks its truth among all its draws (3000 thinned by 30).
    assert_eq!(
        ranked.into_iter().collect::<Vec<_>>(),
        vec!["100".to_string()]
    );
    // The table's n is the CSV's rows of that variable.
    let table_n = stdout
        .lines()
        .find(|l| l.starts_with("alpha "))
        .and_then(|l| l.split_whitespace().nth(2))
        .unwrap_or_else(|| panic!("{stdout}"));
    assert_eq!(table_n, alpha_rows.to_string(), "{stdout}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc simulate --n` far beyond what a list of paths could hold streams its
/// data sets (it once allocated every path up front and aborted), and Ctrl-C
/// stops it between data sets: every file written is whole, with its truth.
#[test]
fn simulate_streams_a_huge_count_and_stops_between_data_sets() {
    let dir = temp_dir("simulate-huge");
    let child = rlc()
        .args([
            "simulate",
            "docs/examples/rl_single_task.rlm",
            "--data",
            "models/data/tutorial.csv",
            "--prior",
            "--seed",
            "1",
            "--n",
            "100000000000",
            "--quiet",
            "--output-dir",
        ])
        .arg(&dir)
        .current_dir(workspace())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("rlc starts");
    // Wait for the first data sets, then interrupt.
    for _ in 0..500 {
        if std::fs::read_dir(&dir).is_ok_and(|d| d.count() >= 4) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let out = interrupt(child);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    let written: usize = stderr
        .split("interrupted: ")
        .nth(1)
        .and_then(|t| t.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        stderr.contains("of 100000000000 data sets written"),
        "{stderr}"
    );
    let files: Vec<_> = std::fs::read_dir(&dir)
        .expect("folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 2 * written, "{stderr}");
    for k in 1..=written {
        let data = std::fs::read_to_string(dir.join(format!("rl_single_task_sim_{k}.csv")))
            .expect("data set written");
        assert!(data.ends_with('\n') && data.lines().count() > 1);
        let truth = std::fs::read_to_string(dir.join(format!("rl_single_task_sim_{k}.truth.json")))
            .expect("truth written");
        assert!(truth.trim_end().ends_with('}'), "{truth}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The warnings under the table name the columns as the table does (the
/// model's 0-based labels under `--labels model`), and an `out` the same in
/// every draw gets no effective-sample-size warning: it has nothing to
/// estimate.
#[test]
fn warnings_use_the_table_labels_and_skip_constant_quantities() {
    let dir = temp_dir("warning-labels");
    let model = dir.join("constant.rlm");
    std::fs::write(
        &model,
        "size T\ndata y: real[T]\nparam mu: real[2] ~ Normal(0, 1)\n\
         y ~ Normal(mu[0] + mu[1], 1)\nout total = sum(y)\n",
    )
    .expect("write");
    let data = dir.join("y.csv");
    std::fs::write(&data, "y\n0.5\n1.5\n-0.2\n").expect("write");
    let out = rlc()
        .args(["run"])
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args([
            "--chains",
            "2",
            "--warmup",
            "50",
            "--draws",
            "30",
            "--seed",
            "1",
            "--labels",
            "model",
            "--quiet",
            "--output-dir",
        ])
        .arg(dir.join("fit"))
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ess = stdout
        .lines()
        .find(|l| l.starts_with("warning: effective sample size below 400"))
        .unwrap_or_else(|| panic!("60 draws warn: {stdout}"));
    assert!(ess.contains("mu[0] (") && ess.contains("mu[1] ("), "{ess}");
    assert!(!ess.contains("mu.1") && !ess.contains("total"), "{ess}");
    let _ = std::fs::remove_dir_all(&dir);
}

/// A negative number given to an option is read as its value and refused
/// by the option's own check; clap's advice to write `-- -1` made it a
/// positional argument.
#[test]
fn a_negative_number_is_an_options_value() {
    let out = rl_single("run")
        .args(["--chains", "-1"])
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("invalid value '-1' for '--chains"),
        "{stderr}"
    );
    assert!(!stderr.contains("'-- -1'"), "{stderr}");
}

/// A chain that finds no starting point while others sample says why, as a
/// run whose chains all fail does: the first term that is not finite.
#[test]
fn a_chain_that_cannot_start_says_why_when_others_sample() {
    let dir = temp_dir("partial-init");
    let model = dir.join("mostly_impossible.rlm");
    std::fs::write(
        &model,
        "param x ~ Normal(0, 1)\ntarget += if x > -1.9 { -1.0 / 0.0 } else { 0.0 }\n",
    )
    .expect("write");
    let data = dir.join("none.json");
    std::fs::write(&data, "{}").expect("write");
    let out = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args([
            "--seed",
            "1",
            "--warmup",
            "50",
            "--draws",
            "50",
            "--quiet",
            "--output-dir",
        ])
        .arg(dir.join("fit"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let failed = stderr
        .lines()
        .position(|l| l.starts_with("error: chain ") && l.contains("no finite log density"))
        .unwrap_or_else(|| panic!("at seed 1 a chain fails to start: {stderr}"));
    let why = stderr.lines().nth(failed + 1).unwrap_or_default();
    assert!(
        why.starts_with("  why: the log density is -inf") && why.contains("`-1.0 / 0.0`"),
        "{stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--log-lik` records which data cell each column scores (missed trials and padding
/// have no column), and `rlc loo` names an observation it warns about by that cell, as
/// the model indexes it, with the subject's label: `choice[A, 0]`, not `1`.
#[test]
fn loo_names_observations_by_the_data_cell_they_score() {
    let dir = temp_dir("loo-names");
    let data = dir.join("two.csv");
    std::fs::write(
        &data,
        "subjID,choice,outcome\nA,1,1\nA,,\nA,2,-1\nB,2,1\nB,1,1\n",
    )
    .expect("data");
    let out = rlc()
        .arg("run")
        .arg(workspace().join("models/rl_hier.rlm"))
        .arg("--data")
        .arg(&data)
        .args([
            "--quiet", "--chains", "2", "--warmup", "100", "--draws", "100",
        ])
        .args(["--log-lik", "--seed", "3", "--output-dir"])
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let csv = std::fs::read_to_string(dir.join("out/rl_hier_1.csv")).expect("chain file");
    assert!(
        csv.lines()
            .any(|l| l == "# log_lik_cells = observation; choice[N:2,T:3] 0 2-4"),
        "{csv}"
    );
    // The first trial of each subject has the same log-likelihood (log 0.5) in every
    // draw: its Pareto k cannot be estimated, and the warning names both.
    let out = rlc()
        .arg("loo")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("(observations choice[A, 0], choice[B, 0])"),
        "{stdout}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// A draw outside the observed variable's declaration stops `rlc simulate` with the
/// element and the declaration, and no file is written: the file could not be read
/// back, and a recovery would fit data its own model says cannot occur.
#[test]
fn simulate_refuses_draws_outside_the_declared_range_or_bounds() {
    let dir = temp_dir("sim-bounds");
    let cases = [
        (
            "size T\ndata y: real[T] in [0, 1]\nparam mu ~ Normal(0.5, 0.1)\ny ~ Normal(mu, 1)\n",
            "y\n0.5\n0.2\n0.9\n0.1\n0.4\n0.6\n",
            "outside its declaration `data y: real[T] in [0, 1]`",
        ),
        (
            "size T\ndata c: int[T] in 0..2\nparam rate ~ LogNormal(2, 0.1)\nc ~ Poisson(rate)\n",
            "c\n0\n1\n1\n0\n1\n0\n",
            "outside its declaration `data c: int[T] in 0..2`",
        ),
    ];
    for (k, (model, data, expected)) in cases.iter().enumerate() {
        let model_path = dir.join(format!("m{k}.rlm"));
        let data_path = dir.join(format!("d{k}.csv"));
        std::fs::write(&model_path, model).expect("model");
        std::fs::write(&data_path, data).expect("data");
        let output = dir.join(format!("sim{k}.csv"));
        let out = rlc()
            .arg("simulate")
            .arg(&model_path)
            .arg("--data")
            .arg(&data_path)
            .args(["--prior", "--seed", "1", "--output"])
            .arg(&output)
            .output()
            .expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(4), "{stderr}");
        assert!(
            stderr.contains("error: the model drew ") && stderr.contains(expected),
            "{stderr}"
        );
        assert!(!output.exists(), "no file is written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc recover` stops as `simulate` does when a data set of the study draws
/// outside the observed variable's declaration (here data set 2 of seed 1;
/// data set 0, drawn before the fits start, is fine): before, that fit was
/// dropped, the study said "(1 failed)" and exited 0, and the calibration
/// left out the extreme data sets without a word.
#[test]
fn recover_stops_at_a_data_set_drawn_outside_the_declaration() {
    let dir = temp_dir("recover-bounds");
    let model = dir.join("m.rlm");
    let data = dir.join("d.csv");
    std::fs::write(
        &model,
        "size T\ndata c: int[T] in 0..4\nparam rate ~ LogNormal(0, 0.7)\nc ~ Poisson(rate)\n",
    )
    .expect("model");
    std::fs::write(&data, "c\n0\n1\n1\n").expect("data");
    let output = dir.join("recovery.csv");
    let out = rlc()
        .arg("recover")
        .arg(&model)
        .arg("--data")
        .arg(&data)
        .args([
            "--fits", "40", "--seed", "1", "--chains", "1", "--warmup", "50", "--draws", "50",
            "--output",
        ])
        .arg(&output)
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(4), "{stderr}");
    assert!(
        stderr.contains("error: simulated data set 2 of the study: the model drew c[")
            && stderr.contains("outside its declaration `data c: int[T] in 0..4`")
            && !stderr.contains("error: error:"),
        "{stderr}"
    );
    assert!(!output.exists(), "no table is written");
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc recover` killed outright (SIGKILL: out of memory, a lost node) keeps
/// the fits it finished: each fit's rows are in the output as it finishes,
/// whole; before, the table was written only at the end and all was lost.
#[cfg(unix)]
#[test]
fn a_killed_recovery_keeps_the_fits_it_finished() {
    let dir = temp_dir("recover-killed");
    let output = dir.join("recovery.csv");
    let mut child = rlc()
        .args([
            "recover",
            "docs/examples/rl_single_task.rlm",
            "--data",
            "models/data/tutorial.csv",
            "--fits",
            "400",
            "--jobs",
            "1",
            "--seed",
            "3",
            "--quiet",
            "--output",
        ])
        .arg(&output)
        .current_dir(workspace())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("rlc starts");
    // Wait for three fits' rows (a header and two rows per fit), then kill.
    let started = std::time::Instant::now();
    loop {
        let lines = std::fs::read_to_string(&output).map_or(0, |t| t.lines().count());
        if lines >= 7 {
            break;
        }
        assert!(
            started.elapsed() < std::time::Duration::from_secs(120),
            "no fit finished"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("SIGKILL");
    let _ = child.wait();
    let text = std::fs::read_to_string(&output).expect("the rows kept");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some("fit,name,variable,kind,truth,mean,sd,q5,q25,q50,q75,q95,rank,ranked_draws,rhat,ess_bulk,divergences,adaptation")
    );
    let rows: Vec<Vec<&str>> = lines.map(|l| l.split(',').collect()).collect();
    // Some fits, not the whole study (whose table is written at its end).
    assert!(rows.len() >= 6 && rows.len() < 800, "{text}");
    assert!(rows.iter().all(|r| r.len() == 18), "whole rows:\n{text}");
    // Every fit kept has both of its rows (alpha and beta).
    for fit in rows.iter().map(|r| r[0]) {
        let names: Vec<&str> = rows.iter().filter(|r| r[0] == fit).map(|r| r[1]).collect();
        assert_eq!(names, ["alpha", "beta"], "fit {fit}:\n{text}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc summary` and `rlc loo` given a Zarr run (`--output-format zarr`) say
/// what it is and what reads it; they said "Is a directory (os error 21)" and
/// "holds no CSV files of draws".
#[test]
fn summary_and_loo_of_a_zarr_run_say_what_reads_it() {
    let dir = temp_dir("zarr-summary");
    let out = rl_single("run")
        .current_dir(workspace())
        .args([
            "--output-format",
            "zarr",
            "--log-lik",
            "--chains",
            "1",
            "--draws",
            "20",
        ])
        .args(["--seed", "1", "--quiet", "--output-dir"])
        .arg(&dir)
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let store = dir.join("rl_single.zarr");
    for args in [
        vec!["summary".into(), store.clone()],
        vec!["loo".into(), dir.clone()],
    ] {
        let out = rlc().args(&args).output().expect("rlc runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(
                "is a Zarr store: `rlc summary`, `loo` and `compare` read the CmdStan CSV files"
            ) && stderr.contains("xr.open_datatree("),
            "{stderr}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// A matrix given to `--at` or in an `--init` file nested as another shape than
/// its parameter (a transposed table) is refused with both shapes, not read
/// row-major into the wrong elements; nested as declared, it is taken.
#[test]
fn a_transposed_matrix_value_is_refused() {
    let dir = temp_dir("transposed");
    std::fs::write(
        dir.join("m.rlm"),
        "size K\nparam q: real[2, K] ~ Normal(0, 1)\n",
    )
    .expect("model");
    std::fs::write(dir.join("d.json"), r#"{"K": 3}"#).expect("data");
    let logp = |at: &str| {
        rlc()
            .args(["logp", "--at", at])
            .arg(dir.join("m.rlm"))
            .arg("--data")
            .arg(dir.join("d.json"))
            .output()
            .expect("rlc runs")
    };
    let transposed = logp("q=[[1,2],[3,4],[5,6]]");
    let stderr = String::from_utf8_lossy(&transposed.stderr);
    assert_eq!(transposed.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("parameter `q` is [2, 3], the value given is nested as [3, 2]"),
        "{stderr}"
    );
    let declared = logp("q=[[1,2,3],[4,5,6]]");
    let flat = logp("q=[1,2,3,4,5,6]");
    assert_eq!(declared.status.code(), Some(0));
    assert_eq!(declared.stdout, flat.stdout);
    std::fs::write(dir.join("init.json"), r#"{"q": [[1, 2], [3, 4], [5, 6]]}"#).expect("init");
    let init = dir.join("init.json");
    let settings: [&dyn AsRef<std::ffi::OsStr>; 8] = [
        &"--chains",
        &"1",
        &"--warmup",
        &"5",
        &"--draws",
        &"5",
        &"--init",
        &init,
    ];
    let run = run_in(&dir, &settings);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("nested as [3, 2]"), "{stderr}");
}

/// No command writes over its own input: `simulate` whose default output is the
/// design itself (`rl_single_sim.csv` in the folder it runs in), `recover
/// --output` naming the design, `run --output-dir` holding the data under a
/// chain file's name. Each stops before writing, and the input is unchanged.
#[test]
fn no_command_writes_over_its_own_input() {
    let dir = temp_dir("replace-input");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let model = root.join("models/rl_single.rlm");
    let design = std::fs::read(root.join("models/data/rl_single.csv")).expect("design");
    std::fs::write(dir.join("rl_single_sim.csv"), &design).expect("copy");
    std::fs::write(dir.join("rl_single_1.csv"), &design).expect("copy");
    let check = |output: std::process::Output, file: &str| {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!(
                "{file} is the data file: writing there would replace it"
            )),
            "{stderr}"
        );
        assert_eq!(std::fs::read(dir.join(file)).expect("still there"), design);
    };
    let simulate = rlc()
        .current_dir(&dir)
        .args([
            "simulate",
            "--prior",
            "--seed",
            "3",
            "--data",
            "rl_single_sim.csv",
        ])
        .arg(&model)
        .output()
        .expect("rlc runs");
    check(simulate, "rl_single_sim.csv");
    let recover = rlc()
        .current_dir(&dir)
        .args(["recover", "--fits", "2", "--seed", "3", "--quiet"])
        .args([
            "--data",
            "rl_single_sim.csv",
            "--output",
            "rl_single_sim.csv",
        ])
        .arg(&model)
        .output()
        .expect("rlc runs");
    check(recover, "rl_single_sim.csv");
    let run = rlc()
        .current_dir(&dir)
        .args(["run", "--quiet", "--seed", "3", "--data", "rl_single_1.csv"])
        .args(["--output-dir", "."])
        .arg(&model)
        .output()
        .expect("rlc runs");
    check(run, "./rl_single_1.csv");
}

/// `rlc recover` locks its table as `run` locks its folder: a lock held by a
/// process of another machine (a cluster's shared folder) is respected, not
/// taken over as stale; and a table that cannot be written fails before the
/// first fit.
#[test]
fn recover_locks_its_table_and_checks_it_can_write_before_fitting() {
    let dir = temp_dir("recover-lock");
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let recover = |output: &std::path::Path| {
        rlc()
            .args(["recover", "--fits", "2", "--seed", "3", "--quiet"])
            .args(["--chains", "1", "--warmup", "20", "--draws", "20"])
            .arg("--data")
            .arg(root.join("models/data/rl_single_sim.csv"))
            .arg("--output")
            .arg(output)
            .arg(root.join("models/rl_single.rlm"))
            .output()
            .expect("rlc runs")
    };
    std::fs::write(dir.join("study.csv.lock"), "4000000@another-node").expect("lock");
    let held = recover(&dir.join("study.csv"));
    let stderr = String::from_utf8_lossy(&held.stderr);
    assert_eq!(held.status.code(), Some(75), "{stderr}");
    assert!(
        stderr.contains("is in use by another run (process 4000000 on another-node)"),
        "{stderr}"
    );
    assert!(!dir.join("study.csv").exists());
    let missing = recover(&dir.join("no-such-folder/study.csv"));
    let stderr = String::from_utf8_lossy(&missing.stderr);
    assert_eq!(missing.status.code(), Some(74), "{stderr}");
    let done = recover(&dir.join("fine.csv"));
    assert_eq!(done.status.code(), Some(0));
    assert!(!dir.join("fine.csv.lock").exists(), "the lock is removed");
    // `rlc summary` given the table says what it is.
    let summary = rlc()
        .arg("summary")
        .arg(dir.join("fine.csv"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&summary.stderr);
    assert_eq!(summary.status.code(), Some(3), "{stderr}");
    assert!(stderr.contains("is the table of `rlc recover`"), "{stderr}");
    // A thinning that leaves one draw per fit to rank the truth among is refused.
    let thin = rlc()
        .args(["recover", "--fits", "2", "--thin", "100000", "--quiet"])
        .arg("--data")
        .arg(root.join("models/data/rl_single_sim.csv"))
        .arg("--output")
        .arg(dir.join("thin.csv"))
        .arg(root.join("models/rl_single.rlm"))
        .output()
        .expect("rlc runs");
    let stderr = String::from_utf8_lossy(&thin.stderr);
    assert_eq!(thin.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("--thin 100000 keeps one draw of a fit's"),
        "{stderr}"
    );
}

/// A model with no parameters (an empty file, only comments) has nothing to
/// sample: an error, not a run of `lp__ = 0` with NaN diagnostics.
#[test]
fn a_model_with_no_parameters_is_not_sampled() {
    let dir = temp_dir("no-params");
    std::fs::write(dir.join("m.rlm"), "// only a comment\n").expect("model");
    std::fs::write(dir.join("d.json"), "{}").expect("data");
    let run = run_in(&dir, &[&"--seed", &"1"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("the model has no parameters"), "{stderr}");
}

/// `rlc run --quiet ARGS DIR/m.rlm --data DIR/d.json --output-dir DIR/out`:
/// a model and data a test wrote into `dir`.
fn run_in(dir: &std::path::Path, args: &[&dyn AsRef<std::ffi::OsStr>]) -> std::process::Output {
    rlc()
        .args(["run", "--quiet"])
        .args(args.iter().map(|a| a.as_ref()))
        .arg(dir.join("m.rlm"))
        .arg("--data")
        .arg(dir.join("d.json"))
        .arg("--output-dir")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs")
}

/// A model that declares no data (a prior alone) runs, and is evaluated, without
/// `--data`; a model that declares data and gets no file is told which.
#[test]
fn a_model_without_data_needs_no_data_file() {
    let dir = temp_dir("no-data");
    let model = dir.join("prior.rlm");
    std::fs::write(
        &model,
        "param mu ~ Normal(1, 2)\nparam angle ~ VonMises(0.5, 2)\n",
    )
    .expect("writes");
    let out = rlc()
        .args(["run", "--quiet", "--seed", "3", "--draws", "400"])
        .arg(&model)
        .arg("--output-dir")
        .arg(dir.join("out"))
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let chain = std::fs::read_to_string(dir.join("out/prior_1.csv")).expect("a chain file");
    assert!(chain.contains("(no data)"), "the header names no data file");
    let out = rlc()
        .args(["logp", "--json", "--at", "mu=1,angle=0.5"])
        .arg(&model)
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // Normal(1 | 1, 2) + VonMises(0.5 | 0.5, 2) (SciPy's norm and vonmises) and the
    // log-Jacobian of (-pi, pi) at 0.5, log((x + pi)(pi - x) / 2pi).
    let pi = std::f64::consts::PI;
    let want = -1.612_085_713_764_618 - 0.661_870_607_892_301_6
        + ((0.5 + pi) * (pi - 0.5) / (2.0 * pi)).ln();
    let got = json["logp"].as_f64().expect("logp");
    assert!((got - want).abs() < 1e-12, "logp {got}, want {want}");

    let out = rlc()
        .arg("run")
        .arg(workspace().join("models/rl_single.rlm"))
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2), "a usage error");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains(
            "the model declares data (`action`, `reward`, the size `T`): give the file with --data FILE"
        ),
        "{err}"
    );
}

/// A data file that is not text is refused from its first bytes: `/dev/zero`, which
/// never ends, is called binary (it was read up to the size limit first, gigabytes).
#[test]
#[cfg(unix)]
fn an_endless_binary_data_file_is_refused_from_its_first_bytes() {
    let out = rlc()
        .arg("run")
        .arg(workspace().join("models/rl_single.rlm"))
        .args(["--data", "/dev/zero"])
        .output()
        .expect("rlc runs");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("the file is binary data (it holds NUL bytes)"),
        "{err}"
    );
}

/// A direction with a `VonMises` prior whose draws crowd ±π gets a warning (its
/// interval is cut there: every chain on the wrong side gave R-hat 1.000 and no
/// warning); one whose draws are near 0 gets none.
#[test]
fn a_direction_at_the_cut_of_its_interval_is_warned_about() {
    let dir = temp_dir("direction-at-the-cut");
    std::fs::write(
        dir.join("m.rlm"),
        "size T\ndata y: real[T]\nparam m ~ VonMises(0, 0.5)\ny ~ VonMises(m, 20)\n",
    )
    .expect("writes");
    for (centre, warned) in [(3.1, true), (0.3, false)] {
        let angles: Vec<String> = (0..40)
            .map(|k| {
                let x: f64 = centre + 0.02 * (k as f64 - 19.5);
                let wrapped =
                    x - 2.0 * std::f64::consts::PI * (x / (2.0 * std::f64::consts::PI)).round();
                wrapped.to_string()
            })
            .collect();
        std::fs::write(
            dir.join("d.json"),
            format!("{{\"T\": 40, \"y\": [{}]}}", angles.join(", ")),
        )
        .expect("writes");
        let out = run_in(&dir, &[&"--seed", &"1", &"--draws", &"300"]);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert_eq!(
            stdout.contains("lie within 0.1 of ±π"),
            warned,
            "centre {centre}: {stdout}"
        );
    }
}

/// The log density of a successful `rlc logp`.
fn logp_of(out: &std::process::Output) -> f64 {
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stdout}{stderr}");
    logp_value(&stdout, &stderr)
}

#[test]
fn set_gives_data_apart_from_the_file_as_its_columns_would() {
    let dir = temp_dir("set");
    let model = dir.join("m.rlm");
    std::fs::write(
        &model,
        "size T\ndata y: real[T]\ndata k: real in (0, inf) = 1.0\ndata mu0: real[2] = [0.5, 1.0]\n\
         param m: real ~ Normal(0, 1)\nfor t in 0..T {\n  y[t] ~ Normal(m + mu0[0] * mu0[1], k)\n}\n",
    )
    .expect("temp file");
    let plain = dir.join("plain.csv");
    std::fs::write(&plain, "y,k\n0.1,7\n0.3,7\n0.2,7\n").expect("temp file");
    let with_columns = dir.join("columns.csv");
    std::fs::write(
        &with_columns,
        "y,k,mu0.1,mu0.2\n0.1,2,3,0.25\n0.3,2,3,0.25\n0.2,2,3,0.25\n",
    )
    .expect("temp file");
    let logp = |data: &PathBuf, set: &[&str]| {
        let mut cmd = rlc();
        cmd.arg("logp").arg(&model).arg("--data").arg(data);
        cmd.args(["--at", "m=0.4"]);
        for s in set {
            cmd.args(["--set", s]);
        }
        cmd.output().expect("rlc runs")
    };
    // `--set` replaces the file's column `k` (7) and the default of `mu0`.
    let set_out = logp(&plain, &["k=2", "mu0=[3, 0.25]"]);
    let expected = logp_of(&logp(&with_columns, &[]));
    assert!((logp_of(&set_out) - expected).abs() < 1e-12);
    let stderr = String::from_utf8_lossy(&set_out.stderr);
    assert!(
        stderr.contains("`k` is set apart from") && stderr.contains("(2); its value in"),
        "{stderr}"
    );
    assert!((logp_of(&logp(&plain, &[])) - expected).abs() > 1e-3);

    // A bad value is a data error (exit 3) that names the setting.
    let out = logp(&plain, &["k=-1", "z=1"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--set k=-1, at k: value -1 is outside the declared bounds")
            && stderr.contains("--set z=1: the model declares no data `z`")
            && stderr.contains("2 of the values given with --set do not fit the model"),
        "{stderr}"
    );

    // A run's CSV header records them after its data file.
    let out_dir = dir.join("out");
    let out = rlc()
        .arg("run")
        .arg(&model)
        .arg("--data")
        .arg(&plain)
        .args(["--set", "k=2", "--set", "mu0=[3, 0.25]", "--chains", "1"])
        .args(["--warmup", "20", "--draws", "20", "--seed", "1", "--quiet"])
        .arg("--output-dir")
        .arg(&out_dir)
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let header = std::fs::read_to_string(out_dir.join("m_1.csv")).expect("the chain's file");
    assert!(
        header.contains("#   set k = 2\n#   set mu0 = [3, 0.25]\n"),
        "{header}"
    );

    // A simulated data set carries the values it was simulated with.
    let simulated = dir.join("sim.csv");
    let out = rlc()
        .arg("simulate")
        .arg(&model)
        .arg("--data")
        .arg(&plain)
        .args([
            "--at",
            "m=0.4",
            "--seed",
            "3",
            "--set",
            "k=2",
            "--set",
            "mu0=[3, 0.25]",
        ])
        .arg("--output")
        .arg(&simulated)
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&simulated).expect("temp file");
    assert_eq!(csv_column(&text, "k"), [2.0, 2.0, 2.0], "{text}");
    assert_eq!(csv_column(&text, "mu0.1"), [3.0, 3.0, 3.0], "{text}");
    assert_eq!(csv_column(&text, "mu0.2"), [0.25, 0.25, 0.25], "{text}");

    // A variable set apart that the model also observes is drawn, as without --set.
    let observed = dir.join("observed.rlm");
    std::fs::write(
        &observed,
        "size T\ndata y: real[T]\ndata k: real\nparam m: real ~ Normal(0, 1)\nk ~ Normal(m, 1)\n\
         for t in 0..T {\n  y[t] ~ Normal(m, 1)\n}\n",
    )
    .expect("temp file");
    let simulate_k = |set: &[&str], output: &PathBuf| {
        let mut cmd = rlc();
        cmd.arg("simulate").arg(&observed).arg("--data").arg(&plain);
        cmd.args(["--at", "m=1", "--seed", "1", "--quiet"]);
        for s in set {
            cmd.args(["--set", s]);
        }
        let out = cmd.arg("--output").arg(output).output().expect("rlc runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        csv_column(
            &std::fs::read_to_string(output).expect("the simulated file"),
            "k",
        )
    };
    let drawn = simulate_k(&[], &dir.join("k_plain.csv"));
    assert_eq!(simulate_k(&["k=5"], &dir.join("k_set.csv")), drawn);
    assert_ne!(drawn, [5.0, 5.0, 5.0]);

    // A model whose data are all set needs no file.
    let prior = dir.join("prior.rlm");
    std::fs::write(
        &prior,
        "data w: real[2]\ndata s: real in (0, inf) = 1.0\nparam m: real ~ Normal(w[0], s * w[1])\n",
    )
    .expect("temp file");
    let out = rlc()
        .arg("logp")
        .arg(&prior)
        .args(["--at", "m=0.5", "--set", "w=[0.5, 2]"])
        .output()
        .expect("rlc runs");
    let normal = -0.5 * (2.0 * std::f64::consts::PI * 4.0).ln();
    assert!((logp_of(&out) - normal).abs() < 1e-12);
    let out = rlc()
        .arg("logp")
        .arg(&prior)
        .args(["--at", "m=0.5"])
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("the model declares data (`w`): give the file with --data FILE"),
        "{stderr}"
    );
}

/// A chain whose step size is far below the other chains' (one that ended warmup where
/// every step diverges) is named after the summary, with how much smaller it is; the
/// chains of an ordinary run are not.
#[test]
fn a_chain_whose_step_size_collapsed_is_named() {
    let dir = temp_dir("collapsed-step");
    let out = rl_single("run")
        .args(["--chains", "3", "--warmup", "100", "--draws", "100"])
        .args(["--seed", "2", "--quiet", "--output-dir"])
        .arg(&dir)
        .current_dir(workspace())
        .output()
        .expect("rlc runs");
    assert_eq!(out.status.code(), Some(0));
    assert!(!String::from_utf8_lossy(&out.stdout).contains("adapted a step size"));
    // Chain 2's step size, a hundredth of what its warmup left it.
    let file = dir.join("rl_single_2.csv");
    let text = std::fs::read_to_string(&file).expect("chain 2's file");
    let mut column = None;
    let edited: Vec<String> = text
        .lines()
        .map(|line| {
            if line.starts_with('#') || line.is_empty() {
                return line.to_string();
            }
            let mut cells: Vec<String> = line.split(',').map(str::to_string).collect();
            match column {
                None => column = cells.iter().position(|c| c == "stepsize__"),
                Some(k) => {
                    let step: f64 = cells[k].parse().expect("a step size");
                    cells[k] = format!("{:?}", step / 100.0);
                }
            }
            cells.join(",")
        })
        .collect();
    std::fs::write(&file, edited.join("\n") + "\n").expect("rewritten");
    let files: Vec<PathBuf> = (1..=3)
        .map(|c| dir.join(format!("rl_single_{c}.csv")))
        .collect();
    let summary = rlc()
        .arg("summary")
        .args(&files)
        .output()
        .expect("rlc runs");
    let stdout = String::from_utf8_lossy(&summary.stdout);
    assert!(
        stdout.contains("chain 2 adapted a step size of")
            && stdout.contains("times smaller than the other chains' (median")
            && stdout.contains("rerun with another --seed or --init"),
        "{stdout}"
    );
    assert!(!stdout.contains("chain 1 adapted") && !stdout.contains("chain 3 adapted"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--loop-outs`: the outs written in loops are columns of the CSV files (`nan` where no
/// step wrote an element), left out of the summary unless `--vars` names them; without
/// the flag a note names them, and `--vars` asking for one says to add the flag.
#[test]
fn loop_outs_are_written_when_asked() {
    let dir = temp_dir("loop-outs");
    let data = dir.join("data.json");
    std::fs::write(
        &data,
        r#"{"N": 2, "T": 3, "Tsubj": [3, 2], "choice": [[0, 1, null], [1, 0, 1]],
            "reward": [[1, 0, 1], [0.5, 1, 0]]}"#,
    )
    .expect("data");
    let run = |out: &str, extra: &[&str]| {
        rlc()
            .current_dir(workspace())
            .args(["run", "tests/check/ok/loop_outs.rlm", "--data"])
            .arg(&data)
            .args([
                "--chains", "1", "--warmup", "50", "--draws", "10", "--seed", "3",
            ])
            .arg("--output-dir")
            .arg(dir.join(out))
            .args(extra)
            .output()
            .expect("runs")
    };
    let plain = run("plain", &[]);
    assert!(plain.status.success());
    let stderr = String::from_utf8_lossy(&plain.stderr);
    assert!(
        stderr.contains("(pe, q_before, step) are not written: --loop-outs writes them"),
        "{stderr}"
    );
    let asked = run("asked", &["--vars", "pe"]);
    assert_eq!(asked.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&asked.stderr).contains("add --loop-outs"));

    let written = run("written", &["--loop-outs"]);
    assert!(written.status.success());
    let stdout = String::from_utf8_lossy(&written.stdout);
    assert!(
        !stdout.contains("pe.1.1") && stdout.contains("--vars pe shows them"),
        "{stdout}"
    );
    let csv = std::fs::read_to_string(dir.join("written/loop_outs_1.csv")).expect("csv");
    // Subject 1's third choice is missing: no step writes pe[0, 2]; q_before is [N, T, 2].
    assert!(csv_column(&csv, "pe.1.3").iter().all(|x| x.is_nan()));
    assert!(csv_column(&csv, "pe.1.1").iter().all(|x| *x == 1.0));
    assert!(csv_column(&csv, "q_before.2.3.2")
        .iter()
        .all(|x| x.is_finite()));
    let plain_csv = std::fs::read_to_string(dir.join("plain/loop_outs_1.csv")).expect("csv");
    assert_eq!(csv_column(&csv, "alpha"), csv_column(&plain_csv, "alpha"));
    let shown = run("shown", &["--loop-outs", "--vars", "pe"]);
    assert!(String::from_utf8_lossy(&shown.stdout).contains("pe.2.2"));
    // The predictive draws and the log-likelihood are the same with the loop outs.
    let extras = ["--predict", "--log-lik"];
    assert!(run("extras", &extras).status.success());
    assert!(run("both", &[&extras[..], &["--loop-outs"]].concat())
        .status
        .success());
    let extras_csv = std::fs::read_to_string(dir.join("extras/loop_outs_1.csv")).expect("csv");
    let both_csv = std::fs::read_to_string(dir.join("both/loop_outs_1.csv")).expect("csv");
    for column in ["log_lik.1", "log_lik.5", "choice_rep.1.1", "choice_rep.2.3"] {
        assert_eq!(
            csv_column(&extras_csv, column),
            csv_column(&both_csv, column),
            "{column}"
        );
    }
    assert_eq!(csv_column(&both_csv, "pe.2.1"), csv_column(&csv, "pe.2.1"));
    // `rlc summary` reads which columns are loop outs from the files' header.
    let summary = |extra: &[&str]| {
        let out = rlc()
            .arg("summary")
            .arg(dir.join("written/loop_outs_1.csv"))
            .args(extra)
            .output()
            .expect("runs");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = summary(&[]);
    assert!(
        table.contains("alpha") && !table.contains("pe.1.1"),
        "{table}"
    );
    assert!(table.contains("--vars pe shows them"), "{table}");
    assert!(summary(&["--vars", "pe"]).contains("pe.2.2"));
    let _ = std::fs::remove_dir_all(&dir);
}

/// `--thin N` keeps the first draw and every N-th after it: the rows are every N-th of
/// the unthinned run's at the same seed, and the header says `thin = N`.
#[test]
fn thinning_keeps_every_nth_draw() {
    let dir = temp_dir("thin");
    let run = |out: &str, extra: &[&str]| {
        let output = rl_single("run")
            .current_dir(workspace())
            .args(["--chains", "2", "--draws", "10", "--seed", "6", "--quiet"])
            .arg("--output-dir")
            .arg(dir.join(out))
            .args(extra)
            .output()
            .expect("runs");
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout).into_owned()
    };
    run("all", &[]);
    let summary = run("thinned", &["--thin", "3"]);
    assert!(summary.contains("2 chains × 4 draws"), "{summary}");
    for chain in 1..=2 {
        let read = |out: &str| {
            std::fs::read_to_string(dir.join(format!("{out}/rl_single_{chain}.csv"))).expect("csv")
        };
        let (all, thinned) = (read("all"), read("thinned"));
        assert!(thinned.contains("#     thin = 3\n"));
        let rows = |text: &str| -> Vec<String> {
            text.lines()
                .filter(|l| !l.starts_with('#'))
                .skip(1)
                .map(str::to_string)
                .collect()
        };
        let every_third: Vec<String> = rows(&all).into_iter().step_by(3).collect();
        assert_eq!(rows(&thinned), every_third);
    }
    let zero = rl_single("run")
        .args(["--thin", "0"])
        .output()
        .expect("runs");
    assert_eq!(zero.status.code(), Some(2));
    let _ = std::fs::remove_dir_all(&dir);
}

/// hBayesDM's `hgf_ibrb_single(data, L = 4, mu0 = …)`: a size with a default (`size L =
/// 3`) and the arrays it sizes are set by the file's columns or by `--set`, to the same
/// density; a default that fits only L = 3 is a data error that says so; and a data set
/// simulated with `--set L=…` carries `L` and the arrays as its columns.
#[test]
fn a_size_with_a_default_is_set_as_hbayesdms_arguments_are() {
    let dir = temp_dir("size_setting");
    let root = workspace().join("models/hbayesdm");
    let model = root.join("hgf_ibrb_single.rlm");
    let levels4 = root.join("data/hgf_single_sim_levels4.txt");
    let plain = root.join("data/hgf_single_sim.txt");
    let settings = [
        "L=4",
        "input_first=true",
        "mu0=[0.2, 0.6, 0.9]",
        "sigma0=[0.3, 2, 1.5]",
        "kappa_lower=[0.5, 0]",
        "kappa_upper=[1.5, 1]",
        "omega_lower=[-8, -12, -14]",
        "omega_upper=[-1, -2, -3]",
        "zeta_lower=0.5",
        "zeta_upper=3",
    ];
    let logp = |data: &PathBuf, set: &[&str]| {
        let mut cmd = rlc();
        cmd.arg("logp").arg(&model).arg("--data").arg(data);
        cmd.args([
            "--at",
            "logit_kappa=[0.3,-0.2],logit_omega=[0.1,-0.4,0.5],logit_zeta=0.2",
        ]);
        for s in set {
            cmd.args(["--set", s]);
        }
        cmd.output().expect("rlc runs")
    };
    let by_columns = logp_of(&logp(&levels4, &[]));
    let by_set = logp_of(&logp(&plain, &settings));
    assert!((by_columns - by_set).abs() < 1e-9, "{by_columns} {by_set}");

    // L = 4 with the arrays left at their defaults, which have L = 3's lengths.
    let out = logp(&plain, &["L=4"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`data mu0: real[L - 1]` has 2 elements along axis 0 (the length of `mu0`'s default), but its dimension `L - 1` is 3, where `L` is 4 (set apart from the file)")
            && stderr.contains("`data kappa_lower: real[L - 2] in [0, inf)` has 1 elements"),
        "{stderr}"
    );

    // A simulated data set carries L and the arrays; fitting it needs no --set.
    let simulated = dir.join("sim.txt");
    let mut cmd = rlc();
    cmd.arg("simulate").arg(&model).arg("--data").arg(&plain);
    cmd.args(["--seed", "5", "--quiet", "--prior"]);
    for s in settings {
        cmd.args(["--set", s]);
    }
    let out = cmd
        .arg("--output")
        .arg(&simulated)
        .output()
        .expect("rlc runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Tab-separated, as its design.
    let text = std::fs::read_to_string(&simulated)
        .expect("the simulated file")
        .replace('\t', ",");
    let rows = csv_column(&text, "u").len();
    assert_eq!(csv_column(&text, "L"), vec![4.0; rows]);
    assert_eq!(csv_column(&text, "mu0.3"), vec![0.9; rows]);
    let out = logp(&simulated, &[]);
    assert!(logp_of(&out).is_finite());
    let _ = std::fs::remove_dir_all(&dir);
}

/// `rlc simulate --loop-outs`: the truth file holds the outs written in loops at the
/// true parameters on the simulated data (the trial-wise truth of a recovery study),
/// null where no step wrote a cell; here each equals the delta rule replayed on the
/// simulated choices.
#[test]
fn simulate_writes_the_true_loop_outs_when_asked() {
    let dir = temp_dir("simulate-loop-outs");
    let design = dir.join("design.json");
    std::fs::write(
        &design,
        r#"{"N": 2, "T": 4, "Tsubj": [4, 3], "choice": [[0, 1, 0, 1], [1, 0, null, 1]],
            "reward": [[1, 0, 1, 0.5], [0.5, 1, null, 0]]}"#,
    )
    .expect("design");
    let simulate = |output: &PathBuf, extra: &[&str]| {
        rlc()
            .current_dir(workspace())
            .args(["simulate", "tests/check/ok/loop_outs.rlm", "--data"])
            .arg(&design)
            .args(["--at", "alpha=0.3,beta=2", "--seed", "7"])
            .arg("--output")
            .arg(output)
            .args(extra)
            .output()
            .expect("rlc runs")
    };
    let output = dir.join("sim.json");
    let out = simulate(&output, &["--loop-outs"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let read = |path: PathBuf| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(path).expect("file")).expect("JSON")
    };
    let truth = read(dir.join("sim.truth.json"));
    let data = read(output.clone());
    let loop_outs = &truth["loop_outs"];
    let (alpha, mut checked) = (0.3, 0);
    for n in 0..2 {
        let mut q = [0.0f64, 0.0];
        for t in 0..4 {
            let (c, r) = (&data["choice"][n][t], &data["reward"][n][t]);
            let pe = &loop_outs["pe"][n][t];
            match (c.as_u64(), r.as_f64()) {
                (Some(c), Some(r)) => {
                    let c = c as usize;
                    assert_eq!(loop_outs["q_before"][n][t][c].as_f64(), Some(q[c]));
                    let expected = r - q[c];
                    assert!((pe.as_f64().expect("a value") - expected).abs() < 1e-12);
                    q[c] += alpha * expected;
                    checked += 1;
                }
                _ => assert!(pe.is_null(), "{pe} at a missed trial"),
            }
        }
    }
    assert_eq!(checked, 7, "{truth}");
    // `for t in 1..Tsubj[n]`: the cells before 1 and from Tsubj[n] on are not written.
    assert_eq!(
        loop_outs["step"][1],
        serde_json::json!([null, 1, 2, null]),
        "{truth}"
    );
    // Without the flag the truth file has no loop outs, and the data set is the same.
    let plain = dir.join("plain.json");
    assert!(simulate(&plain, &[]).status.success());
    assert!(read(dir.join("plain.truth.json"))
        .get("loop_outs")
        .is_none());
    assert_eq!(read(plain), data);
    let _ = std::fs::remove_dir_all(&dir);
}
