//! The data loader's tests: the reference data sets, hBayesDM's files, one test per kind of
//! bad input, and a proptest that no input panics.

use std::path::PathBuf;
use std::time::Instant;

use proptest::prelude::*;
use rlc_data::{
    load, load_csv, load_json, DataDecl, DataSpec, DimSpec, ElemType, ErrorKind, Format, LoadError,
    LoadedData, Location, SizeDecl,
};

// ---------------------------------------------------------------------------------------------
// The specs of the example models, as the CLI would convert them.

/// `rl_single.rlm`: `size T; data action: int[T] in 0..2; data reward: real[T]`.
fn rl_single() -> DataSpec {
    DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("action", ElemType::Int, false, &["T"]).with_int_range(0, 2),
            DataDecl::new("reward", ElemType::Real, false, &["T"]),
        ],
    }
}

/// `eight_schools.rlm`: `size J; data y: real[J]; data sigma: real[J]`.
fn eight_schools() -> DataSpec {
    DataSpec {
        sizes: vec![SizeDecl::new("J")],
        variables: vec![
            DataDecl::new("y", ElemType::Real, false, &["J"]),
            DataDecl::new("sigma", ElemType::Real, false, &["J"]),
        ],
    }
}

/// `rl_hier.rlm`: `size N by subjID; size T; data choice: int?[N, T] in 1..3;
/// data outcome: real?[N, T]`.
fn rl_hier() -> DataSpec {
    DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID"), SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, true, &["N", "T"]).with_int_range(1, 3),
            DataDecl::new("outcome", ElemType::Real, true, &["N", "T"]),
        ],
    }
}

fn test_data(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The hBayesDM example files, read in place from `../shared` (they are not ours to copy).
fn hbayesdm(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/data/hbayesdm")
        .join(name);
    // Where ../shared exists the tests run (and a missing file fails them);
    // elsewhere they are marked ignored and never get here.
    std::fs::read(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn csv(spec: &DataSpec, text: &str) -> Result<LoadedData, LoadError> {
    load_csv(spec, "obs.csv", text.as_bytes(), None)
}

fn json(spec: &DataSpec, text: &str) -> Result<LoadedData, LoadError> {
    load_json(spec, "obs.json", text.as_bytes())
}

/// The only error of a load that must fail, and its rendered message.
fn only_error(result: Result<LoadedData, LoadError>) -> (ErrorKind, Location, String) {
    match result {
        Ok(data) => panic!("expected an error, loaded {data:?}"),
        Err(e) => {
            assert_eq!(e.errors.len(), 1, "expected one error, got:\n{e}");
            let error = &e.errors[0];
            (
                error.kind.clone(),
                error.location.clone(),
                error.to_string(),
            )
        }
    }
}

fn loaded(result: Result<LoadedData, LoadError>) -> LoadedData {
    match result {
        Ok(data) => data,
        Err(e) => panic!("expected data, got:\n{e}"),
    }
}

// ---------------------------------------------------------------------------------------------
// Reference data sets: JSON and CSV agree.

fn assert_same(a: &LoadedData, b: &LoadedData) {
    assert_eq!(a.sizes, b.sizes);
    assert_eq!(a.values.len(), b.values.len());
    for ((na, va), (nb, vb)) in a.values.iter().zip(&b.values) {
        assert_eq!(na, nb);
        assert_eq!(va.shape, vb.shape, "{na}");
        assert_eq!(va.missing, vb.missing, "{na}");
        assert_eq!(va.values, vb.values, "{na}");
    }
}

#[test]
fn rl_single_json_and_csv_agree() {
    let spec = rl_single();
    let from_json = loaded(load_json(
        &spec,
        "rlc.json",
        &test_data("rl_single_150.json"),
    ));
    let from_csv = loaded(load_csv(
        &spec,
        "rlc.csv",
        &test_data("rl_single_150.csv"),
        None,
    ));
    assert_same(&from_json, &from_csv);
    assert_eq!(from_json.size("T"), Some(150));
    let action = from_json.value("action").expect("action");
    assert_eq!(action.shape, vec![150]);
    assert!(action.values.iter().all(|&a| a == 0.0 || a == 1.0));
    assert_eq!(action.missing, None);
    assert!(from_json.notes.is_empty());
    // The CSV's `trial` column is read by nothing, and the user is told.
    assert_eq!(from_csv.notes.len(), 1);
    assert!(from_csv.notes[0].contains("trial"), "{:?}", from_csv.notes);
}

#[test]
fn a_real_minus_zero_keeps_its_sign_and_an_integer_one_does_not() {
    let spec = rl_single();
    let from_json = loaded(json(
        &spec,
        r#"{"T": 2, "action": [-0, 1], "reward": [-0.0, 0.0]}"#,
    ));
    let from_csv = loaded(csv(&spec, "action,reward\n-0,-0.0\n1,0.0\n"));
    for data in [&from_json, &from_csv] {
        let reward = &data.value("reward").expect("reward").values;
        assert!(
            reward[0] == 0.0 && reward[0].is_sign_negative(),
            "{reward:?}"
        );
        assert!(reward[1].is_sign_positive(), "{reward:?}");
        let action = &data.value("action").expect("action").values;
        assert!(
            action[0] == 0.0 && action[0].is_sign_positive(),
            "{action:?}"
        );
    }
}

#[test]
fn eight_schools_json_and_csv_agree() {
    let spec = eight_schools();
    let from_json = loaded(load_json(
        &spec,
        "rlc.json",
        &test_data("eight_schools_noncentered.json"),
    ));
    let from_csv = loaded(load_csv(
        &spec,
        "rlc.csv",
        &test_data("eight_schools_noncentered.csv"),
        None,
    ));
    assert_same(&from_json, &from_csv);
    assert_eq!(from_json.size("J"), Some(8));
    let y = from_json.value("y").expect("y");
    assert_eq!(y.values, vec![28.0, 8.0, -3.0, 7.0, -1.0, 1.0, 18.0, 12.0]);
}

#[test]
fn rl_hier_json_and_csv_agree() {
    let spec = rl_hier();
    let from_json = loaded(load_json(
        &spec,
        "rlc.json",
        &test_data("rl_hier_20x100.json"),
    ));
    let from_csv = loaded(load_csv(
        &spec,
        "rlc.csv",
        &test_data("rl_hier_20x100.csv"),
        None,
    ));
    assert_same(&from_json, &from_csv);
    assert_eq!(
        from_csv.sizes,
        vec![("N".to_string(), 20), ("T".to_string(), 100)]
    );
    let choice = from_csv.value("choice").expect("choice");
    assert_eq!(choice.shape, vec![20, 100]);
    assert_eq!(choice.get(&[0, 0]), Some(1.0));
    assert_eq!(choice.get(&[0, 1]), Some(2.0));
    assert_eq!(choice.get(&[20, 0]), None);
}

#[test]
fn format_is_guessed_from_name_then_content() {
    assert_eq!(Format::guess("obs.json", b""), Format::Json);
    assert_eq!(
        Format::guess("obs.CSV", b"{"),
        Format::Csv { delimiter: None }
    );
    assert_eq!(Format::guess("data", b"  {\"T\": 1}"), Format::Json);
    assert_eq!(
        Format::guess("data", b"T,x"),
        Format::Csv { delimiter: None }
    );
    let bytes = test_data("rl_single_150.json");
    let data = loaded(load(&rl_single(), "x", &bytes, Format::guess("x", &bytes)));
    assert_eq!(data.size("T"), Some(150));
}

// ---------------------------------------------------------------------------------------------
// hBayesDM's tab-separated files, read in place.

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared beside the repository")]
fn hbayesdm_bandit2arm_loads_with_rl_hier_spec() {
    let bytes = hbayesdm("bandit2arm_exampleData.txt");
    let start = Instant::now();
    let data = loaded(load_csv(
        &rl_hier(),
        "bandit2arm_exampleData.txt",
        &bytes,
        None,
    ));
    println!(
        "bandit2arm_exampleData.txt ({} bytes) loaded in {:?}",
        bytes.len(),
        start.elapsed()
    );
    assert_eq!(data.size("N"), Some(20));
    assert_eq!(data.size("T"), Some(100));
    let choice = data.value("choice").expect("choice");
    assert_eq!(choice.missing, None);
    assert!(choice.values.iter().all(|&c| c == 1.0 || c == 2.0));
    let outcome = data.value("outcome").expect("outcome");
    assert!(outcome.values.iter().all(|&o| o == 1.0 || o == -1.0));
    // First rows of the file: subject 1, choices 1, 2 with outcomes 1, -1.
    assert_eq!(choice.get(&[0, 0]), Some(1.0));
    assert_eq!(choice.get(&[0, 1]), Some(2.0));
    assert_eq!(outcome.get(&[0, 1]), Some(-1.0));
}

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared beside the repository")]
fn hbayesdm_bandit4arm2_loads_with_four_arms() {
    let bytes = hbayesdm("bandit4arm2_exampleData.txt");
    let spec = DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID"), SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, true, &["N", "T"]).with_int_range(1, 5),
            DataDecl::new("outcome", ElemType::Real, true, &["N", "T"]),
        ],
    };
    let data = loaded(load_csv(&spec, "bandit4arm2_exampleData.txt", &bytes, None));
    assert_eq!(data.size("N"), Some(10));
    assert_eq!(data.size("T"), Some(300));
    // And the 2-arm range rejects the 4-arm choices, naming the line.
    let (kind, location, message) = only_error(load_csv(
        &rl_hier(),
        "bandit4arm2_exampleData.txt",
        &bytes,
        None,
    ));
    assert!(matches!(kind, ErrorKind::OutOfRange { .. }), "{message}");
    assert!(
        matches!(location, Location::Cell { line: 2, .. }),
        "{message}"
    );
}

#[test]
#[cfg_attr(not(rlc_shared), ignore = "needs ../shared beside the repository")]
fn hbayesdm_bandit4arm_per_subject_and_grouped_columns() {
    let bytes = hbayesdm("bandit4arm_exampleData.txt");
    let spec = DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID"), SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("subjID", ElemType::Int, false, &["N"]),
            DataDecl::new("gain", ElemType::Real, true, &["N", "T"]),
            DataDecl::new("loss", ElemType::Real, true, &["N", "T"]),
            DataDecl::new("choice", ElemType::Int, true, &["N", "T"]).with_int_range(1, 5),
        ],
    };
    let data = loaded(load_csv(&spec, "bandit4arm_exampleData.txt", &bytes, None));
    assert_eq!(data.size("N"), Some(10));
    let subjects = data.value("subjID").expect("subjID");
    assert_eq!(subjects.values.first(), Some(&102.0));
    let keys = data.group_keys("N").expect("group keys");
    assert_eq!(keys.len(), 10);
    assert_eq!(keys[0], "102");
    assert!(data.notes.is_empty(), "{:?}", data.notes);
}

// ---------------------------------------------------------------------------------------------
// CSV reading rules.

#[test]
fn ragged_groups_with_optional_type_are_padded_with_missing() {
    let data = loaded(csv(
        &rl_hier(),
        "subjID,choice,outcome\n\
         a,1,1.0\n\
         a,2,-1\n\
         a,1,1\n\
         b,2,0.5\n\
         b,NA,\n\
         c,1,NaN\n",
    ));
    assert_eq!(data.sizes, vec![("N".to_string(), 3), ("T".to_string(), 3)]);
    let choice = data.value("choice").expect("choice");
    assert_eq!(choice.shape, vec![3, 3]);
    let missing = choice.missing.as_ref().expect("missing cells");
    assert_eq!(
        missing,
        &vec![false, false, false, false, true, true, false, true, true]
    );
    assert_eq!(choice.get(&[1, 0]), Some(2.0));
    assert_eq!(choice.get(&[1, 1]), None);
    assert!(choice.values[4].is_nan());
    assert_eq!(choice.missing_count(), 4);
    let outcome = data.value("outcome").expect("outcome");
    assert_eq!(outcome.missing_count(), 5);
}

#[test]
fn groups_are_in_order_of_first_appearance_even_when_interleaved() {
    let data = loaded(csv(
        &rl_hier(),
        "subjID;choice;outcome\n9;1;0\n3;2;1\n9;2;1\n3;1;0\n",
    ));
    let choice = data.value("choice").expect("choice");
    assert_eq!(choice.values, vec![1.0, 2.0, 2.0, 1.0]);
    assert_eq!(
        data.group_keys("N"),
        Some(&["9".to_string(), "3".to_string()][..])
    );
}

/// Several independent blocks per subject (the forum thread's question, hBayesDM's
/// `multipleB` models): `size N by subjID` then `size B by block`.
fn blocks() -> DataSpec {
    DataSpec {
        sizes: vec![
            SizeDecl::grouped_by("N", "subjID"),
            SizeDecl::grouped_by("B", "block"),
            SizeDecl::new("T"),
            SizeDecl::new("R"),
        ],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, true, &["N", "B", "T"]).with_int_range(1, 3),
            DataDecl::new("outcome", ElemType::Real, true, &["N", "B", "T"]),
            DataDecl::new("age", ElemType::Real, false, &["N"]),
            DataDecl::new("cond", ElemType::Int, true, &["N", "B"]),
            DataDecl::new("all", ElemType::Int, true, &["N", "R"]),
        ],
    }
}

/// Subject 7 has blocks A (3 trials) and B (1 trial), subject 3 only block A (2 trials),
/// with the rows interleaved.
const BLOCKS_CSV: &str = "subjID,block,choice,outcome,age,cond,all\n\
    7,A,1,1,30,0,1\n\
    7,A,2,-1,30,0,1\n\
    3,A,2,1,41,1,2\n\
    7,B,1,1,30,1,1\n\
    7,A,,0,30,0,1\n\
    3,A,1,-1,41,1,2\n";

#[test]
fn nested_groups_read_blocks_within_subjects() {
    let data = loaded(csv(&blocks(), BLOCKS_CSV));
    assert_eq!(
        data.sizes,
        vec![
            ("N".to_string(), 2),
            ("B".to_string(), 2),
            ("T".to_string(), 3),
            ("R".to_string(), 4)
        ]
    );
    let choice = data.value("choice").expect("choice");
    assert_eq!(choice.shape, vec![2, 2, 3]);
    // [7][A] = 1, 2, missing (an empty cell); [7][B] = 1, pad, pad;
    // [3][A] = 2, 1, pad; [3][B] is a block subject 3 does not have.
    let cells: Vec<Option<f64>> = (0..12)
        .map(|i| choice.get(&[i / 6, (i / 3) % 2, i % 3]))
        .collect();
    assert_eq!(
        cells,
        vec![
            Some(1.0),
            Some(2.0),
            None,
            Some(1.0),
            None,
            None,
            Some(2.0),
            Some(1.0),
            None,
            None,
            None,
            None
        ]
    );
    assert_eq!(
        data.value("outcome").expect("outcome").get(&[0, 0, 2]),
        Some(0.0)
    );
    assert_eq!(data.value("age").expect("age").values, vec![30.0, 41.0]);
    let cond = data.value("cond").expect("cond");
    assert_eq!(cond.shape, vec![2, 2]);
    assert_eq!(
        (0..4)
            .map(|i| cond.get(&[i / 2, i % 2]))
            .collect::<Vec<_>>(),
        vec![Some(0.0), Some(1.0), Some(1.0), None]
    );
    // `[N, T]` still takes all of a subject's rows, in file order.
    let all = data.value("all").expect("all");
    assert_eq!(all.shape, vec![2, 4]);
    assert_eq!(all.get(&[1, 1]), Some(2.0));
    assert_eq!(all.get(&[1, 2]), None);
    assert_eq!(
        data.group_keys("N"),
        Some(&["7".to_string(), "3".to_string()][..])
    );
    assert_eq!(
        data.group_keys("B"),
        Some(&["A".to_string(), "B".to_string()][..])
    );
    // Each row's cell, for writing simulated values back: row 4 (7, B) is [0, 1, 0].
    let (_, rows) = data
        .row_cells
        .iter()
        .find(|(name, _)| name == "choice")
        .expect("choice's rows");
    assert_eq!(rows, &vec![0, 1, 6, 3, 2, 7]);
}

#[test]
fn nested_group_labels_are_left_out_when_subjects_disagree() {
    let data = loaded(csv(
        &blocks(),
        "subjID,block,choice,outcome,age,cond,all\n\
         1,x,1,1,30,0,1\n\
         1,y,1,1,30,0,1\n\
         2,y,1,1,30,0,1\n",
    ));
    assert_eq!(data.size("B"), Some(2));
    assert!(data.group_keys("B").is_none());
    assert!(data.group_keys("N").is_some());
}

#[test]
fn nested_groups_in_a_non_optional_declaration() {
    let spec = |optional_blocks: bool| DataSpec {
        sizes: vec![
            SizeDecl::grouped_by("N", "subjID"),
            SizeDecl::grouped_by("B", "block"),
            SizeDecl::new("T"),
        ],
        variables: vec![DataDecl::new(
            "choice",
            ElemType::Int,
            optional_blocks,
            &["N", "B", "T"],
        )],
    };
    // A subject with fewer blocks.
    let text = "subjID,block,choice\n1,1,1\n1,2,1\n2,1,1\n";
    let (kind, _, message) = only_error(csv(&spec(false), text));
    assert!(
        matches!(kind, ErrorKind::RaggedNestedGroups { .. }),
        "{message}"
    );
    assert_eq!(kind.code(), "D0028");
    assert!(
        message.contains("group subjID = 2 has 1 distinct block value but B is 2"),
        "{message}"
    );
    assert!(message.contains("`int?[N, B, T]`"), "{message}");
    // A short block: the message names the subject too.
    let text = "subjID,block,choice\n1,1,1\n1,1,1\n2,1,1\n";
    let (kind, _, message) = only_error(csv(&spec(false), text));
    assert!(matches!(kind, ErrorKind::RaggedGroups { .. }), "{message}");
    assert!(
        message.contains("group block = 1 (subjID = 2) has 1 row but T is 2"),
        "{message}"
    );
    assert!(csv(&spec(true), text).is_ok());
}

#[test]
fn nested_sizes_must_come_in_their_order() {
    let spec = DataSpec {
        sizes: vec![
            SizeDecl::grouped_by("N", "subjID"),
            SizeDecl::grouped_by("B", "block"),
            SizeDecl::new("T"),
        ],
        variables: vec![DataDecl::new("choice", ElemType::Int, true, &["B", "T"])],
    };
    let (kind, _, message) = only_error(csv(&spec, "subjID,block,choice\n1,1,1\n"));
    assert!(matches!(kind, ErrorKind::ShapeNotInCsv { .. }), "{message}");
    assert!(message.contains("[N, B, T]"), "{message}");
    // `[N, B, T]` with `size B by block` declared first: the fix is in the model,
    // and the message says which declaration to move (it suggested JSON).
    let swapped = DataSpec {
        sizes: vec![
            SizeDecl::grouped_by("B", "block"),
            SizeDecl::grouped_by("N", "subjID"),
            SizeDecl::new("T"),
        ],
        variables: vec![DataDecl::new(
            "choice",
            ElemType::Int,
            true,
            &["N", "B", "T"],
        )],
    };
    let (kind, _, message) = only_error(csv(&swapped, "subjID,block,choice\n1,1,1\n"));
    assert!(
        matches!(kind, ErrorKind::GroupsOutOfOrder { .. }),
        "{message}"
    );
    assert!(
        message.contains("but `size B by block` is declared before `size N by subjID`")
            && message.contains("declare `size N by subjID` first")
            && !message.contains("JSON"),
        "{message}"
    );
    // A missing block key is an error, like a missing subject.
    let (kind, _, _) = only_error(csv(
        &blocks(),
        "subjID,block,choice,outcome,age,cond,all\n1,,1,1,3,0,1\n",
    ));
    assert!(matches!(kind, ErrorKind::MissingGroupKey { .. }));
}

#[test]
fn forced_delimiter_and_quoted_fields() {
    let spec = eight_schools();
    let data = loaded(load_csv(
        &spec,
        "obs.txt",
        b"y|sigma|note\n1|2|\"a|b\"\n3|4|x\n",
        Some(b'|'),
    ));
    assert_eq!(data.value("sigma").expect("sigma").values, vec![2.0, 4.0]);
}

#[test]
fn scalar_from_csv_must_be_constant() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("K", ElemType::Int, false, &[]),
            DataDecl::new("y", ElemType::Real, false, &["T"]),
        ],
    };
    let data = loaded(csv(&spec, "K,y\n2,0.5\n2.0,1.5\n"));
    assert_eq!(data.value("K").expect("K").values, vec![2.0]);
    let (kind, location, message) = only_error(csv(&spec, "K,y\n2,0.5\n3,1.5\n"));
    assert!(
        matches!(kind, ErrorKind::ScalarVaries { first_line: 2, .. }),
        "{message}"
    );
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "K".to_string()
        }
    );
}

#[test]
fn bools_read_as_words_or_digits() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![DataDecl::new("hit", ElemType::Bool, false, &["T"])],
    };
    let data = loaded(csv(&spec, "hit\nTRUE\nfalse\n1\n0\n"));
    assert_eq!(
        data.value("hit").expect("hit").values,
        vec![1.0, 0.0, 1.0, 0.0]
    );
    let data = loaded(json(&spec, r#"{"hit": [true, 0, 1, false]}"#));
    assert_eq!(
        data.value("hit").expect("hit").values,
        vec![1.0, 0.0, 1.0, 0.0]
    );
    let (kind, _, message) = only_error(csv(&spec, "hit\nyes\n"));
    assert!(matches!(kind, ErrorKind::NotABool { .. }), "{message}");
    let (kind, _, message) = only_error(json(&spec, r#"{"hit": [2]}"#));
    assert!(matches!(kind, ErrorKind::NotABool { .. }), "{message}");
}

#[test]
fn crlf_bom_blank_lines_and_padding_are_tolerated() {
    let data = loaded(csv(
        &eight_schools(),
        "\u{feff} y , sigma \r\n1,2\r\n\r\n,\r\n 3 ,4\r\n",
    ));
    assert_eq!(data.value("y").expect("y").values, vec![1.0, 3.0]);
}

/// Errors name the line a text editor shows, whatever ends the lines: `\n`,
/// Windows' `\r\n` (the csv reader's own count was one short) or `\r`.
#[test]
fn error_lines_count_every_kind_of_line_end() {
    for end in ["\n", "\r\n", "\r"] {
        let text = ["y,sigma", "1,2", "", "3,4", "5,x", "6,7"].join(end) + end;
        let (_, location, message) = only_error(csv(&eight_schools(), &text));
        assert_eq!(
            location,
            Location::Cell {
                line: 5,
                column: "sigma".to_string()
            },
            "{end:?}: {message}"
        );
        let ragged = ["y,sigma", "1,2", "3,4,5"].join(end) + end;
        let (_, location, message) = only_error(csv(&eight_schools(), &ragged));
        assert_eq!(location, Location::Line { line: 3 }, "{end:?}: {message}");
    }
}

#[test]
fn leading_blank_lines_before_the_header_are_skipped() {
    let data = loaded(csv(&eight_schools(), "\n   \n  y\tsigma\n1\t2\n"));
    assert_eq!(data.value("sigma").expect("sigma").values, vec![2.0]);
    let (_, location, _) = only_error(csv(&eight_schools(), "\n\ny,sigma\n1,x\n"));
    assert_eq!(
        location,
        Location::Cell {
            line: 4,
            column: "sigma".to_string()
        }
    );
}

/// A large long-format file (10,000 subjects × 100 trials) loads, and how long it takes is
/// printed; gated because it measures rather than checks.
#[test]
fn large_file_load_time() {
    if std::env::var_os("RLC_SLOW_TESTS").is_none() {
        return;
    }
    let mut text = String::from("subjID\ttrial\tchoice\toutcome\n");
    for subject in 0..10_000 {
        for trial in 0..100 {
            let choice = 1 + (subject + trial) % 2;
            let outcome = if trial % 3 == 0 { "-1" } else { "1" };
            text.push_str(&format!("{subject}\t{trial}\t{choice}\t{outcome}\n"));
        }
    }
    let start = Instant::now();
    let data = loaded(csv(&rl_hier(), &text));
    println!(
        "{} MB CSV loaded in {:?}",
        text.len() / 1_000_000,
        start.elapsed()
    );
    assert_eq!(data.size("N"), Some(10_000));
    let json_text = format!(
        "{{\"choice\": {:?}, \"outcome\": {:?}}}",
        vec![vec![1; 100]; 10_000],
        vec![vec![0.5; 100]; 10_000]
    );
    let start = Instant::now();
    let data = loaded(json(&rl_hier(), &json_text));
    println!(
        "{} MB JSON loaded in {:?}",
        json_text.len() / 1_000_000,
        start.elapsed()
    );
    assert_eq!(data.size("T"), Some(100));
}

#[test]
fn declaration_text_renders_as_written() {
    let choice = DataDecl::new("choice", ElemType::Int, true, &["N", "T"]).with_int_range(1, 3);
    assert_eq!(choice.to_string(), "data choice: int?[N, T] in 1..3");
    let mut q = DataDecl::new("q", ElemType::Real, false, &["T"])
        .with_real_bounds(rlc_data::RealBounds::open(0.0, f64::INFINITY));
    q.shape.push(DimSpec::Const(2));
    assert_eq!(q.to_string(), "data q: real[T, 2] in (0, inf)");
    assert_eq!(
        DataDecl::new("k", ElemType::Bool, false, &[]).to_string(),
        "data k: bool"
    );
    assert_eq!(
        SizeDecl::grouped_by("N", "subjID").to_string(),
        "size N by subjID"
    );
}

// ---------------------------------------------------------------------------------------------
// One test per kind of bad input.

#[test]
fn value_outside_range() {
    let (kind, location, message) =
        only_error(csv(&rl_hier(), "subjID,choice,outcome\n1,1,0\n1,3,1\n"));
    assert!(matches!(kind, ErrorKind::OutOfRange { value, .. } if value == 3.0));
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "choice".to_string()
        }
    );
    assert_eq!(
        message,
        "obs.csv, line 3, column \"choice\": value 3 is outside the declared range 1..3 of \
         `data choice: int?[N, T] in 1..3` (the upper end is excluded)"
    );
}

#[test]
fn real_outside_bounds() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("J")],
        variables: vec![DataDecl::new("sigma", ElemType::Real, false, &["J"])
            .with_real_bounds(rlc_data::RealBounds::open(0.0, f64::INFINITY))],
    };
    let (kind, _, message) = only_error(json(&spec, r#"{"sigma": [1.5, 0]}"#));
    assert!(matches!(kind, ErrorKind::OutOfBounds { .. }), "{message}");
    assert!(message.contains("at sigma[1]"), "{message}");
}

#[test]
fn closed_and_half_open_bounds_allow_their_closed_ends_only() {
    let bounds = |lo, hi, lo_closed, hi_closed| rlc_data::RealBounds {
        lo,
        hi,
        lo_closed,
        hi_closed,
    };
    let spec = |b| DataSpec {
        sizes: vec![SizeDecl::new("J")],
        variables: vec![DataDecl::new("p", ElemType::Real, false, &["J"]).with_real_bounds(b)],
    };
    let unit = bounds(0.0, 1.0, true, true);
    assert_eq!(
        spec(unit).variables[0].to_string(),
        "data p: real[J] in [0, 1]"
    );
    assert!(json(&spec(unit), r#"{"p": [0, 0.5, 1]}"#).is_ok());
    for outside in ["-1e-300", "1.0000000000000002", "inf", "-inf"] {
        let (kind, _, message) = only_error(csv(&spec(unit), &format!("p\n0.5\n{outside}\n")));
        assert!(matches!(kind, ErrorKind::OutOfBounds { .. }), "{message}");
        assert!(
            message.ends_with("in [0, 1]` (the bounds are included)"),
            "{message}"
        );
        // A tiny or huge value is written short: `-1e-300`, not 300 digits.
        assert!(message.len() < 200, "{message}");
    }
    let (_, _, message) = only_error(csv(&spec(unit), "p\n-1e-300\n"));
    assert!(message.contains("value -1e-300 is outside"), "{message}");
    let delay = bounds(0.0, f64::INFINITY, true, false);
    assert!(json(&spec(delay), r#"{"p": [0, 3.5]}"#).is_ok());
    let (_, location, message) = only_error(csv(&spec(delay), "p\n0\n-2\n"));
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "p".to_string()
        }
    );
    assert!(
        message.ends_with("value -2 is outside the declared bounds of `data p: real[J] in [0, inf)` (0 included, inf excluded)"),
        "{message}"
    );
    let rt = bounds(0.0, 2.5, false, true);
    assert!(json(&spec(rt), r#"{"p": [2.5, 1e-9]}"#).is_ok());
    let (_, _, message) = only_error(json(&spec(rt), r#"{"p": [0]}"#));
    assert!(
        message.ends_with("in (0, 2.5]` (0 excluded, 2.5 included)"),
        "{message}"
    );
}

#[test]
fn missing_column() {
    let (kind, location, message) = only_error(csv(&rl_single(), "trial,action\n1,0\n"));
    assert!(
        matches!(&kind, ErrorKind::MissingColumn { declaration, .. } if declaration.name == "reward"),
        "{message}"
    );
    assert_eq!(location, Location::Line { line: 1 });
    assert_eq!(
        message,
        "obs.csv, line 1: there is no column \"reward\" for `data reward: real[T]` \
         (the header has \"trial\", \"action\")"
    );
    let (kind, _, message) = only_error(csv(&rl_hier(), "subject,choice,outcome\n1,1,0\n"));
    assert!(
        matches!(kind, ErrorKind::MissingGroupColumn { .. }),
        "{message}"
    );
    assert!(message.contains("`size N by subjID`"), "{message}");
}

#[test]
fn every_independent_error_is_reported() {
    let result = csv(&rl_single(), "trial\n1\n");
    let errors = result.expect_err("two missing columns").errors;
    assert_eq!(errors.len(), 2);
}

#[test]
fn non_number() {
    let (kind, location, message) = only_error(csv(&rl_single(), "action,reward\n0,1\n1,one\n"));
    assert!(matches!(&kind, ErrorKind::NotANumber { text, .. } if text == "one"));
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "reward".to_string()
        }
    );
    assert!(message.contains("\"one\" is not a number"), "{message}");
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"action": [0, 1], "reward": [1, "x"]}"#,
    ));
    assert!(matches!(kind, ErrorKind::NotANumber { .. }), "{message}");
    assert!(message.starts_with("obs.json, at reward[1]:"), "{message}");
}

#[test]
fn empty_file() {
    for text in ["", "  \n\n"] {
        let (kind, _, message) = only_error(csv(&rl_single(), text));
        assert_eq!(kind, ErrorKind::Empty);
        assert_eq!(message, "obs.csv: the file is empty");
        let (kind, _, _) = only_error(json(&rl_single(), text));
        assert_eq!(kind, ErrorKind::Empty);
    }
}

#[test]
fn header_only() {
    for text in ["action,reward", "action,reward\n", "action,reward\n,\n"] {
        let (kind, _, message) = only_error(csv(&rl_single(), text));
        assert_eq!(kind, ErrorKind::HeaderOnly, "{message}");
    }
}

#[test]
fn missing_value_in_non_optional_variable() {
    let (kind, location, message) = only_error(csv(&rl_single(), "action,reward\n0,1\nNA,0\n"));
    assert!(matches!(kind, ErrorKind::MissingValue { .. }), "{message}");
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "action".to_string()
        }
    );
    assert!(message.contains("declare it as `int?[T]`"), "{message}");
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"action": [0, null], "reward": [1, 0]}"#,
    ));
    assert!(matches!(kind, ErrorKind::MissingValue { .. }), "{message}");
}

#[test]
fn ragged_groups_without_optional_type() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID"), SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, false, &["N", "T"]).with_int_range(1, 3)
        ],
    };
    let (kind, _, message) = only_error(csv(&spec, "subjID,choice\n7,1\n7,2\n8,1\n"));
    assert!(
        matches!(&kind, ErrorKind::RaggedGroups { group, group_len: 1, size_value: 2, .. } if group == "8"),
        "{message}"
    );
    assert!(message.contains("subjID = 8"), "{message}");
    assert!(message.contains("`int?[N, T]`"), "{message}");
    // Groups of one length need no `?`.
    let data = loaded(csv(&spec, "subjID,choice\n7,1\n7,2\n8,1\n8,1\n"));
    assert_eq!(data.size("T"), Some(2));
}

#[test]
fn per_group_value_must_be_constant_within_its_group() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID")],
        variables: vec![DataDecl::new("age", ElemType::Int, false, &["N"])],
    };
    let data = loaded(csv(&spec, "subjID,age\n1,30\n1,30\n2,41\n"));
    assert_eq!(data.value("age").expect("age").values, vec![30.0, 41.0]);
    let (kind, location, message) = only_error(csv(&spec, "subjID,age\n1,30\n2,41\n2,42\n"));
    assert!(
        matches!(&kind, ErrorKind::GroupValueVaries { group, first_line: 3, .. } if group == "2"),
        "{message}"
    );
    assert_eq!(
        location,
        Location::Cell {
            line: 4,
            column: "age".to_string()
        }
    );
}

#[test]
fn json_size_mismatch_names_both_sources() {
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"T": 3, "action": [0, 1, 1], "reward": [1, 0]}"#,
    ));
    assert!(
        matches!(
            kind,
            ErrorKind::SizeMismatch {
                first: 3,
                second: 2,
                ..
            }
        ),
        "{message}"
    );
    assert_eq!(
        message,
        "obs.json, at reward: inconsistent sizes: T is 3 (given in the file) but 2 (the length of reward)"
    );
    // Rows of a 2-D array of different lengths; each variable's error is reported.
    let errors = json(
        &rl_hier(),
        r#"{"choice": [[1, 2], [1]], "outcome": [[0, 0], [0]]}"#,
    )
    .expect_err("ragged rows")
    .errors;
    assert_eq!(errors.len(), 2);
    assert_eq!(
        errors[0].to_string(),
        "obs.json, at choice[1]: inconsistent sizes: T is 2 (the length of choice[0]) \
         but 1 (the length of choice[1])"
    );
}

#[test]
fn csv_size_mismatch_between_row_count_and_groups() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::grouped_by("N", "subjID"), SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, true, &["N", "T"]),
            DataDecl::new("rt", ElemType::Real, false, &["T"]),
        ],
    };
    let (kind, _, message) = only_error(csv(&spec, "subjID,choice,rt\n1,1,0.5\n2,1,0.4\n"));
    assert!(matches!(kind, ErrorKind::SizeMismatch { .. }), "{message}");
}

#[test]
fn json_non_integer_for_int() {
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"action": [0, 1.5], "reward": [1, 0]}"#,
    ));
    assert!(matches!(kind, ErrorKind::NotAnInteger { value, .. } if value == 1.5));
    assert!(
        message.starts_with("obs.json, at action[1]: value 1.5 is not an integer"),
        "{message}"
    );
    // Integral floats are integers.
    let data = loaded(json(
        &rl_single(),
        r#"{"action": [0, 1.0], "reward": [1, 0]}"#,
    ));
    assert_eq!(data.value("action").expect("action").values, vec![0.0, 1.0]);
}

#[test]
fn json_unknown_key_is_a_note() {
    let data = loaded(json(
        &rl_single(),
        r#"{"T": 2, "action": [0, 1], "reward": [1, 0], "subject": "ab"}"#,
    ));
    assert_eq!(
        data.notes,
        vec!["key `subject` in obs.json names no declaration; ignored"]
    );
}

#[test]
fn json_structure_errors() {
    let (kind, location, _) =
        only_error(json(&rl_single(), r#"{"action": [0, 1], "reward": [1, 0]"#));
    assert!(matches!(kind, ErrorKind::Syntax { .. }));
    assert!(matches!(location, Location::JsonText { line: 1, .. }));
    let (kind, _, _) = only_error(json(&rl_single(), "[1, 2]"));
    assert_eq!(kind, ErrorKind::NotAnObject);
    let (kind, _, _) = only_error(json(&rl_single(), "7"));
    assert_eq!(kind, ErrorKind::NotAnObject);
    // A key given twice would hide its first value.
    let (kind, location, message) = only_error(json(
        &rl_single(),
        "{\"T\": 2, \"action\": [0, 1],\n \"reward\": [1, 0], \"T\": 9}",
    ));
    assert!(matches!(kind, ErrorKind::Syntax { .. }));
    assert!(
        matches!(location, Location::JsonText { line: 2, .. }),
        "{location:?}"
    );
    assert!(message.contains("key `T` is given twice"), "{message}");
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"action": [[0], [1]], "reward": [1, 0]}"#,
    ));
    assert!(matches!(kind, ErrorKind::WrongShape { .. }), "{message}");
    let (kind, _, message) = only_error(json(&rl_single(), r#"{"action": [0, 1]}"#));
    assert!(matches!(kind, ErrorKind::MissingKey { .. }), "{message}");
    let (kind, _, message) = only_error(json(
        &rl_single(),
        r#"{"T": -1, "action": [], "reward": []}"#,
    ));
    assert!(matches!(kind, ErrorKind::BadSize { .. }), "{message}");
}

#[test]
fn undetermined_size() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("T"), SizeDecl::new("K")],
        variables: vec![DataDecl::new("y", ElemType::Real, false, &["T"])],
    };
    let (kind, _, message) = only_error(csv(&spec, "y\n1\n"));
    assert!(
        matches!(&kind, ErrorKind::UndeterminedSize { size } if size.name == "K"),
        "{message}"
    );
    let data = loaded(json(&spec, r#"{"K": 4, "y": [1]}"#));
    assert_eq!(data.sizes, vec![("T".to_string(), 1), ("K".to_string(), 4)]);
}

/// `size N by subjID; size T; size K = max(choice) + PLUS; data choice: int?[N, T]`.
fn largest_choice(plus: i64) -> DataSpec {
    DataSpec {
        sizes: vec![
            SizeDecl::grouped_by("N", "subjID"),
            SizeDecl::new("T"),
            SizeDecl::largest_of("K", "choice", plus),
        ],
        variables: vec![DataDecl::new("choice", ElemType::Int, true, &["N", "T"])],
    }
}

#[test]
fn a_size_is_the_largest_value_of_a_variable() {
    // Missing cells and the padding of short groups do not count.
    let data = loaded(csv(
        &largest_choice(0),
        "subjID,choice\n1,2\n1,NA\n1,3\n2,1\n",
    ));
    assert_eq!(
        data.sizes,
        vec![
            ("N".to_string(), 2),
            ("T".to_string(), 3),
            ("K".to_string(), 3)
        ]
    );
    // Values counted from 0: `+ 1`; the same from JSON.
    let data = loaded(json(
        &largest_choice(1),
        r#"{"choice": [[0, 4, null], [2, 2, 1]]}"#,
    ));
    assert_eq!(data.sizes[2], ("K".to_string(), 5));
    // No value at all: 0, whatever is added (nothing is counted).
    let data = loaded(csv(&largest_choice(1), "subjID,choice\n1,NA\n"));
    assert_eq!(data.sizes[2], ("K".to_string(), 0));
}

#[test]
fn a_size_the_file_gives_bounds_the_largest_value() {
    // A task with 5 options where option 5 was never chosen: the file says so.
    let data = loaded(json(
        &largest_choice(0),
        r#"{"K": 5, "choice": [[1, 4], [2, 2]]}"#,
    ));
    assert_eq!(data.sizes[2], ("K".to_string(), 5));
    let (kind, location, message) = only_error(json(
        &largest_choice(1),
        r#"{"K": 4, "choice": [[1, 4], [2, 2]]}"#,
    ));
    assert!(
        matches!(
            &kind,
            ErrorKind::LargestValueExceeds {
                largest: 4,
                value: 4,
                ..
            }
        ),
        "{message}"
    );
    assert_eq!(location, Location::File);
    assert_eq!(
        message,
        "obs.json: `size K = max(choice) + 1` is 4 (given in the file), but `choice` has values up \
         to 4, which need K >= 5"
    );
}

#[test]
fn a_size_from_a_variable_the_file_lacks_or_from_values_below_zero() {
    let mut spec = largest_choice(0);
    spec.variables[0].absent_fill = Some(1.0);
    let expected =
        "`size K = max(choice)` takes its value from `choice`, which the file does not have";
    for result in [
        csv(&spec, "subjID\n1\n1\n2\n"),
        json(&spec, r#"{"N": 2, "T": 2}"#),
    ] {
        let (kind, _, message) = only_error(result);
        assert!(
            matches!(kind, ErrorKind::LargestValueAbsent { .. }),
            "{message}"
        );
        assert!(message.contains(expected), "{message}");
    }
    // The design gives the size itself.
    let data = loaded(json(&spec, r#"{"N": 2, "T": 2, "K": 4}"#));
    assert_eq!(data.sizes[2], ("K".to_string(), 4));
    let (kind, _, message) = only_error(csv(&largest_choice(1), "subjID,choice\n1,-3\n2,-5\n"));
    assert!(
        matches!(kind, ErrorKind::LargestValueNotASize { value: -2, .. }),
        "{message}"
    );
}

#[test]
fn csv_row_with_wrong_field_count() {
    let (kind, location, message) = only_error(csv(&rl_single(), "action,reward\n0,1\n1\n"));
    assert_eq!(
        kind,
        ErrorKind::FieldCount {
            expected: 2,
            found: 1
        },
        "{message}"
    );
    assert_eq!(location, Location::Line { line: 3 });
}

#[test]
fn an_unclosed_quote_is_named_where_it_opens() {
    // The quote swallows the next two rows into `reward`'s field of line 3.
    let (kind, location, message) =
        only_error(csv(&rl_single(), "action,reward\n0,1\n1,\"0\n0,1\n1,1\n"));
    assert_eq!(kind, ErrorKind::UnclosedQuote { lines: 2 }, "{message}");
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "reward".into()
        }
    );
    // With CRLF line ends, and in the first field.
    let (kind, location, message) =
        only_error(csv(&rl_single(), "action,reward\r\n\"0,1\r\n1,0\r\n"));
    assert_eq!(kind, ErrorKind::UnclosedQuote { lines: 1 }, "{message}");
    assert_eq!(
        location,
        Location::Cell {
            line: 2,
            column: "action".into()
        }
    );
    // Quotes in pairs are CSV's own: a quoted field may hold line breaks and `""`.
    let data = loaded(csv(
        &rl_single(),
        "action,reward,note\n0,1,\"two\nlines\"\n1,0,\"say \"\"hi\"\"\"\n",
    ));
    assert_eq!(data.sizes, vec![("T".to_string(), 2)]);
}

#[test]
fn shapes_that_csv_cannot_hold_need_json() {
    let mut decl = DataDecl::new("q", ElemType::Real, false, &["T"]);
    decl.shape.push(DimSpec::Const(2));
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![decl],
    };
    let (kind, _, _) = only_error(csv(&spec, "q\n1\n"));
    assert!(matches!(kind, ErrorKind::ShapeNotInCsv { .. }));
    let data = loaded(json(&spec, r#"{"q": [[1, 2], [3, 4], [5, 6]]}"#));
    let q = data.value("q").expect("q");
    assert_eq!(q.shape, vec![3, 2]);
    assert_eq!(q.get(&[2, 1]), Some(6.0));
    let (kind, _, _) = only_error(json(&spec, r#"{"q": [[1, 2, 3]]}"#));
    assert!(matches!(
        kind,
        ErrorKind::ConstDimMismatch {
            expected: 2,
            found: 3,
            ..
        }
    ));
}

#[test]
fn spec_with_undeclared_size_is_rejected() {
    let spec = DataSpec {
        sizes: vec![],
        variables: vec![DataDecl::new("y", ElemType::Real, false, &["J"])],
    };
    let (kind, _, _) = only_error(json(&spec, r#"{"y": [1]}"#));
    assert!(matches!(kind, ErrorKind::UnknownSize { .. }));
}

#[test]
fn error_codes_are_distinct() {
    let kinds = [
        ErrorKind::Empty,
        ErrorKind::HeaderOnly,
        ErrorKind::NotAnObject,
    ];
    let codes: std::collections::HashSet<_> = kinds.iter().map(ErrorKind::code).collect();
    assert_eq!(codes.len(), kinds.len());
}

// ---------------------------------------------------------------------------------------------
// Robustness: no input panics.

fn all_specs() -> Vec<DataSpec> {
    let mut scalar = eight_schools();
    scalar
        .variables
        .push(DataDecl::new("K", ElemType::Bool, true, &[]));
    scalar.sizes.push(SizeDecl::grouped_by("G", "y"));
    scalar
        .variables
        .push(DataDecl::new("g", ElemType::Int, false, &["G"]).with_int_range(-2, 9));
    vec![rl_single(), eight_schools(), rl_hier(), scalar, levels()]
}

fn load_everything(bytes: &[u8]) {
    for spec in all_specs() {
        for format in [
            Format::Json,
            Format::Csv { delimiter: None },
            Format::Csv {
                delimiter: Some(b'\t'),
            },
        ] {
            if let Err(e) = load(&spec, "fuzz", bytes, format) {
                // Rendering every error must not panic either.
                let _ = e.to_string();
            }
        }
    }
}

/// A valid file with some bytes replaced, inserted or deleted.
fn mutate(base: &[u8], edits: &[(usize, u8, u8)]) -> Vec<u8> {
    let mut bytes = base.to_vec();
    for &(at, op, byte) in edits {
        let at = if bytes.is_empty() {
            0
        } else {
            at % (bytes.len() + 1)
        };
        match op % 3 {
            0 if at < bytes.len() => bytes[at] = byte,
            1 => bytes.insert(at, byte),
            _ if at < bytes.len() => {
                bytes.remove(at);
            }
            _ => {}
        }
    }
    bytes
}

const FUZZ_BYTES: &[u8] = b"0123456789,;\t\n\r\"{}[]:.-eE NAnulltrue ";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        load_everything(&bytes);
    }

    #[test]
    fn random_texts_of_data_characters_never_panic(
        picks in proptest::collection::vec(0..FUZZ_BYTES.len(), 0..300)
    ) {
        let bytes: Vec<u8> = picks.iter().filter_map(|&i| FUZZ_BYTES.get(i).copied()).collect();
        load_everything(&bytes);
    }

    #[test]
    fn mutated_valid_files_never_panic(
        which in 0..6usize,
        edits in proptest::collection::vec((any::<usize>(), any::<u8>(), any::<u8>()), 1..8)
    ) {
        let base: &[u8] = match which {
            0 => b"subjID,trial,choice,outcome\n1,1,1,-1.0\n1,2,2,1.0\n2,1,NA,\n2,2,1,1\n3,1,2,0\n",
            1 => b"{\"N\": 2, \"T\": 2, \"choice\": [[1, 2], [null, 1]], \"outcome\": [[0.5, 1], [1, -1]]}",
            2 => b"{\"J\": 2, \"y\": [28.0, 8.0], \"sigma\": [15.0, 10.0], \"K\": true, \"G\": 1, \"g\": [3]}",
            3 => b"{\"T\": 2, \"u\": [1, 0], \"L\": 4, \"mu0\": [0.1, 0.2, 0.3], \"w\": [[1], [2], [3], [4], [5], [6], [7], [8]]}",
            4 => b"u,L,mu0.1,mu0.2,mu0.3\n1,4,0.1,0.2,0.3\n0,4,0.1,0.2,0.3\n",
            _ => b"trial\taction\treward\n1\t1\t1\n2\t0\t0\n3\t1\t0.5\n",
        };
        load_everything(&mutate(base, &edits));
    }
}

/// A study's file given to a one-subject model: the subject column is
/// ignored, and a note says the subjects' rows are read as one.
#[test]
fn several_subjects_read_as_one_are_noted() {
    let data = loaded(csv(
        &rl_single(),
        "subjID,action,reward\ns1,0,1\ns1,1,0\ns2,1,1\n",
    ));
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("holds 2 subjects in column `subjID`")),
        "{:?}",
        data.notes
    );
    let one = loaded(csv(&rl_single(), "subjID,action,reward\ns1,0,1\ns1,1,0\n"));
    assert!(
        !one.notes.iter().any(|n| n.contains("subjects in column")),
        "{:?}",
        one.notes
    );
}

/// Files that are not text, as lab data arrive by mistake, are named for
/// what they look like (D0029), not misread as one-column CSV.
#[test]
fn files_that_are_not_text_say_what_they_look_like() {
    for (bytes, expected) in [
        (&b"PK\x03\x04\x14\x00rest"[..], "a zip archive"),
        (
            &[0xD0, 0xCF, 0x11, 0xE0, 0xA1][..],
            "an old Excel .xls workbook",
        ),
        (&[0x1F, 0x8B, 0x08, 0x00][..], "gzip-compressed"),
        (&[0xFF, 0xFE, b'y', 0, b'\n', 0][..], "UTF-16 text"),
        (&b"y,sigma\n1,\x002\n"[..], "NUL bytes"),
    ] {
        let (kind, location, message) =
            only_error(load_csv(&eight_schools(), "obs.csv", bytes, None));
        assert!(matches!(kind, ErrorKind::NotText { .. }), "{message}");
        assert_eq!(location, Location::File);
        assert!(
            message.contains(expected) && message.contains("UTF-8 CSV"),
            "{message}"
        );
    }
}

/// Two common differences of a lab's file: a column named in another case or with
/// underscores (`Action` for `action`; `subj_ID` for `subjID`, which hBayesDM accepts), and
/// another program's code for a missing value (SAS's and Stata's `.`, `NULL`): the message
/// says what to change.
#[test]
fn a_column_in_another_case_and_missing_value_codes_get_hints() {
    let hint = |file: &str, wanted: &str| {
        format!("\"{file}\" differs only in case, spaces or underscores: rename the column to \"{wanted}\"")
    };
    let (_, _, message) = only_error(csv(&rl_single(), "Action,reward\n0,1\n"));
    assert!(message.contains(&hint("Action", "action")), "{message}");
    let (_, _, message) = only_error(csv(&rl_single(), "act_ion,reward\n0,1\n"));
    assert!(message.contains(&hint("act_ion", "action")), "{message}");
    assert!(
        message.contains("hBayesDM ignores case and underscores"),
        "{message}"
    );
    let (_, _, message) = only_error(csv(&rl_single(), "actions,reward\n0,1\n"));
    assert!(!message.contains("differs only"), "{message}");
    for code in [".", "NULL", "N/A", "#N/A"] {
        let (_, _, message) = only_error(csv(&rl_single(), &format!("action,reward\n0,{code}\n")));
        assert!(
            message.contains("rlc reads an empty cell, `NA` or `NaN` as missing"),
            "{code}: {message}"
        );
    }
}

/// Parameter values from JSON keep their nesting (so a transposed matrix can be
/// told from the parameter's shape), and lists of different lengths are refused.
#[test]
fn json_values_keep_their_nesting_and_must_be_rectangular() {
    let given = rlc_data::parse_json_numbers(
        r#"{"a": 0.5, "w": [1, 2, 3], "q": [[1, 2, 3], [4, 5, "Inf"]], "e": []}"#,
    )
    .expect("valid");
    assert_eq!(given["a"].nesting, Vec::<usize>::new());
    assert_eq!(given["w"].nesting, vec![3]);
    assert_eq!(given["q"].nesting, vec![2, 3]);
    assert_eq!(given["q"].elements[5], f64::INFINITY);
    assert_eq!(given["e"].nesting, vec![0]);
    let error = rlc_data::parse_json_numbers(r#"{"q": [[1, 2], [3]]}"#).expect_err("ragged");
    assert!(
        error.contains("`q`: its lists are not all the same shape: item 0 is a list of shape [2], item 1 is a list of shape [1]"),
        "{error}"
    );
    let error = rlc_data::parse_json_numbers(r#"{"q": [[1, 2], 3]}"#).expect_err("mixed");
    assert!(error.contains("item 1 is a number"), "{error}");
}

/// Excel's `sep=;` first line names the delimiter: it is honoured (and the
/// rows keep their line numbers in messages).
#[test]
fn an_excel_separator_line_names_the_delimiter() {
    let plain = csv(&rl_single(), "action;reward\n0;1\n1;0\n").expect("plain");
    for text in [
        "sep=;\naction;reward\n0;1\n1;0\n",
        "SEP=;\r\naction;reward\r\n0;1\r\n1;0\r\n",
    ] {
        let with_directive = csv(&rl_single(), text).expect("sep=");
        assert_eq!(with_directive.values, plain.values, "{text:?}");
        assert_eq!(with_directive.row_lines, [3, 4], "the lines of the file");
    }
    let (_, _, message) = only_error(csv(&rl_single(), "sep=,\naction,reward\n0,1\n2,0\n"));
    assert!(message.contains("line 4"), "{message}");
}

/// `data RTbound: real = 0.1`: a scalar the file leaves out takes the model's default, with
/// a note; a column (a constant one) or a key of its name sets it; without a default its
/// absence is the usual error.
#[test]
fn a_scalar_with_a_default_is_read_from_the_file_or_takes_the_default() {
    let spec = |default: Option<f64>| {
        let mut rt_bound = DataDecl::new("RTbound", ElemType::Real, false, &[]);
        rt_bound.default = default.map(|v| vec![v]);
        DataSpec {
            sizes: vec![SizeDecl::new("T")],
            variables: vec![DataDecl::new("RT", ElemType::Real, false, &["T"]), rt_bound],
        }
    };
    let bound = |data: &LoadedData| data.value("RTbound").and_then(|a| a.get(&[]));
    for data in [
        loaded(csv(&spec(Some(0.1)), "RT\n0.5\n0.7\n")),
        loaded(json(&spec(Some(0.1)), r#"{"T": 2, "RT": [0.5, 0.7]}"#)),
    ] {
        assert_eq!(bound(&data), Some(0.1));
        assert!(
            data.notes
                .iter()
                .any(|n| n.contains("`RTbound` is not in obs.")
                    && n.contains(": the model's default, 0.1, is used")),
            "{:?}",
            data.notes
        );
    }
    for data in [
        loaded(csv(&spec(Some(0.1)), "RT,RTbound\n0.5,0.2\n0.7,0.2\n")),
        loaded(json(
            &spec(Some(0.1)),
            r#"{"T": 2, "RT": [0.5, 0.7], "RTbound": 0.2}"#,
        )),
    ] {
        assert_eq!(bound(&data), Some(0.2));
        assert!(
            data.notes.iter().all(|n| !n.contains("default")),
            "{:?}",
            data.notes
        );
    }
    let (kind, _, message) = only_error(csv(&spec(None), "RT\n0.5\n0.7\n"));
    assert!(matches!(kind, ErrorKind::MissingColumn { .. }), "{message}");
}

/// `data mu0: real[2] = [0.5, 1.0]`: an array setting the file leaves out takes the
/// model's cells, with a note; a JSON key or the element columns `mu0.1`, `mu0.2`
/// (each one value on every row, as a scalar setting's column) set it; some of its
/// columns without the others, or a column whose value varies, is an error.
#[test]
fn an_array_with_a_default_is_read_from_the_file_or_takes_the_default() {
    let spec = DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![DataDecl::new("RT", ElemType::Real, false, &["T"]), {
            let mut w = DataDecl::new("w", ElemType::Real, false, &[]);
            w.shape = vec![DimSpec::Const(2), DimSpec::Const(3)];
            w.default = Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
            w
        }],
    };
    let cells = |data: &LoadedData| data.value("w").map(|a| a.values.clone());
    for data in [
        loaded(csv(&spec, "RT\n0.5\n0.7\n")),
        loaded(json(&spec, r#"{"T": 2, "RT": [0.5, 0.7]}"#)),
    ] {
        assert_eq!(cells(&data), Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]));
        assert!(
            data.notes.iter().any(|n| n.contains("`w` is not in obs.")
                && n.contains("the model's default, [[1, 2, 3], [4, 5, 6]], is used")
                && n.contains("`w.1.1` … `w.2.3`")),
            "{:?}",
            data.notes
        );
    }
    let header = "RT,w.1.1,w.1.2,w.1.3,w.2.1,w.2.2,w.2.3";
    for data in [
        loaded(csv(
            &spec,
            &format!("{header}\n0.5,9,8,7,6,5,4\n0.7,9,8,7,6,5,4\n"),
        )),
        loaded(json(
            &spec,
            r#"{"T": 2, "RT": [0.5, 0.7], "w": [[9, 8, 7], [6, 5, 4]]}"#,
        )),
    ] {
        assert_eq!(cells(&data), Some(vec![9.0, 8.0, 7.0, 6.0, 5.0, 4.0]));
        assert!(
            data.notes
                .iter()
                .all(|n| !n.contains("default") && !n.contains("ignored")),
            "{:?}",
            data.notes
        );
    }
    // Several settings left out: one note lists them.
    let mut both = spec.clone();
    let mut rt_bound = DataDecl::new("RTbound", ElemType::Real, false, &[]);
    rt_bound.default = Some(vec![0.1]);
    both.variables.push(rt_bound);
    let data = loaded(csv(&both, "RT\n0.5\n0.7\n"));
    assert_eq!(
        data.notes
            .iter()
            .filter(|n| n.contains("settings not in obs.")
                && n.contains(
                    "take the model's defaults: `w` = [[1, 2, 3], [4, 5, 6]], `RTbound` = 0.1 ("
                ))
            .count(),
        1,
        "{:?}",
        data.notes
    );
    // A column of the array's own name is not its elements.
    let (kind, _, message) = only_error(csv(&spec, "RT,w\n0.5,9\n0.7,9\n"));
    assert!(
        matches!(kind, ErrorKind::ArraySettingColumn { .. }),
        "{message}"
    );
    assert!(
        message.contains(r#"columns "w.1.1" … "w.2.3""#),
        "{message}"
    );
    let (kind, _, message) = only_error(csv(&spec, "RT,w.1.1\n0.5,9\n0.7,9\n"));
    assert!(
        matches!(kind, ErrorKind::PartialSetting { .. }),
        "{message}"
    );
    assert!(
        message.contains(r#"column "w.1.1" but not "w.1.2""#),
        "{message}"
    );
    let (kind, _, message) = only_error(csv(
        &spec,
        &format!("{header}\n0.5,9,8,7,6,5,4\n0.7,9,8,7,6,5,3\n"),
    ));
    assert!(matches!(kind, ErrorKind::ElementVaries { .. }), "{message}");
    assert!(
        message.contains(r#""4" on line 2 and "3" here"#),
        "{message}"
    );
}

// ---------------------------------------------------------------------------------------------
// Values set apart from the file (`rlc … --set NAME=VALUE`).

/// `size T; data RT: real[T]; data RTbound: real in [0, inf) = 0.1; data w: real[2, 3] =
/// …; data flag: bool; data K: int in 1..10` (the last two without a default).
fn settings_spec() -> DataSpec {
    let mut rt_bound = DataDecl::new("RTbound", ElemType::Real, false, &[]);
    rt_bound.default = Some(vec![0.1]);
    rt_bound.real_bounds = Some(rlc_data::RealBounds {
        lo: 0.0,
        hi: f64::INFINITY,
        lo_closed: true,
        hi_closed: false,
    });
    let mut w = DataDecl::new("w", ElemType::Real, false, &[]);
    w.shape = vec![DimSpec::Const(2), DimSpec::Const(3)];
    w.default = Some(vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
    DataSpec {
        sizes: vec![SizeDecl::new("T")],
        variables: vec![
            DataDecl::new("RT", ElemType::Real, false, &["T"]),
            rt_bound,
            w,
            DataDecl::new("flag", ElemType::Bool, false, &[]),
            DataDecl::new("K", ElemType::Int, false, &[]).with_int_range(1, 10),
        ],
    }
}

fn set(spec: &DataSpec, settings: &[&str]) -> Result<DataSpec, LoadError> {
    let mut spec = spec.clone();
    let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
    rlc_data::set_apart(&mut spec, "--set", &settings)?;
    Ok(spec)
}

#[test]
fn values_set_apart_replace_the_files_columns_and_keys() {
    let spec = set(
        &settings_spec(),
        &[
            "RTbound=0.25",
            "w = [[9, 8, 7], [6, 5, 4]]",
            "flag=true",
            "K=3",
        ],
    )
    .expect("the settings fit");
    let check = |data: &LoadedData| {
        let cells = |name: &str| data.value(name).map(|a| a.values.clone());
        assert_eq!(cells("RTbound"), Some(vec![0.25]));
        assert_eq!(cells("w"), Some(vec![9.0, 8.0, 7.0, 6.0, 5.0, 4.0]));
        assert_eq!(data.value("w").map(|a| a.shape.clone()), Some(vec![2, 3]));
        assert_eq!(cells("flag"), Some(vec![1.0]));
        assert_eq!(cells("K"), Some(vec![3.0]));
        assert_eq!(data.given, ["RTbound", "w", "flag", "K"]);
        // Nothing is said to take its default.
        assert!(
            data.notes.iter().all(|n| !n.contains("default")),
            "{:?}",
            data.notes
        );
    };
    // Left out of the file: no note about them.
    for data in [
        loaded(csv(&spec, "RT\n0.5\n0.7\n")),
        loaded(json(&spec, r#"{"T": 2, "RT": [0.5, 0.7]}"#)),
    ] {
        check(&data);
        assert!(
            data.notes.iter().all(|n| !n.contains("set apart")),
            "{:?}",
            data.notes
        );
    }
    // In the file, even with values the declaration refuses: not read, and said so.
    for data in [
        loaded(csv(
            &spec,
            "RT,RTbound,w.1.1,flag,K\n0.5,-1,x,maybe,99\n0.7,-1,x,maybe,99\n",
        )),
        loaded(json(
            &spec,
            r#"{"T": 2, "RT": [0.5, 0.7], "RTbound": -1, "w": "x", "flag": 3, "K": 99}"#,
        )),
    ] {
        check(&data);
        assert!(
            data.notes.iter().any(|n| n
                .contains("`RTbound`, `w`, `flag`, `K` are set apart from obs.")
                && n.contains("their values in obs.")),
            "{:?}",
            data.notes
        );
        assert!(
            data.notes.iter().all(|n| !n.contains("ignored")),
            "{:?}",
            data.notes
        );
    }
    // One: the note says its value.
    let one = set(&settings_spec(), &["RTbound=0.3", "flag=false", "K=1"]).expect("they fit");
    let data = loaded(csv(&one, "RT,RTbound\n0.5,0.2\n0.7,0.2\n"));
    assert!(
        data.notes
            .iter()
            .any(|n| n
                == "`RTbound` is set apart from obs.csv (0.3); its value in obs.csv is not read"),
        "{:?}",
        data.notes
    );
    assert_eq!(
        data.value("RTbound").map(|a| a.values.clone()),
        Some(vec![0.3])
    );
    // `w` was not set: it takes its default, with the usual note.
    assert!(
        data.notes
            .iter()
            .any(|n| n.contains("`w` is not in obs.csv")),
        "{:?}",
        data.notes
    );
    // Infinity is a JSON string in Stan's files; here it may be written bare (and is
    // outside `[0, inf)`).
    let e = set(&settings_spec(), &["RTbound=inf"]).expect_err("inf is out of bounds");
    assert!(
        e.to_string()
            .contains("value inf is outside the declared bounds"),
        "{e}"
    );
}

#[test]
fn a_bad_value_set_apart_is_an_error_that_names_it() {
    let failures = |settings: &[&str]| match set(&settings_spec(), settings) {
        Ok(_) => panic!("{settings:?} was accepted"),
        Err(e) => e,
    };
    let cases: &[(&str, &str)] = &[
        ("RTbound", "--set RTbound: a setting is NAME=VALUE"),
        (
            "RTbound=fast",
            "--set RTbound=fast: a setting is NAME=VALUE, with VALUE a number",
        ),
        ("RTbound=null", "no missing cells"),
        ("RTbound=\"NaN\"", "at RTbound: the value is missing"),
        (
            "RTbound=-0.1",
            "--set RTbound=-0.1, at RTbound: value -0.1 is outside the declared bounds",
        ),
        ("K=0", "--set K=0, at K: value 0 is outside"),
        ("K=2.5", "is not an integer"),
        ("flag=2", "--set flag=2, at flag:"),
        (
            "w=[1, 2, 3]",
            "--set w=[1, 2, 3], at w: found 3 elements along axis 0",
        ),
        ("w=[[1, 2], [3, 4]]", "but `data w: real[2, 3]` says 3"),
        (
            "RT=[0.5]",
            "`data RT: real[T]` is sized by the data, so the data file gives it",
        ),
        (
            "rt_bound=0.2",
            "the model declares no data `rt_bound`; its data are `RT`, `RTbound`, `w`, `flag`, `K`",
        ),
        (
            "T=3",
            "--set T=3: `T` is a size, which the data file determines",
        ),
    ];
    for (setting, expected) in cases {
        let e = failures(&[setting]);
        assert_eq!(e.errors.len(), 1, "{setting}: {e}");
        let message = e.to_string();
        assert!(message.contains(expected), "{setting}: {message}");
    }
    // Every bad setting is reported, and a name set twice is one of them.
    let e = failures(&["K=0", "flag=1", "flag=0", "z=1"]);
    let messages: Vec<String> = e.errors.iter().map(|e| e.to_string()).collect();
    assert_eq!(messages.len(), 3, "{messages:?}");
    assert!(
        messages[1].starts_with("--set flag=0: `flag` is set twice"),
        "{messages:?}"
    );
    assert!(messages[2].contains("no data `z`"), "{messages:?}");
    // Errors of the setting itself have their own code; a value's, the loader's usual.
    for setting in ["RTbound", "RT=[1]", "z=1", "RTbound=fast"] {
        assert_eq!(
            failures(&[setting]).errors[0].kind.code(),
            "D0036",
            "{setting}"
        );
    }
    assert_ne!(failures(&["K=0"]).errors[0].kind.code(), "D0036");
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_settings_never_panic(text in "[a-zA-Z=\\[\\], .0-9eE+\\-\"]{0,40}") {
        let _ = set(&settings_spec(), &[text.as_str()]);
        if let Ok(given) = set(&levels(), &[text.as_str()]) {
            let _ = json(&given, r#"{"T": 1, "u": [1]}"#).map_err(|e| e.to_string());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Sizes with a default (`size L = 3`) and dimensions that are expressions of sizes.

/// hBayesDM's HGF in miniature: `size T; size L = 3; data u: int[T];
/// data mu0: real[L - 1] = [0.5, 1.0]; data w: real[2*L, 1] = [[1], …, [6]]`.
fn levels() -> DataSpec {
    let linear = |constant: i64, coefficient: i64| DimSpec::Linear {
        constant,
        terms: vec![(coefficient, "L".to_string())],
    };
    let mut mu0 = DataDecl::new("mu0", ElemType::Real, false, &[]);
    mu0.shape = vec![linear(-1, 1)];
    mu0.default = Some(vec![0.5, 1.0]);
    mu0.default_shape = vec![2];
    let mut w = DataDecl::new("w", ElemType::Real, false, &[]);
    w.shape = vec![linear(0, 2), DimSpec::Const(1)];
    w.default = Some((1..=6).map(f64::from).collect());
    w.default_shape = vec![6, 1];
    DataSpec {
        sizes: vec![SizeDecl::new("T"), SizeDecl::with_default("L", 3)],
        variables: vec![DataDecl::new("u", ElemType::Int, false, &["T"]), mu0, w],
    }
}

fn size_of(data: &LoadedData, name: &str) -> Option<usize> {
    data.sizes.iter().find(|(n, _)| n == name).map(|&(_, v)| v)
}

/// A size with a default takes it where nothing in the file gives the size, with a
/// note; a JSON key, a CSV column of its name (one value on every row), `--set`, or the
/// length of an array along an expression of it (`L - 1`) give it instead, and the
/// arrays' defaults must then fit it.
#[test]
fn a_size_with_a_default_is_a_setting_of_the_file() {
    let spec = levels();
    for data in [
        loaded(csv(&spec, "u\n1\n0\n")),
        loaded(json(&spec, r#"{"T": 2, "u": [1, 0]}"#)),
    ] {
        assert_eq!(size_of(&data, "L"), Some(3));
        assert_eq!(data.value("w").map(|a| a.shape.clone()), Some(vec![6, 1]));
        assert!(
            data.notes
                .iter()
                .any(|n| n.starts_with("`L` is not in obs.")
                    && n.contains("the model's default, 3, is used")),
            "{:?}",
            data.notes
        );
    }
    // L = 4 from each source, with arrays of its sizes.
    let w8 = "[[1], [2], [3], [4], [5], [6], [7], [8]]";
    let columns =
        "u\tL\tmu0.1\tmu0.2\tmu0.3\tw.1.1\tw.2.1\tw.3.1\tw.4.1\tw.5.1\tw.6.1\tw.7.1\tw.8.1";
    let row = |u: i32| format!("{u}\t4\t0.1\t0.2\t0.3\t1\t2\t3\t4\t5\t6\t7\t8");
    let by_column = loaded(csv(&spec, &format!("{columns}\n{}\n{}\n", row(1), row(0))));
    let by_key = loaded(json(
        &spec,
        &format!(r#"{{"T": 2, "u": [1, 0], "L": 4, "mu0": [0.1, 0.2, 0.3], "w": {w8}}}"#),
    ));
    // No key for L: the lengths of mu0 (L - 1 = 3) and w (2*L = 8) solve for it.
    let by_length = loaded(json(
        &spec,
        &format!(r#"{{"T": 2, "u": [1, 0], "mu0": [0.1, 0.2, 0.3], "w": {w8}}}"#),
    ));
    for data in [&by_column, &by_key, &by_length] {
        assert_eq!(size_of(data, "L"), Some(4), "{:?}", data.notes);
        assert_eq!(
            data.value("mu0")
                .map(|a| (a.shape.clone(), a.values.clone())),
            Some((vec![3], vec![0.1, 0.2, 0.3]))
        );
        assert_eq!(data.value("w").map(|a| a.shape.clone()), Some(vec![8, 1]));
        assert!(
            data.notes.iter().all(|n| !n.contains("default")),
            "{:?}",
            data.notes
        );
    }
    let given = set(&spec, &["L=4", "mu0=[0.1, 0.2, 0.3]", &format!("w={w8}")]).expect("they fit");
    let data = loaded(csv(&given, "u,L\n1,5\n0,5\n"));
    assert_eq!(size_of(&data, "L"), Some(4));
    assert!(
        data.notes
            .iter()
            .any(|n| n == "`L` is set apart from obs.csv; its column in obs.csv is not read"),
        "{:?}",
        data.notes
    );
    assert_eq!(data.value("mu0").map(|a| a.shape.clone()), Some(vec![3]));
}

/// Lengths that do not fit the sizes name the dimension, the sizes' values and where
/// each came from; a default that fits only the size's default says to give the array.
#[test]
fn lengths_along_expressions_of_sizes_that_do_not_fit_are_errors() {
    let spec = levels();
    let given = set(&spec, &["L=4"]).expect("a size with a default is a setting");
    let e = json(&given, r#"{"T": 1, "u": [1]}"#).expect_err("the defaults fit L = 3 only");
    let text = e.to_string();
    assert!(
        text.contains("`data mu0: real[L - 1]` has 2 elements along axis 0 (the length of `mu0`'s default), but its dimension `L - 1` is 3, where `L` is 4 (set apart from the file): the model's default fits other sizes, so give `mu0` values of these sizes"),
        "{text}"
    );
    assert!(text.contains("its dimension `2*L` is 8"), "{text}");
    assert_eq!(e.errors.len(), 2, "{text}");
    // The JSON key gives L = 3; mu0 has 3 elements.
    let (kind, _, message) = only_error(json(
        &spec,
        r#"{"T": 1, "u": [1], "L": 3, "mu0": [0.1, 0.2, 0.3]}"#,
    ));
    assert!(matches!(kind, ErrorKind::DimMismatch { .. }), "{message}");
    assert!(
        message.contains("has 3 elements along axis 0 (the length of mu0), but its dimension `L - 1` is 2, where `L` is 3 (given in the file)"),
        "{message}"
    );
    // No L makes 2*L = 7: the length of w.
    let (_, _, message) = only_error(json(
        &spec,
        r#"{"T": 1, "u": [1], "w": [[1], [2], [3], [4], [5], [6], [7]]}"#,
    ));
    assert!(
        message.contains("has 7 elements along axis 0 (the length of w), but no value of the sizes makes its dimension `2*L` 7"),
        "{message}"
    );
    // Two lengths that solve for two values of L.
    let e = json(
        &spec,
        r#"{"T": 1, "u": [1], "mu0": [1, 2, 3], "w": [[1], [2], [3], [4], [5], [6]]}"#,
    )
    .expect_err("L is 4 by mu0, 3 by w");
    assert!(
        e.to_string()
            .contains("`2*L` is 8, where `L` is 4 (`L - 1` = the length of mu0)"),
        "{e}"
    );
    // A column that gives L two values, and one that is not a size.
    let (kind, location, message) = only_error(csv(&spec, "u,L\n1,3\n0,4\n"));
    assert!(matches!(kind, ErrorKind::SizeMismatch { .. }), "{message}");
    assert_eq!(
        location,
        Location::Cell {
            line: 3,
            column: "L".into()
        }
    );
    assert!(
        message.contains("L is 3 (column \"L\" on line 2) but 4 (column \"L\" on line 3)"),
        "{message}"
    );
    let (kind, _, message) = only_error(csv(&spec, "u,L\n1,2.5\n"));
    assert!(matches!(kind, ErrorKind::BadSize { .. }), "{message}");
    // Some of an array's element columns but not all of them.
    let (kind, _, message) = only_error(csv(&spec, "u,mu0.1,mu0.3\n1,0.1,0.3\n"));
    assert!(
        matches!(kind, ErrorKind::PartialSetting { .. }),
        "{message}"
    );
    assert!(
        message.contains("column \"mu0.1\" but not \"mu0.2\""),
        "{message}"
    );
    // `--set` of a size without a default, or of an array sized by one, is refused.
    let e = set(&spec, &["T=3"]).expect_err("T comes from the file");
    assert!(
        e.to_string()
            .contains("only data, and sizes with a default (`size L = 3`) or taken from the data's values (`size K = max(choice)`), are set apart"),
        "{e}"
    );
    let e = set(&spec, &["L=-1"]).expect_err("not a size");
    assert!(
        e.to_string()
            .contains("size L must be a non-negative integer, not -1"),
        "{e}"
    );
}

/// An element column far past the others (`mu0.99999999`) is a missing element, said
/// at once, not a list of a hundred million columns.
#[test]
fn an_element_column_far_past_the_others_is_a_missing_element() {
    let (kind, _, message) = only_error(csv(&levels(), "u,mu0.1,mu0.99999999\n1,0.1,0.3\n"));
    assert!(
        matches!(kind, ErrorKind::PartialSetting { .. }),
        "{message}"
    );
    assert!(
        message.contains("column \"mu0.1\" but not \"mu0.2\""),
        "{message}"
    );
    let (_, _, message) = only_error(csv(&levels(), "u,w.1.1,w.2.1,w.4.1\n1,1,2,4\n"));
    assert!(message.contains("but not \"w.3.1\""), "{message}");
}

/// `size Narm = max(choice)` is set apart as hBayesDM's `Narm` argument is: the value is
/// kept (an arm never chosen), and choices that need more are an error naming it.
#[test]
fn a_size_from_the_data_values_may_be_set_apart() {
    let spec = DataSpec {
        sizes: vec![
            SizeDecl::new("T"),
            SizeDecl::largest_of("Narm", "choice", 0),
        ],
        variables: vec![
            DataDecl::new("choice", ElemType::Int, false, &["T"]).with_int_range(1, 100)
        ],
    };
    let file = "choice\n1\n3\n2\n";
    assert_eq!(size_of(&loaded(csv(&spec, file)), "Narm"), Some(3));
    let five = set(&spec, &["Narm=5"]).expect("a size taken from the values");
    assert_eq!(size_of(&loaded(csv(&five, file)), "Narm"), Some(5));
    let two = set(&spec, &["Narm=2"]).expect("a size taken from the values");
    let (kind, _, message) = only_error(csv(&two, file));
    assert!(
        matches!(kind, ErrorKind::LargestValueExceeds { .. }),
        "{message}"
    );
    assert!(
        message.contains("is 2 (set apart from the file)"),
        "{message}"
    );
}
