//! The documentation's examples are tested: every ```rlm block in `docs/*.md`
//! and the workspace's `README.md` must compile without a diagnostic (unless
//! its first line declares the warnings it shows, `// warning: W0101`), and
//! every ```rlm-error block must fail to compile. An `rlm-error` block whose
//! first line is `// error: E0120` (several codes may be listed, separated by
//! commas) must report each listed code and no other error. Every diagnostic
//! code the compiler and the data loader can emit must be explained in
//! `docs/errors.md`.

use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    /// ```rlm: a complete model that compiles.
    Compiles,
    /// ```rlm-error: a model that must not compile.
    Fails,
}

/// One fenced example: where it is, what it must do, and its text.
struct Example {
    /// The file, relative to the workspace: `docs/language.md`.
    file: String,
    /// The 1-based line of the example's first source line.
    line: usize,
    kind: Kind,
    source: String,
}

impl Example {
    fn place(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// The codes the first line declares after `// error:` or `// warning:`.
    fn declared_codes(&self, marker: &str) -> Vec<String> {
        let first = self.source.lines().next().unwrap_or_default().trim();
        let Some(rest) = first
            .strip_prefix("//")
            .map(str::trim_start)
            .and_then(|r| r.strip_prefix(marker))
        else {
            return Vec::new();
        };
        rest.split(|c: char| c == ',' || c.is_whitespace())
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .map(str::to_string)
            .collect()
    }
}

/// The ```rlm and ```rlm-error blocks of one Markdown file (a path relative
/// to the workspace), in order.
fn examples(file: &str) -> Vec<Example> {
    let path = workspace().join(file);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut out = Vec::new();
    let mut open: Option<(Option<Kind>, usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let fence = line.trim_start();
        match open.take() {
            None => {
                if let Some(info) = fence.strip_prefix("```") {
                    let kind = match info.trim() {
                        "rlm" => Some(Kind::Compiles),
                        "rlm-error" => Some(Kind::Fails),
                        _ => None,
                    };
                    // Other fences are tracked too, so that their contents
                    // are never mistaken for an opening fence.
                    open = Some((kind, index + 2, String::new()));
                }
            }
            Some((kind, first_line, mut source)) => {
                if fence.trim_end() == "```" {
                    if let Some(kind) = kind {
                        out.push(Example {
                            file: file.to_string(),
                            line: first_line,
                            kind,
                            source,
                        });
                    }
                } else {
                    source.push_str(line);
                    source.push('\n');
                    open = Some((kind, first_line, source));
                }
            }
        }
    }
    assert!(open.is_none(), "{file}: a code block is not closed");
    out
}

/// `docs/*.md` and `README.md`, relative to the workspace.
fn documentation_files() -> Vec<String> {
    let docs = workspace().join("docs");
    let mut files: Vec<String> = std::fs::read_dir(&docs)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", docs.display()))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .filter_map(|p| {
            p.file_name()
                .map(|n| format!("docs/{}", n.to_string_lossy()))
        })
        .collect();
    files.sort();
    files.push("README.md".to_string());
    files
}

/// The one place these tests touch the compiler's API: whether the example
/// compiled, the codes of its errors and warnings, and the rendered report.
fn compile(example: &Example) -> (bool, Vec<&'static str>, Vec<&'static str>, String) {
    // Blank lines in front of the example make the report's line numbers those
    // of the Markdown file; they change nothing else.
    let padded = format!("{}{}", "\n".repeat(example.line - 1), example.source);
    let (model, diagnostics) = rlc_check::compile(&padded);
    let errors = diagnostics
        .iter()
        .filter(|d| d.is_error())
        .map(|d| d.code)
        .collect();
    let warnings = diagnostics
        .iter()
        .filter(|d| !d.is_error())
        .map(|d| d.code)
        .collect();
    let rendered = rlc_syntax::render(&diagnostics, &example.file, &padded, false);
    (model.is_some(), errors, warnings, rendered)
}

/// What is wrong with one example, if anything.
fn problem(example: &Example) -> Option<String> {
    let (compiled, errors, warnings, rendered) = compile(example);
    match example.kind {
        Kind::Compiles => {
            let declared = example.declared_codes("warning:");
            if !compiled {
                return Some(format!("should compile, but:\n{rendered}"));
            }
            let unexpected: Vec<_> = warnings
                .iter()
                .filter(|w| !declared.iter().any(|d| d == *w))
                .collect();
            let absent: Vec<_> = declared
                .iter()
                .filter(|d| !warnings.contains(&d.as_str()))
                .collect();
            if !unexpected.is_empty() || !absent.is_empty() {
                return Some(format!(
                    "should compile with the warnings {declared:?}, but:\n{rendered}"
                ));
            }
            None
        }
        Kind::Fails => {
            let declared = example.declared_codes("error:");
            if compiled {
                return Some(format!(
                    "should fail to compile, but it compiles\n{rendered}"
                ));
            }
            let absent: Vec<_> = declared
                .iter()
                .filter(|d| !errors.contains(&d.as_str()))
                .collect();
            let unexpected: Vec<_> = errors
                .iter()
                .filter(|e| !declared.is_empty() && !declared.iter().any(|d| d == *e))
                .collect();
            if !absent.is_empty() || !unexpected.is_empty() {
                return Some(format!(
                    "should fail with exactly {declared:?}, but reports {errors:?}:\n{rendered}"
                ));
            }
            None
        }
    }
}

#[test]
fn documented_examples_compile_or_fail_as_marked() {
    let mut failures = Vec::new();
    let mut count = 0;
    for file in documentation_files() {
        for example in examples(&file) {
            count += 1;
            if let Some(why) = problem(&example) {
                failures.push(format!("{}: {why}", example.place()));
            }
        }
    }
    assert!(count > 0, "no ```rlm examples found in the documentation");
    assert!(
        failures.is_empty(),
        "{} of {count} documented examples are wrong:\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The codes written as string literals (`"E0120"`, `"D0014"`) in a source file.
fn codes_in(path: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut codes: Vec<String> = text
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|s| {
            s.len() == 5
                && s.starts_with(['E', 'W', 'D'])
                && s[1..].chars().all(|c| c.is_ascii_digit())
        })
        .map(str::to_string)
        .collect();
    codes.sort();
    codes.dedup();
    codes
}

#[test]
fn every_diagnostic_code_is_explained_in_errors_md() {
    let root = workspace();
    let errors_md = std::fs::read_to_string(root.join("docs/errors.md"))
        .unwrap_or_else(|e| panic!("cannot read docs/errors.md: {e}"));
    let sources = [
        "crates/syntax/src/error.rs",
        "crates/check/src/error.rs",
        "crates/data/src/error.rs",
        "crates/driver/src/compile.rs",
        "crates/driver/src/generate.rs",
    ];
    let mut missing = Vec::new();
    let mut count = 0;
    for source in sources {
        for code in codes_in(&root.join(source)) {
            count += 1;
            let heading = format!("## {code}");
            if !errors_md.lines().any(|l| l.starts_with(&heading)) {
                missing.push(format!("{code} (from {source})"));
            }
        }
    }
    assert!(count > 0, "no diagnostic codes found in the error sources");
    assert!(
        missing.is_empty(),
        "docs/errors.md has no `## CODE` section for: {}",
        missing.join(", ")
    );
}
