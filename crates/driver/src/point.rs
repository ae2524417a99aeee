//! A point in parameter space as the user gives it: constrained values by
//! name (`alpha=0.3,beta=2,w=[0.1,0.2]`) or unconstrained coordinates
//! (`0.1,1.2`), turned into the sampler's unconstrained vector.

use crate::density::{Density, GivenValues};
use crate::error::Error;
use rlc_data::GivenValue;
use std::collections::HashMap;

/// Where to evaluate: constrained values by name, or unconstrained coordinates.
#[derive(Debug, Clone, PartialEq)]
pub enum Point {
    /// Each parameter's elements, row-major, and their nesting, by name.
    Constrained(GivenValues),
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

/// One value of an assignment: a number or a bracketed list, nested as the
/// parameter is (`[[1,2],[3,4]]`) or flat row-major (`[1,2,3,4]`).
fn parse_value(text: &str) -> Result<GivenValue, Error> {
    let text = text.trim();
    if !text.starts_with('[') {
        return Ok(GivenValue::shaped(vec![parse_number(text)?], Vec::new()));
    }
    let malformed = || {
        Error::usage(format!(
            "error: `{text}` is not a list of numbers (brackets do not match, or lists of different lengths)"
        ))
    };
    // Each open list: how many items it has so far, and its items' nesting.
    let mut open: Vec<(usize, Option<Vec<usize>>)> = Vec::new();
    let mut elements = Vec::new();
    let mut nesting = None;
    let mut number = String::new();
    // Adds a finished item of `item_nesting` to the innermost open list.
    let add_item = |open: &mut Vec<(usize, Option<Vec<usize>>)>, item_nesting: Vec<usize>| {
        let (count, inner) = open.last_mut().ok_or_else(malformed)?;
        if inner.get_or_insert_with(|| item_nesting.clone()) != &item_nesting {
            return Err(malformed());
        }
        *count += 1;
        Ok(())
    };
    for c in text.chars().chain(std::iter::once(' ')) {
        if matches!(c, '[' | ']' | ',') || c.is_whitespace() {
            if !number.trim().is_empty() {
                elements.push(parse_number(&number)?);
                add_item(&mut open, Vec::new())?;
            }
            number.clear();
        } else {
            if nesting.is_some() {
                return Err(malformed());
            }
            number.push(c);
            continue;
        }
        match c {
            '[' if nesting.is_none() => open.push((0, None)),
            ']' => {
                let (count, inner) = open.pop().ok_or_else(malformed)?;
                let mut list = vec![count];
                list.extend(inner.unwrap_or_default());
                if open.is_empty() {
                    nesting = Some(list);
                } else {
                    add_item(&mut open, list)?;
                }
            }
            '[' => return Err(malformed()),
            _ => {}
        }
    }
    match (nesting, open.is_empty()) {
        (Some(nesting), true) => Ok(GivenValue::shaped(elements, nesting)),
        _ => Err(malformed()),
    }
}

/// `alpha=0.3,beta=2,w=[0.1,0.2]`, `Q=[[0.5,0.5],[0.2,0.8]]`.
pub fn parse_assignments(text: &str) -> Result<GivenValues, Error> {
    let mut values = HashMap::new();
    for part in split_top_level(text) {
        let (name, value) = part.split_once('=').ok_or_else(|| {
            Error::usage(format!("error: `{part}` is not of the form name=value"))
        })?;
        let name = name.trim();
        if values
            .insert(name.to_string(), parse_value(value)?)
            .is_some()
        {
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
        assert_eq!(fine["w"].elements, vec![0.1, 0.2]);
    }

    #[test]
    fn a_value_keeps_the_nesting_it_was_given_in() {
        let given =
            parse_assignments("a=0.5,w=[1, 2,3],q=[[1,2,3],[4,5,inf]],e=[],z=[[]]").expect("valid");
        assert_eq!(given["a"].nesting, Vec::<usize>::new());
        assert_eq!(given["w"].nesting, vec![3]);
        assert_eq!(given["q"].nesting, vec![2, 3]);
        assert_eq!(
            given["q"].elements,
            vec![1.0, 2.0, 3.0, 4.0, 5.0, f64::INFINITY]
        );
        assert_eq!(given["e"].nesting, vec![0]);
        assert_eq!(given["z"].nesting, vec![1, 0]);
        for malformed in [
            "q=[[1,2],[3]]",
            "q=[[1,2],3]",
            "q=[1,2",
            "q=[1,2]]",
            "q=[1]2",
            "q=[1 2",
        ] {
            let error = parse_assignments(malformed).expect_err(malformed);
            assert!(
                error.message.contains("is not a list of numbers"),
                "{malformed}: {}",
                error.message
            );
        }
    }
}
