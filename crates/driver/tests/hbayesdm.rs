//! The hBayesDM models in `models/hbayesdm/` start sampling on their example data: each
//! compiles, its data file loads as it is, and at 20 random initial points (uniform in
//! (-2, 2) on the unconstrained scale, Stan's default) the log density and every gradient
//! coordinate are finite, on both backends, which agree. hBayesDM's own example files
//! are read in place from `../shared/data/hbayesdm` (GPL-3, not copied here): where
//! `../shared` is absent those models are visibly ignored ("needs ../shared"); the
//! models whose data set is simulated in `models/hbayesdm/data/` always run.

use rlc_driver::{Backend, Density};
use std::path::PathBuf;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn starts_sampling(model: &str, data: PathBuf) {
    let path = workspace()
        .join("models/hbayesdm")
        .join(format!("{model}.rlm"));
    let source = std::fs::read_to_string(&path).expect("model");
    let compiled = rlc_driver::compile(&source, model).unwrap_or_else(|e| panic!("{}", e.message));
    let bytes = std::fs::read(&data).unwrap_or_else(|e| panic!("{}: {e}", data.display()));
    let name = data.file_name().and_then(|n| n.to_str()).unwrap_or("data");
    let data = rlc_driver::data::load(&compiled.model, name, &bytes, None)
        .unwrap_or_else(|e| panic!("{model}: {}", e.message));
    let mut jit = Density::new(&compiled, &data, Backend::Jit).expect("jit");
    let mut interp = Density::new(&compiled, &data, Backend::Interp).expect("interpreter");
    let mut state = 0x2545_F491_4F6C_DD1Du64 ^ model.len() as u64;
    let mut unit = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64
    };
    for init in 0..20 {
        let theta: Vec<f64> = (0..jit.dim).map(|_| -2.0 + 4.0 * unit()).collect();
        let mut g_jit = vec![0.0; jit.dim];
        let mut g_interp = vec![0.0; jit.dim];
        let lp = jit.logp_grad(&theta, &mut g_jit).expect("evaluates");
        let lp_interp = interp.logp_grad(&theta, &mut g_interp).expect("evaluates");
        assert!(lp.is_finite(), "{model}, init {init}: log density {lp}");
        assert!(
            g_jit.iter().all(|g| g.is_finite()),
            "{model}, init {init}: gradient {g_jit:?}"
        );
        assert!(
            (lp - lp_interp).abs() <= 1e-9 * lp.abs().max(1.0),
            "{model}: {lp} vs {lp_interp}"
        );
        for (a, b) in g_jit.iter().zip(&g_interp) {
            assert!(
                (a - b).abs() <= 1e-8 * (1.0 + a.abs()),
                "{model}: gradient {a} vs {b}"
            );
        }
    }
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
