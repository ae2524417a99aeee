//! Generates the parser from the grammar in the workspace's `grammar/` folder.

fn main() {
    let out_dir = std::env::var("OUT_DIR").expect("cargo sets OUT_DIR for build scripts");
    lalrpop::Configuration::new()
        .set_in_dir("../../grammar")
        .set_out_dir(out_dir)
        .process()
        .expect("the grammar in grammar/rlm.lalrpop must be valid LR(1)");
    println!("cargo:rerun-if-changed=../../grammar");
}
