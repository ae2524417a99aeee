//! A point in parameter space as the user gives it: constrained values by
//! name (`alpha=0.3,beta=2,w=[0.1,0.2]`) or unconstrained coordinates
//! (`0.1,1.2`), turned into the sampler's unconstrained vector.

use crate::density::Density;
use crate::error::Error;
use std::collections::HashMap;

/// Where to evaluate: constrained values by name, or unconstrained coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// Each parameter's elements, row-major, by name.
    Constrained(HashMap<String, Vec<f64>>),
    /// The unconstrained coordinates in declaration order, arrays row-major.
    Unconstrained(Vec<f64>),
}

fn parse_number(text: &str) -> Result<f64, Error> {
    let t = text.trim();
    match t {
        "inf" | "Inf" => Ok(f64::INFINITY),
        "-inf" | "-Inf" => Ok(f64::NEG_INFINITY),
        _ => t
            .parse::<f64>()
            .map_err(|_| Error::usage(format!("error: `{t}` is not a number"))),
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
pub fn parse_assignments(text: &str) -> Result<HashMap<String, Vec<f64>>, Error> {
    let mut values = HashMap::new();
    for part in split_top_level(text) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Error::usage(format!("error: `{part}` is not of the form name=value"))
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
        let name = name.trim();
        if values.insert(name.to_string(), numbers).is_some() {
            return Err(Error::usage(format!(
                "error: `{name}` is given twice; give each parameter once"
            )));
        }
    }
    Ok(values)
}

/// `0.1,1.2,-3`: unconstrained coordinates.
pub fn parse_coordinates(text: &str) -> Result<Vec<f64>, Error> {
    split_top_level(text)
        .iter()
        .map(|s| parse_number(s))
        .collect()
}

impl Point {
    /// The unconstrained vector of this point for `density`, or a usage error
    /// naming what does not fit (`flag` is how the caller names the input).
    pub fn theta(&self, density: &Density, flag: &str) -> Result<Vec<f64>, Error> {
        match self {
            Point::Unconstrained(theta) => {
                if theta.len() != density.dim {
                    return Err(Error::usage(format!(
                        "error: {flag} has {} numbers but the model has {} coordinates ({})",
                        theta.len(),
                        density.dim,
                        density.coordinates.join(", ")
                    )));
                }
                Ok(theta.clone())
            }
            Point::Constrained(values) => density
                .unconstrain(values)
                .map_err(|e| Error::usage(format!("error: {flag}: {e}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::parse_assignments;

    #[test]
    fn a_parameter_given_twice_is_refused() {
        let error = parse_assignments("alpha=0.3,alpha=0.4,beta=2").expect_err("twice");
        assert!(
            error.message.contains("`alpha` is given twice"),
            "{}",
            error.message
        );
        let fine = parse_assignments("alpha=0.3,w=[0.1,0.2]").expect("valid");
        assert_eq!(fine["w"], vec![0.1, 0.2]);
    }
}
