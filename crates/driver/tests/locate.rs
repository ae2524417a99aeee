//! Run-time errors name `file:line:column` of the model's text: lines and columns
//! (in characters, 1-based) are right on ASCII and non-ASCII lines, at the start and
//! end of the text and past it.

#[test]
fn spans_are_located_by_line_and_character_column() {
    let source = "param a ~ Normal(0, 1)\n// größe: ünïcode\nparam b ~ Normal(0, 1)  // ä\ntarget += a + b\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let at = |needle: &str| {
        let start = source.find(needle).expect("in the text");
        compiled.locate((start, start + needle.len()))
    };
    assert_eq!(at("param a"), "m.rlm:1:1 (`param a`)");
    assert_eq!(at("Normal(0, 1)\n//"), "m.rlm:1:11 (`Normal(0, 1)\n//`)");
    // A non-ASCII line: columns count characters, not bytes.
    assert_eq!(at("ünïcode"), "m.rlm:2:11 (`ünïcode`)");
    assert_eq!(at("param b"), "m.rlm:3:1 (`param b`)");
    assert_eq!(at("a + b"), "m.rlm:4:11 (`a + b`)");
    // Past the end of the text: the last position, no panic.
    let end = source.len();
    assert_eq!(compiled.locate((end + 5, end + 9)), "m.rlm:5:1 (``)");
}

/// A data value that is not finite is named by its line, or by the row as the
/// front end names it (`Data::row_names`: the Python package's DataFrame rows).
#[test]
fn data_values_are_located_by_line_or_by_the_front_ends_row_names() {
    let source = "size T\ndata reward: real[T]\nparam mu ~ Normal(0, 1)\nreward ~ Normal(mu, 1)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let csv = b"reward\n0.5\n1.5\ninf\n2\n";
    let mut data = rlc_driver::data::load(&compiled.model, "d.csv", csv, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    let why = |data: &rlc_driver::Data| {
        let density = rlc_driver::Density::new(&compiled, data, rlc_driver::Backend::Interp)
            .unwrap_or_else(|e| panic!("{}", e.message));
        density
            .explain(&[0.0])
            .expect("the log density is not finite")
    };
    assert!(
        why(&data).contains("`reward` holds inf at line 4,"),
        "{}",
        why(&data)
    );
    data.row_names = Some(["a", "b", "c", "d"].map(|r| format!("row {r}")).to_vec());
    assert!(
        why(&data).contains("`reward` holds inf at row c,"),
        "{}",
        why(&data)
    );
}
