//! The crate's modules depend on each other in one direction: a module uses those in the layers
//! below it, never one above, and siblings never use each other in a circle.
//!
//! This test reads `src/` as text (no parser: paths written `crate::…`, `$crate::…` and
//! `super::…` in code, comments and test modules left out), resolves every path to the module
//! file it names, and checks the graph against the order declared in [`LAYERS`]. The crate root
//! (`lib.rs`, its re-exports and family modules) is above every layer: a module that reaches a
//! type through the root instead of its home is an upward import.
//!
//! [`DEBTS`] lists the violations that exist, each to be removed by restructuring; it is empty. The
//! test fails on a violation that is not in the list (a new one) and on an entry of the list that
//! no longer occurs (fixed: remove it), so the list only shrinks.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The top-level modules from the bottom up; modules in one layer may use each other, without
/// circles. `lib.rs` (the root) is above them all.
const LAYERS: &[&[&str]] = &[
    // What every layer may use: the clock, and what a request learns of its connection.
    &["clock", "connection"],
    // Tencent's formats: wire types, the events, replies and decisions, the query.
    &["protocol"],
    // Rejections: the JSON a refused request is answered with.
    &["rejection"],
    // Signatures.
    &["signature"],
    // The handler trait, the command table, contexts, keys, the queue's records.
    &["handler"],
    // The service's configuration and its de-duplication stores.
    &["config", "dedup"],
    // The authentication of a request from its query, against the configuration.
    &["auth"],
    // The tower service: the request pipeline.
    &["service"],
    // The middleware that puts the service in front of another.
    &["layer"],
    // What carries requests to the service, or events from it: servers, queues, tests, spans.
    &["http_span", "server", "redis", "test_util"],
];

/// Violations that exist today, to be removed (none). An entry is `upward: A -> B` (module A uses B,
/// which is in a higher layer, or the root) or `cycle: A, B, …` (siblings in a circle, sorted).
const DEBTS: &[&str] = &[];

/// A module by its path below the crate root (`[]` is the root).
type Module = Vec<String>;

fn src_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

/// Every module file below `src/` (not the binaries), with its module path.
fn module_files() -> BTreeMap<Module, PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for entry in fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    let src = src_dir();
    let mut files = Vec::new();
    walk(&src, &mut files);
    let mut modules: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .filter(|p| !p.starts_with(src.join("bin")))
        .map(|path| {
            let rel = path.strip_prefix(&src).unwrap().with_extension("");
            let mut module: Module = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if module.last().is_some_and(|m| m == "mod" || m == "lib") {
                module.pop();
            }
            (module, path)
        })
        .collect();
    // A module declared with `#[path = "file"]` is named by its declaration, not its file.
    let declared: Vec<(Module, PathBuf)> = modules
        .iter()
        .flat_map(|(parent, path)| {
            let dir = path.parent().unwrap().to_path_buf();
            path_attributes(&fs::read_to_string(path).unwrap())
                .into_iter()
                .map(move |(file, name)| {
                    let mut module = parent.clone();
                    module.push(name);
                    (module, dir.join(file))
                })
                .collect::<Vec<_>>()
        })
        .collect();
    for (module, file) in declared {
        modules.retain(|_, path| *path != file);
        modules.insert(module, file);
    }
    modules
}

/// The `#[path = "file"] mod name;` declarations of a file: (file, name).
fn path_attributes(text: &str) -> Vec<(String, String)> {
    let mut found = Vec::new();
    let mut lines = text.lines().map(str::trim);
    while let Some(line) = lines.next() {
        let Some(file) = line
            .strip_prefix("#[path = \"")
            .and_then(|rest| rest.strip_suffix("\"]"))
        else {
            continue;
        };
        let next = lines.next().unwrap_or_default();
        let name = next
            .trim_start_matches("pub ")
            .trim_start_matches("pub(crate) ")
            .strip_prefix("mod ")
            .and_then(|rest| rest.strip_suffix(';'));
        if let Some(name) = name {
            found.push((file.to_owned(), name.trim().to_owned()));
        }
    }
    found
}

/// `text` without comments and without the items marked `#[cfg(test)]` (a test module's
/// braces, or a `mod name;` line whose file is then a test module, returned in the second
/// value).
fn code_of(text: &str) -> (String, Vec<String>) {
    let code = without_comments_and_strings(text);
    let mut out = String::with_capacity(code.len());
    let mut test_files = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("#[cfg(test)]") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "#[cfg(test)]".len()..];
        let item = after.trim_start();
        // The item ends at its first `;` if that comes before its first `{`, else at the brace
        // that closes the first one.
        let semi = item.find(';');
        let brace = item.find('{');
        let end = match (semi, brace) {
            (Some(s), b) if b.is_none_or(|b| s < b) => {
                let decl = item[..s].trim();
                if let Some(name) = decl
                    .strip_prefix("mod ")
                    .or(decl.strip_prefix("pub(crate) mod "))
                {
                    test_files.push(name.trim().to_owned());
                }
                s + 1
            }
            (_, Some(b)) => b + block_len(&item[b..]),
            _ => item.len(),
        };
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_files)
}

/// `text` with its comments removed and the contents of its string literals blanked (doc
/// comments and doc strings name paths that are links, not imports).
fn without_comments_and_strings(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    while i < bytes.len() {
        let rest = &bytes[i..];
        if rest.starts_with(b"//") {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if rest.starts_with(b"/*") {
            let end = rest
                .windows(2)
                .position(|w| w == b"*/")
                .map_or(rest.len(), |at| at + 2);
            i += end;
        } else if bytes[i] == b'r'
            && (i == 0 || !ident(bytes[i - 1]))
            && rest[1..].iter().take_while(|b| **b == b'#').count() + 1 < rest.len()
            && rest[1 + rest[1..].iter().take_while(|b| **b == b'#').count()] == b'"'
        {
            let hashes = rest[1..].iter().take_while(|b| **b == b'#').count();
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            let start = 2 + hashes;
            let end = rest[start..]
                .windows(close.len())
                .position(|w| w == close.as_slice())
                .map_or(rest.len(), |at| start + at + close.len());
            out.extend_from_slice(b"\"\"");
            i += end;
        } else if bytes[i] == b'"' {
            let mut j = i + 1;
            while j < bytes.len() && bytes[j] != b'"' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            out.extend_from_slice(b"\"\"");
            i = j + 1;
        } else if bytes[i] == b'\'' && bytes.get(i + 2) == Some(&b'\'') {
            out.extend_from_slice(b"' '");
            i += 3;
        } else if bytes[i] == b'\'' && bytes.get(i + 1) == Some(&b'\\') {
            let mut j = i + 2;
            while j < bytes.len() && bytes[j] != b'\'' {
                j += 1;
            }
            out.extend_from_slice(b"' '");
            i = j + 1;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The length of the block that `code` starts with (at its `{`). The code has been through
/// [`without_comments_and_strings`], so no brace is inside a literal.
fn block_len(code: &str) -> usize {
    let mut depth = 0usize;
    for (i, b) in code.bytes().enumerate() {
        match b {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
    }
    code.len()
}

/// The modules `module`'s code names, resolved to the longest known module path.
fn uses(module: &Module, code: &str, known: &BTreeSet<Module>) -> BTreeSet<Module> {
    let mut found = BTreeSet::new();
    let bytes = code.as_bytes();
    let ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        let starts_word = i == 0 || !(ident(bytes[i - 1]) || bytes[i - 1] == b':');
        let head = ["$crate::", "crate::", "super::"]
            .into_iter()
            .find(|h| starts_word && bytes[i..].starts_with(h.as_bytes()));
        let Some(head) = head else {
            i += 1;
            continue;
        };
        // The path: identifiers joined by `::`, starting after the head.
        let mut path: Vec<String> = Vec::new();
        let mut base: Module = if head == "super::" {
            module[..module.len().saturating_sub(1)].to_vec()
        } else {
            Vec::new()
        };
        let mut j = i + head.len();
        loop {
            let start = j;
            while j < bytes.len() && ident(bytes[j]) {
                j += 1;
            }
            if start == j {
                break;
            }
            let segment = &code[start..j];
            if segment == "super" && path.is_empty() {
                base.pop();
            } else {
                path.push(segment.to_owned());
            }
            if bytes[j..].starts_with(b"::") {
                j += 2;
            } else {
                break;
            }
        }
        let full: Module = base.into_iter().chain(path).collect();
        let resolve = |full: &[String]| {
            (0..=full.len())
                .rev()
                .map(|n| full[..n].to_vec())
                .find(|m| known.contains(m))
                .unwrap_or_default()
        };
        if bytes.get(j) == Some(&b'{') {
            // A group, `path::{a, b::c, d::{e, f}}`: each item's leading path, below `path`.
            let end = j + block_len(&code[j..]);
            for item in code[j + 1..end.saturating_sub(1)].split(',') {
                let item: Vec<String> = item
                    .trim()
                    .split("::")
                    .map(str::trim)
                    .take_while(|seg| !seg.is_empty() && seg.bytes().all(ident))
                    .map(str::to_owned)
                    .collect();
                let mut path = full.clone();
                path.extend(item);
                found.insert(resolve(&path));
            }
            i = end.max(i + 1);
            continue;
        }
        found.insert(resolve(&full));
        i = j.max(i + 1);
    }
    found
}

/// The module graph: which modules each module's code uses (test code left out).
fn graph() -> BTreeMap<Module, BTreeSet<Module>> {
    let files = module_files();
    let known: BTreeSet<Module> = files.keys().cloned().collect();
    let mut tests: BTreeSet<Module> = BTreeSet::new();
    let mut code = BTreeMap::new();
    for (module, path) in &files {
        let (text, test_children) = code_of(&fs::read_to_string(path).unwrap());
        for child in test_children {
            let mut m = module.clone();
            m.push(child);
            tests.insert(m);
        }
        code.insert(module.clone(), text);
    }
    code.into_iter()
        .filter(|(m, _)| !tests.iter().any(|t| m.starts_with(t)))
        .map(|(m, text)| {
            let used = uses(&m, &text, &known);
            (m, used)
        })
        .collect()
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "(root)".to_owned()
    } else {
        m.join("::")
    }
}

fn layer(top: &str) -> usize {
    LAYERS
        .iter()
        .position(|l| l.contains(&top))
        .unwrap_or_else(|| panic!("module `{top}` is in no layer of tests/layers.rs: add it"))
}

/// Every violation: upward imports between top-level modules (and to the root), and circles
/// among the children of one module.
fn violations() -> BTreeSet<String> {
    let graph = graph();
    let mut found = BTreeSet::new();
    // Edges between siblings: a -> b, lifted to the children of their lowest common ancestor.
    let mut sibling_edges: BTreeMap<Module, BTreeSet<(Module, Module)>> = BTreeMap::new();
    for (from, tos) in &graph {
        for to in tos {
            if from.is_empty() {
                continue; // the root may use everything
            }
            if to.is_empty() {
                found.insert(format!("upward: {} -> (root)", from[0]));
                continue;
            }
            let common = from.iter().zip(to).take_while(|(a, b)| a == b).count();
            if common == from.len() || common == to.len() {
                continue; // a module and its own descendant or ancestor
            }
            let (a, b) = (from[..=common].to_vec(), to[..=common].to_vec());
            if common == 0 && layer(&b[0]) != layer(&a[0]) {
                // Between layers only the direction matters; circles are looked for within
                // a layer, and among the children of one module.
                if layer(&b[0]) > layer(&a[0]) {
                    found.insert(format!("upward: {} -> {}", a[0], b[0]));
                }
                continue;
            }
            sibling_edges
                .entry(from[..common].to_vec())
                .or_default()
                .insert((a, b));
        }
    }
    // Circles: strongly connected groups of more than one sibling.
    for edges in sibling_edges.values() {
        let nodes: BTreeSet<&Module> = edges.iter().flat_map(|(a, b)| [a, b]).collect();
        let reaches = |start: &Module| {
            let mut seen = BTreeSet::from([start.clone()]);
            let mut todo = vec![start.clone()];
            while let Some(n) = todo.pop() {
                for (_, b) in edges.iter().filter(|(a, _)| *a == n) {
                    if seen.insert(b.clone()) {
                        todo.push(b.clone());
                    }
                }
            }
            seen
        };
        let reach: BTreeMap<&Module, BTreeSet<Module>> =
            nodes.iter().map(|n| (*n, reaches(n))).collect();
        for n in &nodes {
            let group: Vec<String> = nodes
                .iter()
                .filter(|m| reach[*n].contains(**m) && reach[**m].contains(*n))
                .map(|m| name(m))
                .collect();
            if group.len() > 1 {
                found.insert(format!("cycle: {}", group.join(", ")));
            }
        }
    }
    found
}

#[test]
fn imports_run_one_way() {
    let found = violations();
    let debts: BTreeSet<String> = DEBTS.iter().map(|d| (*d).to_owned()).collect();
    let new: Vec<&String> = found.difference(&debts).collect();
    let paid: Vec<&String> = debts.difference(&found).collect();
    assert!(
        new.is_empty() && paid.is_empty(),
        "new violations of the layers (use a lower module, or move the item down): {new:#?}\n\
         debts no longer found (remove them from DEBTS): {paid:#?}"
    );
}

/// The reader sees what it must: a use through `super::`, `crate::` and `$crate::`, a test
/// module left out, and a path resolved to the longest module that exists.
#[test]
fn the_reader_resolves_paths_and_skips_tests() {
    let known: BTreeSet<Module> = [
        vec![],
        vec!["protocol".to_owned()],
        vec!["protocol".to_owned(), "wire".to_owned()],
        vec!["service".to_owned()],
        vec!["handler".to_owned()],
    ]
    .into_iter()
    .collect();
    let module = vec!["protocol".to_owned(), "group".to_owned()];
    let text = "use super::wire::Wire; // crate::handler in a comment\n\
                fn f() -> crate::service::ReplyBody { $crate::Extra::new() }\n\
                #[cfg(test)]\nmod tests { use crate::handler::Command; }\n";
    let (code, _) = code_of(text);
    let used = uses(&module, &code, &known);
    let names: Vec<String> = used.iter().map(|m| name(m)).collect();
    assert_eq!(names, ["(root)", "protocol::wire", "service"]);
    // A group names each of its items' modules.
    let (code, _) =
        code_of("use super::{wire::{Wire, Seed}, Extra};\nuse crate::{handler, service::X};\n");
    let used = uses(&module, &code, &known);
    let names: Vec<String> = used.iter().map(|m| name(m)).collect();
    assert_eq!(names, ["handler", "protocol", "protocol::wire", "service"]);
    let (_, test_files) = code_of("#[cfg(test)]\nmod tests;\nmod real;\n");
    assert_eq!(test_files, ["tests"]);
    let declared = path_attributes("#[path = \"service/layer.rs\"]\npub mod layer;\nmod other;\n");
    assert_eq!(
        declared,
        [("service/layer.rs".to_owned(), "layer".to_owned())]
    );
}
