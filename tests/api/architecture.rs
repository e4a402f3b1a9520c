//! Checks on the shape of the code and the schema that no compiler enforces:
//! the module graph has no cycle, and both databases store the same tables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::helpers::{Backend, TestDatabase};

/// Every module of `src/` (as `a::b`) with the source of its file, test
/// modules and comments removed.
fn modules() -> BTreeMap<String, String> {
    fn walk(dir: &Path, root: &Path, out: &mut BTreeMap<String, String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, root, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let relative = path.strip_prefix(root).unwrap().with_extension("");
                let name = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("::");
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
                let code: String = code
                    .lines()
                    .map(|line| line.split("//").next().unwrap())
                    .collect::<Vec<_>>()
                    .join("\n");
                out.insert(name, code);
            }
        }
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    walk(&root, &root, &mut out);
    out.remove("lib");
    out.remove("main");
    out
}

/// The module a path such as `runs::engine::advance` lives in.
fn resolve<'a>(path: &str, modules: &'a BTreeMap<String, String>) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

/// The modules each module uses (`crate::…` and `super::…` paths).
fn dependencies(modules: &BTreeMap<String, String>) -> BTreeMap<&str, BTreeSet<&str>> {
    let path_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    let mut graph = BTreeMap::new();
    for (name, code) in modules {
        let parent = name.rsplit_once("::").map(|(p, _)| p);
        let mut uses = BTreeSet::new();
        for (prefix, base) in [("crate::", None), ("super::", Some(parent))] {
            for (at, _) in code.match_indices(prefix) {
                if code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':') {
                    continue;
                }
                let rest = &code[at + prefix.len()..];
                let path: String = rest.chars().take_while(|c| path_char(*c)).collect();
                let path = path.trim_end_matches(':');
                let mut paths = vec![path.to_owned()];
                // `crate::a::{b, c::d}` names several modules at once.
                if let Some(group) = rest[path.len()..].strip_prefix("::{") {
                    let group = &group[..group.find('}').unwrap_or(0)];
                    paths.extend(group.split(',').map(|item| format!("{path}::{}", item.trim())));
                }
                for path in paths {
                    let full = match base {
                        None => path,
                        Some(Some(parent)) => format!("{parent}::{path}"),
                        Some(None) => path,
                    };
                    if let Some(target) = resolve(&full, modules)
                        && target != name
                    {
                        uses.insert(target);
                    }
                }
            }
        }
        graph.insert(name.as_str(), uses);
    }
    graph
}

/// A cycle through `start`, if there is one.
fn cycle_through<'a>(graph: &BTreeMap<&'a str, BTreeSet<&'a str>>, start: &'a str) -> Option<Vec<&'a str>> {
    fn search<'a>(
        graph: &BTreeMap<&'a str, BTreeSet<&'a str>>,
        start: &'a str,
        at: &'a str,
        path: &mut Vec<&'a str>,
        seen: &mut BTreeSet<&'a str>,
    ) -> bool {
        for &next in &graph[at] {
            if next == start {
                return true;
            }
            if seen.insert(next) {
                path.push(next);
                if search(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start];
    search(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

#[test]
fn the_module_graph_has_no_cycle() {
    let modules = modules();
    let graph = dependencies(&modules);
    assert!(
        graph.contains_key("runs::engine") && graph["app"].contains("state"),
        "the graph was not read"
    );
    for &module in graph.keys() {
        if let Some(cycle) = cycle_through(&graph, module) {
            panic!("a cycle of modules: {} -> {module}", cycle.join(" -> "));
        }
    }
}

#[test]
fn features_never_reach_the_router() {
    let modules = modules();
    let graph = dependencies(&modules);
    for (module, uses) in &graph {
        assert!(
            *module == "cli" || !uses.contains("app"),
            "{module} uses the router module `app`; depend on `state` instead"
        );
    }
}

/// Every table and its columns, as the database reports them.
async fn schema(db: &TestDatabase, backend: Backend) -> BTreeMap<String, BTreeSet<String>> {
    let rows: Vec<(String, String)> = match backend {
        Backend::Sqlite => {
            let mut c = <sqlx::SqliteConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::query_as(
                "SELECT m.name, p.name FROM sqlite_master m JOIN pragma_table_xinfo(m.name) p
                 WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
        }
        _ => {
            let mut c = <sqlx::PgConnection as sqlx::Connection>::connect(&db.url)
                .await
                .unwrap();
            sqlx::query_as(
                "SELECT table_name::text, column_name::text FROM information_schema.columns
                 WHERE table_schema = 'public' AND table_name NOT LIKE '_sqlx%'",
            )
            .fetch_all(&mut c)
            .await
            .unwrap()
        }
    };
    let mut tables: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (table, column) in rows {
        tables.entry(table).or_default().insert(column);
    }
    tables
}

#[tokio::test]
async fn both_databases_store_the_same_tables_and_columns() {
    let mut schemas = Vec::new();
    for backend in [Backend::Sqlite, Backend::Postgres] {
        let db = TestDatabase::create(backend).await;
        let database = holdfast::storage::Database::connect(&db.url, 2).await.unwrap();
        database.migrate().await.unwrap();
        database.close().await;
        schemas.push(schema(&db, backend).await);
    }
    assert!(schemas[0].contains_key("incidents"), "{:?}", schemas[0].keys());
    assert_eq!(schemas[0], schemas[1], "SQLite (left) and PostgreSQL (right) differ");
}
