//! End-to-end tests of the `rlc` binary: exit codes, messages, output.

use std::path::PathBuf;
use std::process::Command;

fn rlc() -> Command {
    Command::new(env!("CARGO_BIN_EXE_rlc"))
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

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rlc-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

#[test]
fn run_writes_one_cmdstan_csv_per_chain_and_a_summary() {
    let out_dir = temp_dir("run");
    let out = rlc()
        .args([
            "run",
            "models/rl_single.rlm",
            "--data",
            "models/data/rl_single.csv",
        ])
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
    let bad = rlc()
        .args([
            "logp",
            "models/rl_single.rlm",
            "--data",
            "models/data/rl_single.csv",
            "--at",
            "alpha=1.5,beta=2",
        ])
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
/// out of range, is a clean error that points into the model, not a crash.
#[test]
fn an_out_of_range_data_index_names_its_place_in_the_model() {
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
        assert_eq!(out.status.code(), Some(4), "{backend}: {stderr}");
        assert!(
            stderr.contains('5') && stderr.contains("out of"),
            "{backend}: {stderr}"
        );
        if backend == "jit" {
            assert!(
                stderr.contains("index.rlm:5:15") && stderr.contains("w[k]"),
                "{stderr}"
            );
        }
    }
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
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let out = child.wait_with_output().expect("rlc ends");
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
    let out = rlc()
        .args([
            "run",
            "models/rl_single.rlm",
            "--data",
            "models/data/rl_single.csv",
        ])
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
    for group in ["posterior", "sample_stats", "observed_data"] {
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
    let mut lines = csv.lines().filter(|l| !l.starts_with('#'));
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let column = |name: &str| header.iter().position(|h| *h == name).expect("column");
    let (first, second) = (column("mu_pr.1"), column("mu_pr.2"));
    let mut expected = Vec::new();
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        expected.push(cells[first].parse::<f64>().expect("number"));
        expected.push(cells[second].parse::<f64>().expect("number"));
    }
    assert_eq!(values, expected);
    let _ = std::fs::remove_dir_all(&zarr_dir);
    let _ = std::fs::remove_dir_all(&csv_dir);
}
