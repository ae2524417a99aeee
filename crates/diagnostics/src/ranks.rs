//! Ranks with ties averaged (scipy's `rankdata(method="average")`).

/// The 1-based rank of each value among all of them; tied values share the mean of the
/// ranks they span. NaN must have been ruled out by the caller.
#[cfg(test)]
pub(crate) fn average_ranks(values: &[f64]) -> Vec<f64> {
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
    average_ranks_in_order(values, &order)
}

/// [`average_ranks`], given the positions of `values` in increasing order.
pub(crate) fn average_ranks_in_order(values: &[f64], order: &[usize]) -> Vec<f64> {
    let mut ranks = vec![0.0; values.len()];
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        // `==` rather than `total_cmp`, so that -0.0 and 0.0 tie as they do in numpy.
        while end < order.len() && values[order[end]] == values[order[start]] {
            end += 1;
        }
        // Positions start..end hold ranks start+1 ..= end; their mean is:
        let rank = (start + 1 + end) as f64 / 2.0;
        for &i in &order[start..end] {
            ranks[i] = rank;
        }
        start = end;
    }
    ranks
}

#[cfg(test)]
mod tests {
    #[test]
    fn ties_share_their_mean_rank() {
        assert_eq!(
            super::average_ranks(&[3.0, 1.0, 3.0, 2.0, 3.0]),
            vec![4.0, 1.0, 4.0, 2.0, 4.0]
        );
    }
}
