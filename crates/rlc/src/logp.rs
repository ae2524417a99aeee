//! `rlc logp`: the log density and its gradient at one point, for checking
//! a model by hand and comparing with other systems' `log_prob`.

use crate::density::Density;
use crate::exit::{ExitCode, Failure};
use std::collections::HashMap;

/// Where to evaluate: constrained values by name, or unconstrained coordinates.
pub enum Point {
    Constrained(String),
    Unconstrained(String),
}

fn parse_number(text: &str) -> Result<f64, Failure> {
    let t = text.trim();
    match t {
        "inf" | "Inf" => Ok(f64::INFINITY),
        "-inf" | "-Inf" => Ok(f64::NEG_INFINITY),
        _ => t
            .parse::<f64>()
            .map_err(|_| Failure::usage(format!("error: `{t}` is not a number"))),
    }
}

/// Splits on commas outside brackets: `alpha=0.3,w=[1,2]`.
fn split_top_level(text: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut depth = 0i32;
    let mut current = String::new();
    for c in text.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            ',' if depth == 0 => {
                parts.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        parts.push(current);
    }
    parts
}

/// `alpha=0.3,beta=2,w=[0.1,0.2]` (arrays flattened row-major).
pub fn parse_assignments(text: &str) -> Result<HashMap<String, Vec<f64>>, Failure> {
    let mut values = HashMap::new();
    for part in split_top_level(text) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Failure::usage(format!("error: `{part}` is not of the form name=value"))
        })?;
        let value = value.trim();
        let numbers = if let Some(inner) = value.strip_prefix('[').and_then(|v| v.strip_suffix(']'))
        {
            inner
                .split([',', '[', ']'])
                .filter(|s| !s.trim().is_empty())
                .map(parse_number)
                .collect::<Result<Vec<_>, _>>()?
        } else {
            vec![parse_number(value)?]
        };
        values.insert(name.trim().to_string(), numbers);
    }
    Ok(values)
}

pub fn run(density: &mut Density, point: &Point, json: bool) -> Result<(), Failure> {
    let theta = match point {
        Point::Unconstrained(text) => {
            let theta = split_top_level(text)
                .iter()
                .map(|s| parse_number(s))
                .collect::<Result<Vec<_>, _>>()?;
            if theta.len() != density.dim {
                return Err(Failure::usage(format!(
                    "error: --unconstrained has {} numbers but the model has {} coordinates ({})",
                    theta.len(),
                    density.dim,
                    density.coordinates.join(", ")
                )));
            }
            theta
        }
        Point::Constrained(text) => {
            let values = parse_assignments(text)?;
            density
                .unconstrain(&values)
                .map_err(|e| Failure::usage(format!("error: --at: {e}")))?
        }
    };
    let mut grad = vec![0.0; density.dim];
    let lp = density.logp_grad(&theta, &mut grad).map_err(|e| {
        Failure::new(
            ExitCode::SamplingFailure,
            format!("error: evaluating the log density: {e}"),
        )
    })?;
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
        println!(
            "{{\"logp\": {}, \"gradient\": [{}], \"coordinates\": [{}]}}",
            number(lp),
            gradient.join(", "),
            names.join(", ")
        );
    } else {
        println!("logp = {lp}");
        let width = density
            .coordinates
            .iter()
            .map(|c| c.len())
            .chain(["coordinate".len()])
            .max()
            .unwrap_or(0);
        println!(
            "{:width$}  {:>22}  {:>22}",
            "coordinate", "unconstrained", "gradient"
        );
        for ((name, u), g) in density.coordinates.iter().zip(&theta).zip(&grad) {
            println!("{name:width$}  {u:>22.15e}  {g:>22.15e}");
        }
    }
    Ok(())
}
