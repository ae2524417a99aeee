//! The generative functions: the bundled models run forward.

use rand::SeedableRng;
use rlc_ir::interp::{eval_random, Tensor};
use rlc_ir::{lower_generative, GenerativeOptions, Input, ParamSource};
use rlc_testkit::{generate_data, models, Rng};

fn options(params: ParamSource, draw: bool, write_back: bool, log_lik: bool) -> GenerativeOptions {
    GenerativeOptions {
        params,
        draw,
        write_back,
        log_lik,
    }
}

#[test]
fn explore() {
    for path in models() {
        let source = std::fs::read_to_string(&path).expect("read");
        let (model, _) = rlc_check::compile(&source);
        let Some(model) = model else { continue };
        for opts in [
            options(ParamSource::Prior, true, true, false),
            options(ParamSource::Theta, true, false, true),
        ] {
            let g = match lower_generative(&model, opts) {
                Ok(g) => g,
                Err(e) => {
                    println!("{}: {:?}: {}", path.display(), opts, e.message);
                    continue;
                }
            };
            if let Err(errors) = rlc_ir::verify::verify(&g.function) {
                println!(
                    "{}: INVALID {:?}",
                    path.display(),
                    errors.iter().map(|e| e.to_string()).collect::<Vec<_>>()
                );
                println!("{}", rlc_ir::print::print_function(&g.function));
                continue;
            }
            let mut rng = Rng(7);
            let (sizes, data) = generate_data(&model, &mut rng);
            let ir = rlc_ir::lower(&model).expect("lowers");
            let dim = ir.dim.eval(&sizes).expect("dim") as usize;
            let inputs: Vec<Tensor> = g
                .function
                .inputs
                .iter()
                .map(|i| match i {
                    Input::Theta => Tensor::new(vec![dim], vec![0.1; dim]),
                    Input::Data(n) => {
                        let v = &data[n];
                        Tensor::new(v.shape.clone(), v.values.clone())
                    }
                })
                .collect();
            let mut r = rand_chacha::ChaCha8Rng::seed_from_u64(1);
            match eval_random(&g.function, &sizes, &inputs, &mut r) {
                Ok(out) => println!(
                    "{}: {:?}: ok {:?}",
                    path.file_name().unwrap().to_string_lossy(),
                    (opts.draw, opts.write_back, opts.log_lik),
                    out.iter()
                        .map(|t| t.data.iter().take(6).copied().collect::<Vec<_>>())
                        .collect::<Vec<_>>()
                ),
                Err(e) => println!("{}: eval error {e}", path.display()),
            }
        }
    }
}
