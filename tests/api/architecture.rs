//! Checks on the shape of the code and the schema that no compiler enforces:
//! no circle between files or folders of `src/`, and both databases store
//! the same tables.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use crate::helpers::{Backend, TestDatabase};

/// Modules (as `a::b`) and the source of each, test modules and comments removed.
type Modules = BTreeMap<String, String>;
/// Which modules each module uses.
type Graph = BTreeMap<String, BTreeSet<String>>;

/// Every module of `src/` with the source of its file.
fn modules() -> Modules {
    fn walk(dir: &Path, root: &Path, out: &mut Modules) {
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
                out.insert(name, code_of(&std::fs::read_to_string(&path).unwrap()));
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

/// A file's code without its test module and its comments.
fn code_of(text: &str) -> String {
    let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
    code.lines()
        .map(|line| line.split("//").next().unwrap())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The module a path such as `runs::engine::advance` lives in.
fn resolve<'a>(path: &str, modules: &'a Modules) -> Option<&'a str> {
    let parts: Vec<&str> = path.split("::").collect();
    (1..=parts.len())
        .rev()
        .map(|n| parts[..n].join("::"))
        .find_map(|candidate| modules.get_key_value(&candidate).map(|(k, _)| k.as_str()))
}

fn ident_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// The `use` declarations of some code, each expanded to its paths (groups
/// `a::{b, c::d}` opened, `self` in a group meaning the group's own path),
/// with the name each is known by (its last part, or what follows `as`);
/// and the code with those declarations taken out.
fn uses_of(code: &str) -> (Vec<(String, String)>, String) {
    fn expand(prefix: &str, tree: &str, out: &mut Vec<(String, String)>) {
        let tree = tree.trim();
        if let Some(open) = tree.find('{') {
            let head = tree[..open].trim().trim_end_matches("::");
            let inner = &tree[open + 1..tree.rfind('}').unwrap_or(tree.len())];
            let prefix = join(prefix, head);
            let mut depth = 0;
            let mut item = String::new();
            for c in inner.chars().chain([',']) {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        if !item.trim().is_empty() {
                            expand(&prefix, &item, out);
                        }
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            return;
        }
        let (path, alias) = match tree.split_once(" as ") {
            Some((path, alias)) => (path.trim(), Some(alias.trim())),
            None => (tree, None),
        };
        let full = if path == "self" {
            prefix.to_owned()
        } else {
            join(prefix, path)
        };
        let name = alias.unwrap_or_else(|| full.rsplit("::").next().unwrap()).to_owned();
        out.push((full, name));
    }
    fn join(prefix: &str, path: &str) -> String {
        match (prefix.is_empty(), path.is_empty()) {
            (true, _) => path.to_owned(),
            (_, true) => prefix.to_owned(),
            _ => format!("{prefix}::{path}"),
        }
    }
    let mut uses = Vec::new();
    let mut rest = String::new();
    let mut at = 0;
    while let Some(found) = code[at..].find("use ") {
        let start = at + found;
        let statement_start = code[..start].trim_end().ends_with([';', '}', '{', ']', ')']) || {
            let before = code[..start].trim_end();
            before.is_empty()
                || before.ends_with("pub")
                || before.ends_with("pub(crate)")
                || before.ends_with("pub(super)")
        };
        if !statement_start || code[..start].ends_with(ident_char) {
            rest.push_str(&code[at..start + 4]);
            at = start + 4;
            continue;
        }
        let end = start + code[start..].find(';').unwrap_or(code.len() - start);
        rest.push_str(&code[at..start]);
        let tree: String = code[start + 4..end].split_whitespace().collect::<Vec<_>>().join(" ");
        let tree = tree.replace(":: ", "::").replace(" ::", "::");
        expand("", &tree, &mut uses);
        at = (end + 1).min(code.len());
    }
    rest.push_str(&code[at..]);
    (uses, rest)
}

/// The modules each module uses: `crate::…`, `super::…` and `self::…` paths,
/// and paths that start with a name a `use` brought in (`use super::views;
/// views::queue::page`) or with a child module's name.
///
/// A module's use of its own ancestors (`super::UNFREEZE_PLAYBOOK` in
/// `unfreeze::flow`) is not counted: the folder's root file declares its
/// children and is the folder's front door, so a child reading a constant of
/// it ties nothing that the module tree does not already tie. Circles between
/// siblings, and between folders at every depth, are what this test is for.
fn dependencies(modules: &Modules) -> Graph {
    let mut graph = Graph::new();
    for (name, code) in modules {
        let (uses, rest) = uses_of(code);
        let children: BTreeSet<&str> = modules
            .keys()
            .filter_map(|other| other.strip_prefix(name.as_str())?.strip_prefix("::"))
            .filter(|child| !child.contains("::"))
            .collect();
        // A path as this module writes it, made absolute (no leading `crate`).
        let absolute = |path: &str, aliases: &BTreeMap<String, String>| -> Option<String> {
            let mut parts: Vec<&str> = path.split("::").filter(|p| !p.is_empty()).collect();
            match *parts.first()? {
                "crate" => Some(parts[1..].join("::")),
                "self" => Some(format!("{name}::{}", parts[1..].join("::"))),
                "super" => {
                    let mut base: Vec<&str> = name.split("::").collect();
                    while parts.first() == Some(&"super") {
                        parts.remove(0);
                        base.pop()?;
                    }
                    base.extend(parts);
                    Some(base.join("::"))
                }
                first if aliases.contains_key(first) => Some(format!("{}::{}", aliases[first], parts[1..].join("::"))),
                first if children.contains(first) => Some(format!("{name}::{}", parts.join("::"))),
                _ => None,
            }
        };
        let mut aliases = BTreeMap::new();
        let mut targets = Vec::new();
        for (path, alias) in &uses {
            if let Some(full) = absolute(path, &aliases) {
                let full = full.trim_end_matches("::").to_owned();
                aliases.insert(alias.clone(), full.clone());
                targets.push(full);
            }
        }
        let mut at = 0;
        while at < rest.len() {
            let Some(found) = rest[at..].find(|c: char| ident_char(c)) else {
                break;
            };
            let start = at + found;
            let length = rest[start..]
                .find(|c: char| !(ident_char(c) || c == ':'))
                .unwrap_or(rest.len() - start);
            let path = rest[start..start + length].trim_end_matches(':');
            let preceded = rest[..start].ends_with(':') || rest[..start].ends_with(ident_char);
            if path.contains("::")
                && !preceded
                && let Some(full) = absolute(path, &aliases)
            {
                targets.push(full);
            }
            at = start + length.max(1);
        }
        let uses: BTreeSet<String> = targets
            .iter()
            .filter_map(|path| resolve(path.trim_end_matches("::"), modules))
            .filter(|target| target != name && !name.starts_with(&format!("{target}::")))
            .map(str::to_owned)
            .collect();
        graph.insert(name.clone(), uses);
    }
    graph
}

/// The graph between the folders (and files) `depth` levels down: a module
/// counts as its first `depth` parts, so `console::views::queue` is
/// `console::views` at depth 2 and `console` at depth 1.
fn folders(graph: &Graph, depth: usize) -> Graph {
    let unit = |module: &str| module.split("::").take(depth).collect::<Vec<_>>().join("::");
    let mut folded = Graph::new();
    for (from, uses) in graph {
        let entry = folded.entry(unit(from)).or_default();
        for to in uses {
            if unit(to) != unit(from) {
                entry.insert(unit(to));
            }
        }
    }
    folded
}

/// A circle through `start`, if there is one.
fn circle_through(graph: &Graph, start: &str) -> Option<Vec<String>> {
    fn search(graph: &Graph, start: &str, at: &str, path: &mut Vec<String>, seen: &mut BTreeSet<String>) -> bool {
        for next in graph.get(at).into_iter().flatten() {
            if next == start {
                return true;
            }
            if seen.insert(next.clone()) {
                path.push(next.clone());
                if search(graph, start, next, path, seen) {
                    return true;
                }
                path.pop();
            }
        }
        false
    }
    let mut path = vec![start.to_owned()];
    search(graph, start, start, &mut path, &mut BTreeSet::new()).then_some(path)
}

/// Every circle between files, and between folders at every depth, in words.
fn circles(modules: &Modules) -> Vec<String> {
    let graph = dependencies(modules);
    let deepest = modules.keys().map(|m| m.split("::").count()).max().unwrap_or(1);
    let mut found = BTreeSet::new();
    let levels =
        std::iter::once(("files", graph.clone())).chain((1..deepest).map(|depth| ("folders", folders(&graph, depth))));
    for (what, graph) in levels {
        for module in graph.keys() {
            if let Some(mut circle) = circle_through(&graph, module) {
                // One wording per circle, whichever member it was found from.
                let first = circle.iter().enumerate().min_by_key(|(_, m)| *m).unwrap().0;
                circle.rotate_left(first);
                found.insert(format!("{what}: {} -> {}", circle.join(" -> "), circle[0]));
            }
        }
    }
    found.into_iter().collect()
}

#[test]
fn no_files_or_folders_use_each_other_in_a_circle() {
    let modules = modules();
    let graph = dependencies(&modules);
    assert!(
        graph["runs::engine"].contains("storage") && graph["app"].contains("state"),
        "the graph was not read"
    );
    let circles = circles(&modules);
    assert!(circles.is_empty(), "circles of modules:\n{}", circles.join("\n"));
}

/// A small tree of modules, as file name and code.
fn tree(files: &[(&str, &str)]) -> Modules {
    files
        .iter()
        .map(|(name, code)| (name.to_string(), code_of(code)))
        .collect()
}

#[test]
fn a_view_that_imports_its_handler_through_a_use_of_super_is_a_circle() {
    let modules = tree(&[
        ("console", "pub mod queue;\npub mod views;"),
        (
            "console::queue",
            "use super::views::{self, Viewer};\nfn show() { views::queue::page(); }",
        ),
        ("console::views", "pub mod queue;\npub struct Viewer;"),
        (
            "console::views::queue",
            "use crate::console::queue::{COUNT_CAP, Choice};\npub fn page() {}",
        ),
    ]);
    let circles = circles(&modules);
    assert!(
        circles.contains(&"files: console::queue -> console::views::queue -> console::queue".to_owned()),
        "{circles:?}"
    );
}

#[test]
fn a_feature_and_a_module_that_call_each_other_through_folders_are_a_circle() {
    let modules = tree(&[
        (
            "dispatch",
            "use crate::unfreeze;\npub fn run_finished() { unfreeze::outcome::finished(); }",
        ),
        ("unfreeze", "pub mod flow;\npub mod outcome;"),
        (
            "unfreeze::flow",
            "use crate::dispatch;\nfn answer() { dispatch::advance_run(); }",
        ),
        ("unfreeze::outcome", "pub fn finished() {}"),
    ]);
    let circles = circles(&modules);
    assert!(
        circles.contains(&"folders: dispatch -> unfreeze -> dispatch".to_owned()),
        "{circles:?}"
    );
}

#[test]
fn a_state_that_imports_the_features_that_use_it_is_a_circle() {
    let modules = tree(&[
        ("state", "use crate::runs::waker::RunWaker;\npub struct AppState;"),
        ("runs", "pub mod engine;\npub mod waker;"),
        ("runs::waker", "pub struct RunWaker;"),
        ("runs::engine", "use crate::state::AppState;"),
    ]);
    let circles = circles(&modules);
    assert!(
        circles.contains(&"folders: runs -> state -> runs".to_owned()),
        "{circles:?}"
    );
}

#[test]
fn modules_that_only_point_down_are_no_circle() {
    let modules = tree(&[
        ("handles", "pub mod run_waker;"),
        ("handles::run_waker", "pub struct RunWaker;"),
        ("state", "use crate::handles::RunWaker;\npub struct AppState;"),
        ("runs", "pub mod engine;"),
        (
            "runs::engine",
            "use super::super::state::AppState;\nuse crate::handles;\nfn f() { handles::run_waker::RunWaker; }",
        ),
        ("console", "pub mod queue;\npub mod views;"),
        (
            "console::queue",
            "use super::views;\nfn show() { views::queue::page(); }",
        ),
        ("console::views", "pub mod queue;"),
        ("console::views::queue", "pub fn page() {}"),
    ]);
    let graph = dependencies(&modules);
    assert!(graph["runs::engine"].contains("state"), "{graph:?}");
    assert!(graph["runs::engine"].contains("handles::run_waker"), "{graph:?}");
    assert!(graph["console::queue"].contains("console::views::queue"), "{graph:?}");
    assert_eq!(circles(&modules), Vec::<String>::new());
}

/// The layers of `src/`, bottom up; everything else at the top is a feature,
/// except `app` and `cli`, which sit on top of them all.
const LAYERS: &[&str] = &["domain", "platform", "storage", "state", "edge"];
const ON_TOP: &[&str] = &["app", "cli"];

/// One row of ARCHITECTURE.md's code map: the modules it is about and the
/// modules they must not use.
#[derive(Debug)]
struct Rule {
    subjects: Vec<String>,
    forbidden: Vec<String>,
}

/// The names written in backticks in a cell of the code map, as module paths
/// (`runs/engine` and `runs::engine` alike, a trailing `/` dropped).
fn names_in(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|name| name.replace('/', "::").trim_end_matches("::").to_owned())
        .filter(|name| !name.is_empty())
        .collect()
}

/// The rows of the table under `## Code map` in `map` (ARCHITECTURE.md's text).
fn code_map(map: &str) -> Vec<Rule> {
    let section = map
        .split("\n## Code map")
        .nth(1)
        .expect("ARCHITECTURE.md has a code map");
    section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").collect();
            assert_eq!(cells.len(), 3, "a code map row has three cells: {line}");
            Rule {
                subjects: names_in(cells[0]),
                forbidden: names_in(cells[2]),
            }
        })
        .collect()
}

fn within(module: &str, prefix: &str) -> bool {
    module == prefix || module.starts_with(&format!("{prefix}::"))
}

/// What a rule forbids, spelled out: `features` is every feature but the
/// subject's own, `handlers` every feature's `api` outside the subject.
fn forbidden_modules(rule: &Rule, subject: &str, modules: &Modules) -> Vec<String> {
    let top = subject.split("::").next().unwrap();
    let features = modules
        .keys()
        .map(|m| m.split("::").next().unwrap())
        .filter(|m| !LAYERS.contains(m) && !ON_TOP.contains(m) && *m != top)
        .map(str::to_owned)
        .collect::<BTreeSet<_>>();
    rule.forbidden
        .iter()
        .flat_map(|name| match name.as_str() {
            "features" => features.iter().cloned().collect::<Vec<_>>(),
            "handlers" => modules
                .keys()
                .filter(|m| m.ends_with("::api") && !within(m, subject))
                .cloned()
                .collect(),
            _ => vec![name.clone()],
        })
        .collect()
}

/// Every import the code map forbids, in words.
fn forbidden_uses(modules: &Modules, rules: &[Rule]) -> Vec<String> {
    let graph = dependencies(modules);
    let mut found = Vec::new();
    for rule in rules {
        for subject in &rule.subjects {
            let forbidden = forbidden_modules(rule, subject, modules);
            for (module, uses) in graph.iter().filter(|(m, _)| within(m, subject)) {
                for used in uses.iter().filter(|u| !within(u, subject)) {
                    if let Some(rule) = forbidden.iter().find(|f| within(used, f)) {
                        found.push(format!(
                            "{module} uses {used}; the code map says `{subject}` must not use `{rule}`"
                        ));
                    }
                }
            }
        }
    }
    found
}

fn architecture_md() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("ARCHITECTURE.md")).unwrap()
}

#[test]
fn no_module_uses_what_the_code_map_forbids() {
    let modules = modules();
    let rules = code_map(&architecture_md());
    assert!(rules.len() > 20, "the code map was not read: {rules:?}");
    let found = forbidden_uses(&modules, &rules);
    assert!(found.is_empty(), "imports the code map forbids:\n{}", found.join("\n"));
}

#[test]
fn the_code_map_names_every_module_and_only_modules_that_exist_each_with_what_it_must_not_use() {
    let modules = modules();
    let rules = code_map(&architecture_md());
    let subjects: Vec<&String> = rules.iter().flat_map(|rule| &rule.subjects).collect();
    for subject in &subjects {
        assert!(
            modules.keys().any(|m| within(m, subject)),
            "the code map names `{subject}`, which is no module of src/"
        );
    }
    for top in modules
        .keys()
        .map(|m| m.split("::").next().unwrap())
        .collect::<BTreeSet<_>>()
    {
        assert!(
            subjects.iter().any(|s| *s == top),
            "the code map has no row for `{top}`"
        );
    }
    for rule in &rules {
        assert!(
            !rule.forbidden.is_empty(),
            "{:?} says nothing it must not use",
            rule.subjects
        );
        for name in &rule.forbidden {
            assert!(
                ["features", "handlers"].contains(&name.as_str()) || modules.keys().any(|m| within(m, name)),
                "{:?} must not use `{name}`, which is no module of src/",
                rule.subjects
            );
        }
    }
}

#[test]
fn a_use_the_code_map_forbids_is_caught_through_a_use_of_super_and_a_group() {
    let modules = tree(&[
        ("domain", "pub mod incident;"),
        (
            "domain::incident",
            "use super::super::storage;\nfn f() { storage::incidents::write(); }",
        ),
        ("storage", "pub mod incidents;"),
        ("storage::incidents", "pub fn write() {}"),
        ("holds", "pub mod api;"),
        (
            "holds::api",
            "use crate::{runs::{engine::{self}}};\nfn g() { engine::advance(); }",
        ),
        ("runs", "pub mod engine;"),
        ("runs::engine", "pub fn advance() {}"),
        ("console", "use crate::holds::api::routes;"),
    ]);
    let map = "\n## Code map\n\n| module | its job | must not use |\n|---|---|---|\n\
        | `domain/` | rules | `storage` |\n\
        | `holds` | holds | `runs::engine` |\n\
        | `console/` | pages | `handlers` |\n";
    let found = forbidden_uses(&modules, &code_map(map));
    assert_eq!(
        found,
        vec![
            "domain::incident uses storage; the code map says `domain` must not use `storage`",
            "domain::incident uses storage::incidents; the code map says `domain` must not use `storage`",
            "holds::api uses runs::engine; the code map says `holds` must not use `runs::engine`",
            "console uses holds::api; the code map says `console` must not use `holds::api`",
        ]
    );
}

#[test]
fn every_file_in_a_folder_has_a_whole_row_in_the_map_and_every_row_a_file() {
    let modules = modules();
    let map = architecture_md();
    let section = map
        .split("\n## Files within the folders")
        .nth(1)
        .expect("ARCHITECTURE.md lists the files within the folders");
    let rows: BTreeMap<String, String> = section
        .lines()
        .skip_while(|line| !line.starts_with('|'))
        .take_while(|line| line.starts_with('|'))
        .skip(2)
        .map(|line| {
            let (name, job) = line.trim_matches('|').split_once(" | ").expect("two cells");
            (names_in(name).concat(), job.trim().to_owned())
        })
        .collect();
    for (name, job) in &rows {
        assert!(
            modules.contains_key(name),
            "ARCHITECTURE.md has a row for `{name}`, which is no file of src/"
        );
        assert!(
            job.ends_with('.') || job.ends_with(".)"),
            "the row of `{name}` is not a whole sentence: {job}"
        );
    }
    for module in modules.keys().filter(|m| m.contains("::")) {
        assert!(
            rows.contains_key(module),
            "ARCHITECTURE.md has no row for the file `{module}`"
        );
    }
}

#[test]
fn features_never_reach_the_router() {
    let modules = modules();
    let graph = dependencies(&modules);
    for (module, uses) in &graph {
        assert!(
            within(module, "cli") || !uses.contains("app"),
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
