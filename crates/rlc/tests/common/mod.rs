//! What the posterior tests share: reading `rlc run`'s printed summary.

use std::collections::HashMap;

/// Per row of the summary table `rlc run` prints: mean, MCSE, sd, R-hat.
pub fn summary_table(stdout: &str) -> HashMap<String, [f64; 4]> {
    let mut table = HashMap::new();
    for line in stdout.lines() {
        let cells: Vec<&str> = line.split_whitespace().collect();
        if cells.len() == 12 {
            let num = |i: usize| cells[i].parse::<f64>().unwrap_or(f64::NAN);
            table.insert(cells[0].to_string(), [num(1), num(2), num(3), num(11)]);
        }
    }
    table
}

/// The number of draws the run's warning says ended with a divergence (0 without one).
pub fn divergent_draws(stdout: &str) -> usize {
    stdout
        .lines()
        .find(|l| l.contains("ended with a divergence"))
        .and_then(|l| {
            l.trim_start_matches("warning: ")
                .split_whitespace()
                .next()?
                .parse::<usize>()
                .ok()
        })
        .unwrap_or(0)
}
