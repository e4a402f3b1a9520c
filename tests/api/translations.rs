//! The translation files (`locales/<lang>/<area>.ftl`): every one parses and
//! is built into the binary, every message and attribute exists in every
//! language, and every message the code asks for is defined.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use holdfast::edge::error::ProblemKind;
use holdfast::edge::l10n::{self, FILES};
use holdfast::edge::web::Lang;

/// The language every other is held against: the code is written with it.
const REFERENCE: &str = "en";

/// `language → file → message or attribute (id, id.attribute) → variables`.
type Catalogs = BTreeMap<String, BTreeMap<String, BTreeMap<String, Vec<String>>>>;

fn catalogs(files: &[(&str, &str, &str)]) -> Catalogs {
    let mut catalogs = Catalogs::new();
    for (lang, file, source) in files {
        let resource = l10n::parse(source).unwrap_or_else(|e| panic!("locales/{lang}/{file}: {e}"));
        catalogs
            .entry((*lang).to_owned())
            .or_default()
            .insert((*file).to_owned(), l10n::messages(&resource));
    }
    catalogs
}

/// What some language has that the reference has not, or lacks that it has,
/// file by file; and any variable a translation uses that the reference
/// (and so the code) does not pass.
fn differences(catalogs: &Catalogs) -> Vec<String> {
    let reference = &catalogs[REFERENCE];
    let empty = BTreeMap::new();
    let mut found = Vec::new();
    for (lang, files) in catalogs.iter().filter(|(lang, _)| *lang != REFERENCE) {
        let names: BTreeSet<&String> = files.keys().chain(reference.keys()).collect();
        for name in names {
            let ours = files.get(name).unwrap_or(&empty);
            let theirs = reference.get(name).unwrap_or(&empty);
            for id in theirs.keys().filter(|id| !ours.contains_key(*id)) {
                found.push(format!("locales/{lang}/{name} lacks {id}"));
            }
            for (id, variables) in ours {
                let Some(expected) = theirs.get(id) else {
                    found.push(format!(
                        "locales/{lang}/{name} has {id}, which locales/{REFERENCE}/{name} has not"
                    ));
                    continue;
                };
                for variable in variables.iter().filter(|v| !expected.contains(v)) {
                    found.push(format!(
                        "locales/{lang}/{name}: {id} uses ${variable}, which the code does not pass"
                    ));
                }
            }
        }
    }
    found
}

/// Every id the code asks a `Text` for (`t.get("…")`, `t.with("…", …)`),
/// with the file that asks.
fn ids_asked_for(sources: &[(String, String)]) -> BTreeSet<(String, String)> {
    let mut asked = BTreeSet::new();
    for (file, code) in sources {
        for call in ["t.get(\"", "t.with(\""] {
            for (at, _) in code.match_indices(call) {
                if code[..at].ends_with(|c: char| c.is_ascii_alphanumeric() || c == '_') {
                    continue;
                }
                let rest = &code[at + call.len()..];
                let id = &rest[..rest.find('"').unwrap()];
                asked.insert((file.clone(), id.to_owned()));
            }
        }
    }
    asked
}

/// The ids asked for that no file of the reference language defines.
fn undefined(asked: &BTreeSet<(String, String)>, catalogs: &Catalogs) -> Vec<String> {
    let defined: BTreeSet<&String> = catalogs[REFERENCE]
        .values()
        .flat_map(|messages| messages.keys())
        .collect();
    asked
        .iter()
        .filter(|(_, id)| !defined.contains(id))
        .map(|(file, id)| format!("{file} asks for {id}"))
        .collect()
}

/// Every `.rs` file under `src/`, with its path, without its unit tests
/// (which ask for missing ids on purpose) and comments.
fn sources() -> Vec<(String, String)> {
    fn walk(dir: &Path, out: &mut Vec<(String, String)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, out);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let text = std::fs::read_to_string(&path).unwrap();
                let code = text.split("#[cfg(test)]\nmod tests").next().unwrap();
                let code: Vec<&str> = code.lines().filter(|l| !l.trim_start().starts_with("//")).collect();
                out.push((path.display().to_string(), code.join("\n")));
            }
        }
    }
    let mut out = Vec::new();
    walk(&Path::new(env!("CARGO_MANIFEST_DIR")).join("src"), &mut out);
    out
}

#[test]
fn every_translation_file_parses_and_every_one_is_built_into_the_binary() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("locales");
    let mut on_disk = BTreeSet::new();
    for dir in std::fs::read_dir(&root).unwrap() {
        let dir = dir.unwrap().path();
        let lang = dir.file_name().unwrap().to_string_lossy().into_owned();
        for file in std::fs::read_dir(&dir).unwrap() {
            let file = file.unwrap().path();
            let name = file.file_name().unwrap().to_string_lossy().into_owned();
            assert!(name.ends_with(".ftl"), "locales/{lang}/{name} is not a Fluent file");
            let source = std::fs::read_to_string(&file).unwrap();
            if let Err(errors) = l10n::parse(&source) {
                panic!("locales/{lang}/{name} does not parse: {errors}");
            }
            on_disk.insert((lang.clone(), name));
        }
    }
    let built_in: BTreeSet<(String, String)> = FILES
        .iter()
        .map(|(lang, name, _)| ((*lang).to_owned(), (*name).to_owned()))
        .collect();
    assert_eq!(on_disk, built_in, "locales/ and the files listed in l10n::FILES differ");
    let languages: BTreeSet<&str> = FILES.iter().map(|(lang, _, _)| *lang).collect();
    let served: BTreeSet<&str> = Lang::ALL.iter().map(|lang| lang.code()).collect();
    assert_eq!(languages, served, "every language served has its files, and only those");
    l10n::load().unwrap();
}

#[test]
fn every_message_and_attribute_exists_in_every_language() {
    let problems = differences(&catalogs(FILES));

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_message_or_attribute_missing_from_one_language_is_found() {
    let en = "hello = Hello\nbye = Bye\n    .title = Goodbye\nwait = Wait { $minutes } minutes\n";
    let ko = "hello = 안녕\nbye = 잘 가\nwait = { $seconds }초 기다리세요\nextra = 더\n";

    let problems = differences(&catalogs(&[
        ("en", "a.ftl", en),
        ("ko", "a.ftl", ko),
        ("ko", "b.ftl", "x = X\n"),
    ]));

    assert_eq!(
        problems,
        [
            "locales/ko/a.ftl lacks bye.title",
            "locales/ko/a.ftl has extra, which locales/en/a.ftl has not",
            "locales/ko/a.ftl: wait uses $seconds, which the code does not pass",
            "locales/ko/b.ftl has x, which locales/en/b.ftl has not",
        ]
    );
}

#[test]
fn every_message_the_code_asks_for_is_defined() {
    let catalogs = catalogs(FILES);
    let mut asked = ids_asked_for(&sources());
    assert!(
        asked.len() > 200,
        "only {} ids found: is the scan still right?",
        asked.len()
    );
    for kind in ProblemKind::ALL {
        let id = format!("problem-{}", kind.slug());
        for key in [format!("{id}.happened"), format!("{id}.to-do"), id] {
            asked.insert(("error.rs (ProblemKind::text)".to_owned(), key));
        }
    }

    let problems = undefined(&asked, &catalogs);

    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn an_id_no_file_defines_is_found() {
    let code = r#"let t = Text::of(lang); html! { (t.get("queue-heading")) (t.with("no-such-message", [("n", 1.into())])) (not_t.get("x")) }"#;

    let asked = ids_asked_for(&[("view.rs".to_owned(), code.to_owned())]);
    let problems = undefined(&asked, &catalogs(FILES));

    assert_eq!(asked.len(), 2);
    assert_eq!(problems, ["view.rs asks for no-such-message"]);
}

#[test]
fn a_file_that_does_not_parse_is_reported() {
    let error = l10n::parse("fine = Fine\nbroken = { $unclosed\n").unwrap_err();

    assert!(!error.is_empty());
}
