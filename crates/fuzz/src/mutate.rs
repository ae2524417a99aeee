//! Mutations of text: of model source (line-level and token-level edits,
//! extreme numbers, nesting) and of data files (rows dropped and cut,
//! values replaced by edge values, sizes set to 0, truncation).

use crate::Rng;

/// Tokens worth inserting into a model: the grammar's punctuation and
/// keywords, and constructs the later stages must handle.
const TOKENS: &[&str] = &[
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    ",",
    ":",
    "~",
    "+",
    "-",
    "*",
    "/",
    "^",
    "=",
    "==",
    "..",
    "target +=",
    "let ",
    "for i in 0..N ",
    "scan ",
    "if ",
    "else ",
    "present(",
    "axis=0",
    "axis=-1",
    "keepdims=true",
    "sum(",
    "max(",
    "min(",
    "arange(",
    "zeros(",
    "0",
    "-1",
    "1e308",
    "4611686018427387904",
    "9223372036854775807",
    "1e-320",
    "nan",
    "inf",
    "T",
    "N",
    "K",
    "T - 1",
    "0..0",
    "[]",
    "[0.0]",
    "\n",
    "?",
    "int",
    "real",
    "bool",
    "size Z\n",
    "data z: real[Z]\n",
    "param q ~ Normal(0, 1)\n",
    ":-1",
    "::",
    "set_subtensor(",
];

/// Numbers that stress sizes, ranges and arithmetic.
const EXTREMES: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "1000000000",
    "4611686018427387904",
    "9223372036854775807",
    "1e308",
    "1e-308",
    "0.0",
    "-0.0",
    "1e18",
    "65536",
    "4294967295",
];

/// One to three mutations of model source.
pub fn text(rng: &mut Rng, source: &str) -> String {
    let mut s = source.to_string();
    for _ in 0..1 + rng.below(3) {
        s = once(rng, &s);
    }
    s
}

fn once(rng: &mut Rng, source: &str) -> String {
    let mut lines: Vec<String> = source.lines().map(str::to_string).collect();
    if lines.is_empty() {
        return rng.pick(TOKENS).to_string();
    }
    match rng.below(9) {
        0 => {
            lines.remove(rng.below(lines.len()));
        }
        1 => {
            let i = rng.below(lines.len());
            let line = lines[i].clone();
            lines.insert(i, line);
        }
        2 => {
            let (i, j) = (rng.below(lines.len()), rng.below(lines.len()));
            lines.swap(i, j);
        }
        3 => {
            // A number replaced by an extreme.
            let i = rng.below(lines.len());
            let line = &lines[i];
            let digits: Vec<usize> = line
                .char_indices()
                .filter(|(_, c)| c.is_ascii_digit())
                .map(|(k, _)| k)
                .collect();
            if let Some(&at) = digits.get(rng.below(digits.len().max(1))) {
                let end = line[at..]
                    .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == 'e'))
                    .map_or(line.len(), |e| at + e);
                lines[i] = format!("{}{}{}", &line[..at], rng.pick(EXTREMES), &line[end..]);
            }
        }
        4 => {
            // A token inserted at a character boundary.
            let i = rng.below(lines.len());
            let line = &lines[i];
            let bounds: Vec<usize> = line
                .char_indices()
                .map(|(k, _)| k)
                .chain([line.len()])
                .collect();
            let at = bounds[rng.below(bounds.len())];
            lines[i] = format!("{}{}{}", &line[..at], rng.pick(TOKENS), &line[at..]);
        }
        5 => {
            // A range of characters deleted.
            let i = rng.below(lines.len());
            let chars: Vec<char> = lines[i].chars().collect();
            let at = rng.below(chars.len() + 1);
            let end = (at + 1 + rng.below(8)).min(chars.len());
            lines[i] = chars[..at].iter().chain(&chars[end.max(at)..]).collect();
        }
        6 => {
            // A name replaced by another name of the program.
            let words: Vec<String> = source
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| w.chars().next().is_some_and(|c| c.is_alphabetic()))
                .map(str::to_string)
                .collect();
            if words.len() >= 2 {
                let from = rng.pick(&words).clone();
                let to = rng.pick(&words).clone();
                let i = rng.below(lines.len());
                lines[i] = replace_word(&lines[i], &from, &to);
            }
        }
        7 => {
            // An expression wrapped: a reduction with an axis, or nesting.
            let i = rng.below(lines.len());
            if let Some((lhs, rhs)) = lines[i].split_once(" = ") {
                let wrap = *rng.pick(&[
                    "max({}, axis=0)",
                    "sum({}, axis=-1)",
                    "min({})",
                    "({}) * 1e300",
                    "exp({})",
                    "log({})",
                    "({}) / 0",
                ]);
                lines[i] = format!("{lhs} = {}", wrap.replace("{}", rhs));
            }
        }
        _ => {
            // Lines cut short (a truncated file).
            let keep = rng.below(lines.len() + 1);
            lines.truncate(keep);
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

fn replace_word(line: &str, from: &str, to: &str) -> String {
    let mut out = String::new();
    let mut word = String::new();
    for c in line.chars().chain(std::iter::once('\0')) {
        if c.is_alphanumeric() || c == '_' {
            word.push(c);
            continue;
        }
        out.push_str(if word == from { to } else { &word });
        word.clear();
        if c != '\0' {
            out.push(c);
        }
    }
    out
}

/// Values a data cell may hold at the edge.
const CELLS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2",
    "5",
    "NA",
    "",
    "nan",
    "inf",
    "-inf",
    "1e308",
    "-1e308",
    "1e-320",
    "0.5",
    "1.5",
    "9223372036854775807",
    "-9223372036854775808",
    "abc",
    "null",
    "true",
    "1e400",
    "3",
    "100",
    "4294967296",
];

/// One to three mutations of a data file (CSV, TSV or JSON as text).
pub fn data_text(rng: &mut Rng, bytes: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(bytes).into_owned();
    let json = text.trim_start().starts_with('{');
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for _ in 0..1 + rng.below(3) {
        if lines.is_empty() {
            break;
        }
        match rng.below(7) {
            // Rows dropped: subjects and trials vanish, sizes shrink to 0.
            0 if lines.len() > 1 => {
                let keep = 1 + rng.below(lines.len());
                if json {
                    lines.remove(rng.below(lines.len()));
                } else {
                    lines.truncate(keep);
                }
            }
            1 => {
                // A cell (CSV) or a number (JSON) replaced by an edge value.
                let i = rng.below(lines.len());
                let sep = if lines[i].contains('\t') { '\t' } else { ',' };
                let mut cells: Vec<String> = lines[i].split(sep).map(str::to_string).collect();
                let k = rng.below(cells.len());
                if json {
                    let digits: Vec<usize> = lines[i]
                        .char_indices()
                        .filter(|(_, c)| c.is_ascii_digit())
                        .map(|(k, _)| k)
                        .collect();
                    if let Some(&at) = digits.get(rng.below(digits.len().max(1))) {
                        let line = &lines[i];
                        let end = line[at..]
                            .find(|c: char| {
                                !(c.is_ascii_digit() || c == '.' || c == 'e' || c == '-')
                            })
                            .map_or(line.len(), |e| at + e);
                        lines[i] = format!("{}{}{}", &line[..at], rng.pick(EXTREMES), &line[end..]);
                    }
                } else {
                    cells[k] = rng.pick(CELLS).to_string();
                    lines[i] = cells.join(&sep.to_string());
                }
            }
            2 => {
                // A row duplicated.
                let i = rng.below(lines.len());
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            3 => {
                // A column dropped from one row (ragged rows).
                let i = rng.below(lines.len());
                if let Some((head, _)) = lines[i].rsplit_once(',') {
                    lines[i] = head.to_string();
                }
            }
            4 => {
                // Only the header (no rows), or nothing at all.
                lines.truncate(rng.below(2));
            }
            5 => {
                // The last line cut in the middle.
                if let Some(last) = lines.last_mut() {
                    let n = last.chars().count();
                    *last = last.chars().take(rng.below(n + 1)).collect();
                }
            }
            _ => {
                // A size key in JSON set to 0 or huge.
                if json {
                    let i = rng.below(lines.len());
                    if let Some((key, _)) = lines[i].split_once(':') {
                        if !lines[i].contains('[') {
                            lines[i] =
                                format!("{key}: {},", rng.pick(&["0", "1", "1000000000", "-1"]));
                        }
                    }
                }
            }
        }
    }
    let mut out = lines.join("\n");
    if rng.chance(0.9) {
        out.push('\n');
    }
    out.into_bytes()
}
