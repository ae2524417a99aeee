//! Prints a model's lowered IR and its gradient IR: `cargo run -p rlc-autodiff --example print_ir -- model.rlm`.

fn main() {
    let path = std::env::args().nth(1).expect("usage: print_ir MODEL.rlm");
    let source = std::fs::read_to_string(&path).expect("readable model");
    let (model, diagnostics) = rlc_check::compile(&source);
    let Some(model) = model else {
        eprintln!(
            "{}",
            rlc_syntax::render(&diagnostics, &path, &source, false)
        );
        std::process::exit(1);
    };
    let ir = rlc_ir::lower(&model).expect("lowers");
    println!("{}", rlc_ir::print::print_function(&ir.log_density));
    let grad = rlc_autodiff::gradient(&ir.log_density).expect("differentiates");
    println!("{}", rlc_ir::print::print_function(&grad));
    for f in [&ir.log_density, &grad] {
        if let Err(e) = rlc_ir::verify::verify(f) {
            println!("INVALID: {e:?}");
        }
    }
}
