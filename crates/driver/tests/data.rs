//! Data checked when they load, with the model: what the loader alone cannot check
//! (integer ranges that mention sizes, known once the sizes are).

/// An integer range that mentions a size is checked once the sizes are known, the
/// model's default for an absent scalar included, and the message says it is the
/// default.
#[test]
fn a_default_outside_a_range_of_sizes_is_named_when_the_data_loads() {
    let source = "size N\ndata K: int in 0..N = 5\ndata y: real[N]\nparam mu ~ Normal(0, 1)\ny ~ Normal(mu + K, 1)\n";
    let compiled = rlc_driver::compile(source, "m.rlm").unwrap_or_else(|e| panic!("{}", e.message));
    let error = match rlc_driver::data::load(
        &compiled.model,
        "d.json",
        br#"{"N": 3, "y": [1, 2, 3]}"#,
        None,
    ) {
        Ok(_) => panic!("K = 5 is outside 0..3"),
        Err(e) => e,
    };
    assert_eq!(
        error.message,
        "error: d.json: `K` is 5, outside its declared range 0..N = 0..3 (5 is the model's default for `K`, used when the file does not give it)"
    );
    let given = br#"{"N": 6, "y": [1, 2, 3, 4, 5, 6]}"#;
    let data = rlc_driver::data::load(&compiled.model, "d.json", given, None)
        .unwrap_or_else(|e| panic!("{}", e.message));
    assert_eq!(data.loaded.value("K").expect("K").values, [5.0]);
}
