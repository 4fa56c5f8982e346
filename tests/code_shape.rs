//! The shape STYLE.md asks of the code, checked so it holds: no Rust source file over 500
//! lines, and no function of non-test code over 80 lines. Reads the sources as text
//! (rustfmt-formatted: a function's body ends at the first `}` at its own indentation).

use std::path::{Path, PathBuf};

const MAX_FILE_LINES: usize = 500;
const MAX_FUNCTION_LINES: usize = 80;

/// The folders whose `.rs` files are the project's.
const ROOTS: [&str; 5] = ["crates", "src", "tests", "bench", "fuzz"];

fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() {
            if name != "target" && name != "node_modules" && name != "corpus" {
                sources(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Test code: test folders and files, and the store-contract crate (a suite of tests).
fn is_test_file(path: &Path) -> bool {
    let text = path.to_string_lossy();
    text.starts_with("tests/")
        || text.contains("/tests/")
        || text.starts_with("crates/store-contract/")
        || path
            .file_name()
            .is_some_and(|n| n == "tests.rs" || n == "testing.rs")
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start().len()
}

/// The line after the block that opens at `start` (whose closing `}` is at `start`'s indent).
fn block_end(lines: &[&str], start: usize) -> usize {
    let at = indent(lines[start]);
    let mut n = start + 1;
    while n < lines.len() {
        let line = lines[n];
        if indent(line) == at && line.trim_start().starts_with('}') {
            return n + 1;
        }
        n += 1;
    }
    n
}

/// A line that starts a function (`fn`, with any of its qualifiers), with the function's name.
fn function_name(line: &str) -> Option<&str> {
    let mut words = line.split_whitespace().peekable();
    while let Some(word) = words.next() {
        match word {
            "fn" => {
                let name = words.next()?;
                return Some(name.split(['(', '<']).next().unwrap_or(name));
            }
            "pub" | "async" | "const" | "unsafe" | "extern" | "\"C\"" => {}
            w if w.starts_with("pub(") => {}
            _ => return None,
        }
    }
    None
}

/// Functions of `lines` longer than the limit, outside `#[cfg(test)]` modules.
fn long_functions(lines: &[&str]) -> Vec<(usize, String, usize)> {
    let mut found = Vec::new();
    let mut n = 0;
    while n < lines.len() {
        let line = lines[n].trim();
        if line == "#[cfg(test)]" && lines.get(n + 1).is_some_and(|l| l.trim().ends_with('{')) {
            n = block_end(lines, n + 1);
            continue;
        }
        if let Some(name) = function_name(line) {
            // A declaration without a body (a trait's) ends in `;` before any `{`.
            let body = (n..lines.len()).find(|&m| {
                let l = lines[m].trim_end();
                l.ends_with('{') || l.ends_with(';')
            });
            if body.is_some_and(|m| lines[m].trim_end().ends_with('{')) {
                let end = block_end(lines, n);
                if end - n > MAX_FUNCTION_LINES {
                    found.push((n + 1, name.to_owned(), end - n));
                }
            }
        }
        n += 1;
    }
    found
}

#[test]
fn no_file_over_500_lines_and_no_function_over_80() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    for dir in ROOTS {
        sources(&root.join(dir), &mut files);
    }
    assert!(files.len() > 50, "found only {} sources", files.len());
    let mut problems = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        let relative = file.strip_prefix(root).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        if lines.len() > MAX_FILE_LINES {
            problems.push(format!(
                "{}: {} lines (at most {MAX_FILE_LINES})",
                relative.display(),
                lines.len()
            ));
        }
        if !is_test_file(relative) {
            for (line, name, length) in long_functions(&lines) {
                problems.push(format!(
                    "{}:{line}: fn {name} is {length} lines (at most {MAX_FUNCTION_LINES})",
                    relative.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "split these at their seams:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_checker_sees_long_functions_and_skips_test_modules_and_declarations() {
    let body = |name: &str, lines: usize| {
        let mut f = vec![format!("pub(crate) async fn {name}() {{")];
        f.extend((0..lines).map(|_| "    work();".to_owned()));
        f.push("}".to_owned());
        f
    };
    let mut source = body("short", 78);
    source.extend(body("long", 79));
    source.push("trait T {".into());
    source.push("    fn declared(&self)".into());
    source.push("        -> u8;".into());
    source.push("}".into());
    source.push("#[cfg(test)]".into());
    source.push("mod tests {".into());
    source.extend(
        body("a_long_test", 100)
            .into_iter()
            .map(|l| format!("    {l}")),
    );
    source.push("}".into());
    let lines: Vec<&str> = source.iter().map(String::as_str).collect();
    assert_eq!(long_functions(&lines), [(81, "long".to_owned(), 81)]);
}
