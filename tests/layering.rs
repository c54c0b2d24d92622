//! The layering ARCHITECTURE.md draws, checked rather than hoped.
//!
//! Reads every `use` and path of `src/` that names a module of this crate
//! (`crate::…`, `super::…`), and `build.rs`'s `extern_path` targets (the
//! served service's generated code refers to them), then checks two rules:
//! - no cycle between sibling modules (`article` ↔ `query`, or
//!   `api::watch` ↔ `api::watch_response`): a module and its own children
//!   may refer to each other, siblings only one way;
//! - the lower layers import nothing from the layers above them
//!   (`FORBIDDEN`).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// `(importer, imported)`: modules whose code (and children's code) must
/// not name the second module or anything below it.
const FORBIDDEN: &[(&str, &[&str])] = &[
    ("article", UPPER_LAYERS),
    ("query", UPPER_LAYERS),
    ("error", UPPER_LAYERS),
    ("document", UPPER_LAYERS),
    ("store", UPPER_LAYERS),
    ("watch", UPPER_LAYERS),
    // The stores keep encodings as bytes from an injected encoder: no prost.
    ("store", &["proto", "wire", "convert"]),
];

/// What the domain, the document format, the stores and the feed may not
/// import: the gRPC edge, the gate, the server and the configuration.
const UPPER_LAYERS: &[&str] = &["api", "gate", "server", "settings", "config", "cli"];

/// A module path, `["store", "sqlite", "writes"]`; the crate root is empty.
type Module = Vec<String>;

#[test]
fn sibling_modules_have_no_cycles() {
    let graph = module_graph();
    let mut cycles = Vec::new();
    for (parent, edges) in sibling_edges(&graph) {
        for group in find_cycles(&edges) {
            let inside: Vec<String> = group
                .iter()
                .flat_map(|from| {
                    edges[from]
                        .iter()
                        .filter(|to| group.contains(to))
                        .map(move |to| format!("{from} → {to}"))
                })
                .collect();
            cycles.push(format!("in {}: {}", display(&parent), inside.join(", ")));
        }
    }
    assert!(
        cycles.is_empty(),
        "module cycles (siblings must depend one way only):\n{}",
        cycles.join("\n")
    );
}

#[test]
fn lower_layers_import_nothing_from_upper_layers() {
    let graph = module_graph();
    let mut violations = Vec::new();
    for (importer, imported) in FORBIDDEN {
        for (module, targets) in &graph {
            if module.first().map(String::as_str) != Some(importer) {
                continue;
            }
            for (target, line) in targets {
                if let Some(top) = target.first()
                    && imported.contains(&top.as_str())
                {
                    violations.push(format!(
                        "{} imports {}: {line}",
                        display(module),
                        display(target)
                    ));
                }
            }
        }
    }
    assert!(
        violations.is_empty(),
        "imports across the layering of ARCHITECTURE.md:\n{}",
        violations.join("\n")
    );
}

#[test]
fn api_does_not_reach_into_gate_internals() {
    let graph = module_graph();
    let violations: Vec<String> = graph
        .iter()
        .filter(|(module, _)| module.first().map(String::as_str) == Some("api"))
        .flat_map(|(module, targets)| {
            targets
                .iter()
                .filter(|(target, _)| {
                    target.first().map(String::as_str) == Some("gate") && target.len() > 1
                })
                .map(move |(target, line)| {
                    format!("{} imports {}: {line}", display(module), display(target))
                })
        })
        .collect();
    assert!(
        violations.is_empty(),
        "api/ uses gate/ internals:\n{}",
        violations.join("\n")
    );
}

/// The checker itself: a cycle and a forbidden import it must find.
#[test]
fn the_checker_finds_what_it_looks_for() {
    let edges = BTreeMap::from([
        ("a".to_string(), BTreeSet::from(["b".to_string()])),
        ("b".to_string(), BTreeSet::from(["c".to_string()])),
        ("c".to_string(), BTreeSet::from(["a".to_string()])),
        ("d".to_string(), BTreeSet::from(["a".to_string()])),
    ]);
    assert_eq!(find_cycles(&edges), vec![vec!["a", "b", "c"]]);

    let source = "use crate::{article::Article, query::{self, Order}};\n\
                  use super::status;\nfn f() { crate::wire::encode(); }\n\
                  // use crate::commented::Out;\n\
                  #[cfg(test)]\nmod tests {\n use crate::tested_through::Sibling;\n}\n";
    let paths = referenced_paths(source, &["api".to_string(), "mod_a".to_string()]);
    let names: BTreeSet<String> = paths.iter().map(|(path, _)| display(path)).collect();
    assert_eq!(
        names,
        BTreeSet::from([
            "article::Article".to_string(),
            "query".to_string(),
            "query::Order".to_string(),
            "api::status".to_string(),
            "wire::encode".to_string(),
        ])
    );
}

fn display(module: &[String]) -> String {
    if module.is_empty() {
        "crate".to_string()
    } else {
        module.join("::")
    }
}

/// Every module of `src/` with the crate paths it names (resolved to the
/// longest module prefix that exists) and the source line naming it.
fn module_graph() -> BTreeMap<Module, BTreeMap<Module, String>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let files = rust_files(&root.join("src"));
    let modules: BTreeMap<Module, PathBuf> = files
        .into_iter()
        .filter(|path| !path.ends_with("main.rs"))
        .map(|path| (module_of(&root.join("src"), &path), path))
        .collect();
    let known: BTreeSet<Module> = modules.keys().cloned().collect();
    let mut graph = BTreeMap::new();
    for (module, path) in &modules {
        let source = fs::read_to_string(path).expect("read a source file");
        let targets: BTreeMap<Module, String> = referenced_paths(&source, module)
            .into_iter()
            .filter_map(|(path, line)| Some((longest_module(&known, &path)?, line)))
            .filter(|(target, _)| target != module)
            .collect();
        graph.insert(module.clone(), targets);
    }
    // The served service's generated code, included by the one module that
    // includes `served/`, names build.rs's extern_path targets.
    let includer: Vec<&Module> = modules
        .iter()
        .filter(|(_, path)| {
            fs::read_to_string(path).is_ok_and(|source| source.contains("\"/served/"))
        })
        .map(|(module, _)| module)
        .collect();
    let [includer] = includer[..] else {
        panic!(
            "expected one module to include the served service's generated code, found {includer:?}"
        );
    };
    let build = fs::read_to_string(root.join("build.rs")).expect("read build.rs");
    let generated: Vec<(Module, String)> = build
        .lines()
        .filter_map(|line| {
            let start = line.find("\"crate::")? + "\"crate::".len();
            let end = start + line[start..].find('"')?;
            let path = split_path(&line[start..end]);
            Some((
                longest_module(&known, &path)?,
                format!("build.rs: {}", line.trim()),
            ))
        })
        .collect();
    graph.entry(includer.clone()).or_default().extend(generated);
    graph
}

fn rust_files(directory: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(directory).expect("read a source folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// `src/store/sqlite/writes.rs` → `store::sqlite::writes`; `mod.rs` and
/// `lib.rs` name their folder.
fn module_of(source_root: &Path, path: &Path) -> Module {
    let relative = path.strip_prefix(source_root).expect("a file under src/");
    let mut parts: Module = relative
        .with_extension("")
        .iter()
        .map(|part| part.to_string_lossy().into_owned())
        .collect();
    if matches!(parts.last().map(String::as_str), Some("mod" | "lib")) {
        parts.pop();
    }
    parts
}

fn longest_module(known: &BTreeSet<Module>, path: &[String]) -> Option<Module> {
    (1..=path.len())
        .rev()
        .map(|length| path[..length].to_vec())
        .find(|prefix| known.contains(prefix))
}

fn split_path(text: &str) -> Module {
    text.split("::")
        .filter(|part| !part.is_empty())
        .map(str::to_string)
        .collect()
}

/// The crate paths `source` (the code of `module`) names: every path of a
/// `use crate::…` / `use super::…` tree, and every `crate::…` / `super::…`
/// path in the code. Comments are skipped, and so is a trailing
/// `#[cfg(test)] mod`: a unit test may drive its module through a sibling
/// (render's tests parse), which is no dependency of the module itself.
fn referenced_paths(source: &str, module: &[String]) -> Vec<(Module, String)> {
    let production = match source.find("#[cfg(test)]\nmod ") {
        Some(at) => &source[..at],
        None => source,
    };
    let code: String = production
        .lines()
        .map(|line| match line.find("//") {
            Some(at) => &line[..at],
            None => line,
        })
        .collect::<Vec<_>>()
        .join("\n");
    let mut paths = Vec::new();
    let mut rest = code.as_str();
    while let Some(at) = rest.find("use ") {
        let preceded_by_word = at > 0 && rest.as_bytes()[at - 1].is_ascii_alphanumeric();
        let after = &rest[at + 4..];
        let Some(end) = after.find(';') else { break };
        let tree = after[..end].trim();
        if !preceded_by_word && (tree.starts_with("crate::") || tree.starts_with("super::")) {
            for path in expand_use_tree(tree) {
                if let Some(resolved) = resolve(&split_path(&path), module) {
                    paths.push((resolved, format!("use {tree};")));
                }
            }
        }
        rest = &after[end..];
    }
    for prefix in ["crate::", "super::"] {
        let mut rest = code.as_str();
        while let Some(at) = rest.find(prefix) {
            let preceded = at > 0 && {
                let before = rest.as_bytes()[at - 1];
                before.is_ascii_alphanumeric() || before == b'_' || before == b':'
            };
            let tail = &rest[at..];
            let length = tail
                .find(|character: char| {
                    !(character.is_alphanumeric() || character == '_' || character == ':')
                })
                .unwrap_or(tail.len());
            let path = tail[..length].trim_end_matches(':');
            let in_use_tree = path.ends_with("::") || tail[length..].starts_with('{');
            if !preceded
                && !in_use_tree
                && let Some(resolved) = resolve(&split_path(path), module)
            {
                paths.push((resolved, path.to_string()));
            }
            rest = &rest[at + prefix.len()..];
        }
    }
    paths
}

/// `crate::{a::B, c::{self, D as E}}` → `crate::a::B`, `crate::c`, `crate::c::D`.
fn expand_use_tree(tree: &str) -> Vec<String> {
    let tree = tree.trim();
    let Some(open) = tree.find('{') else {
        let path = tree.split(" as ").next().unwrap_or(tree).trim();
        return vec![path.trim_end_matches("::self").to_string()];
    };
    let prefix = tree[..open].trim().trim_end_matches("::");
    let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (index, character) in inner.char_indices() {
        match character {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                items.push(inner[start..index].trim());
                start = index + 1;
            }
            _ => {}
        }
    }
    items.push(inner[start..].trim());
    items
        .into_iter()
        .filter(|item| !item.is_empty())
        .flat_map(|item| {
            if item == "self" {
                vec![prefix.to_string()]
            } else {
                expand_use_tree(&format!("{prefix}::{item}"))
            }
        })
        .collect()
}

/// A `crate::` or `super::` path as an absolute module path.
fn resolve(path: &[String], module: &[String]) -> Option<Module> {
    let mut base: Module = Vec::new();
    let mut parts = path.iter().peekable();
    match parts.peek().map(|part| part.as_str()) {
        Some("crate") => {
            parts.next();
        }
        Some("super") => {
            base = module.to_vec();
            while parts.peek().map(|part| part.as_str()) == Some("super") {
                parts.next();
                base.pop()?;
            }
        }
        _ => return None,
    }
    base.extend(parts.cloned());
    Some(base)
}

/// For each parent module, the edges between its children: an import from
/// anywhere under child `a` of anything under its sibling `b` is `a → b`.
fn sibling_edges(
    graph: &BTreeMap<Module, BTreeMap<Module, String>>,
) -> BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> {
    let mut siblings: BTreeMap<Module, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for (module, targets) in graph {
        for target in targets.keys() {
            let shared = module
                .iter()
                .zip(target)
                .take_while(|(left, right)| left == right)
                .count();
            if shared < module.len() && shared < target.len() {
                siblings
                    .entry(module[..shared].to_vec())
                    .or_default()
                    .entry(module[shared].clone())
                    .or_default()
                    .insert(target[shared].clone());
            }
        }
    }
    siblings
}

/// The groups of modules that reach each other (strongly connected
/// components of more than one module), each sorted by name.
fn find_cycles(edges: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    let reachable = |from: &String| {
        let mut seen = BTreeSet::new();
        let mut stack = vec![from.clone()];
        while let Some(node) = stack.pop() {
            for next in edges.get(&node).into_iter().flatten() {
                if seen.insert(next.clone()) {
                    stack.push(next.clone());
                }
            }
        }
        seen
    };
    let reach: BTreeMap<&String, BTreeSet<String>> =
        edges.keys().map(|node| (node, reachable(node))).collect();
    let mut groups = BTreeSet::new();
    for (node, reached) in &reach {
        let group: Vec<String> = reached
            .iter()
            .filter(|other| reach.get(other).is_some_and(|back| back.contains(*node)))
            .cloned()
            .collect();
        if group.len() > 1 {
            groups.insert(group);
        }
    }
    groups.into_iter().collect()
}
