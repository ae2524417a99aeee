//! `rlc logp`: the log density and its gradient at one point, for checking
//! a model by hand and comparing with other systems' `log_prob`.

use crate::exit::{ExitCode, Failure};
use rlc_driver::point::Point;
use rlc_driver::Density;

pub fn run(density: &mut Density, point: &Point, json: bool) -> Result<(), Failure> {
    let flag = match point {
        Point::Constrained(_) => "--at",
        Point::Unconstrained(_) => "--unconstrained",
    };
    let theta = point.theta(density, flag)?;
    let mut grad = vec![0.0; density.dim];
    let lp = density.logp_grad(&theta, &mut grad).map_err(|e| {
        Failure::new(
            ExitCode::SamplingFailure,
            format!("error: evaluating the log density: {e}"),
        )
    })?;
    let finite = lp.is_finite() && grad.iter().all(|g| g.is_finite());
    if json {
        let number = |x: f64| {
            if x.is_finite() {
                format!("{x:?}")
            } else {
                "null".to_string()
            }
        };
        let gradient: Vec<String> = grad.iter().map(|g| number(*g)).collect();
        let names: Vec<String> = density
            .coordinates
            .iter()
            .map(|c| format!("\"{c}\""))
            .collect();
        outln!(
            "{{\"logp\": {}, \"gradient\": [{}], \"coordinates\": [{}]}}",
            number(lp),
            gradient.join(", "),
            names.join(", ")
        );
    } else {
        outln!("logp = {lp}");
        let width = density
            .coordinates
            .iter()
            .map(|c| c.len())
            .chain(["coordinate".len()])
            .max()
            .unwrap_or(0);
        outln!(
            "{}  {:>22}  {:>22}",
            crate::console::pad("coordinate", width),
            "unconstrained",
            "gradient"
        );
        for ((name, u), g) in density.coordinates.iter().zip(&theta).zip(&grad) {
            let name = crate::console::pad(name, width);
            outln!("{name}  {u:>22.15e}  {g:>22.15e}");
        }
    }
    if !finite {
        let why = density
            .explain(&theta)
            .unwrap_or_else(|| "the log density or its gradient is not finite".to_string());
        return Err(Failure::new(
            ExitCode::SamplingFailure,
            format!("error: {why}"),
        ));
    }
    Ok(())
}
