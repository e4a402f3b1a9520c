//! Every word a page shows, in every language: the console, the holder's
//! pages and the problem pages read their text from Project Fluent files,
//! `locales/<lang>/<area>.ftl`, so a translator changes words without
//! touching Rust. The files are embedded in the binary when it is built;
//! nothing is read from disk at run time.
//!
//! A page takes the [`Text`] of its language and asks for messages by id:
//! `t.get("queue-heading")`, an attribute as `t.get("problem-timeout.to-do")`,
//! and a message with variables as `t.with("approvals-needed", [("count",
//! needed.into())])`. Bind it as `t`: a test collects every `t.get("…")` and
//! `t.with("…")` in `src/` and fails when no file defines the id.
//!
//! Each language's files are parsed into one bundle once, on first use (the
//! server asks at start, so a broken file stops the start), and every
//! message that takes no variables is formatted then, once: asking for one is
//! a map lookup that returns a `&'static str`.

use std::collections::{BTreeMap, HashMap};
use std::sync::LazyLock;

use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::resolver::ResolverError;
use fluent_bundle::resolver::errors::ReferenceKind;
use fluent_bundle::{FluentArgs, FluentError, FluentResource, FluentValue};
use fluent_syntax::ast;

use crate::edge::web::Lang;

/// The translation files, embedded at compile time: `(language, file, text)`.
macro_rules! embed {
    ($($lang:literal / $file:literal),* $(,)?) => {
        &[$(($lang, $file, include_str!(concat!("../../locales/", $lang, "/", $file))),)*]
    };
}

pub const FILES: &[(&str, &str, &str)] = embed![
    "en" / "console.ftl",
    "en" / "holder.ftl",
    "en" / "problems.ftl",
    "ko" / "console.ftl",
    "ko" / "holder.ftl",
    "ko" / "problems.ftl",
];

/// The words of one language.
#[derive(Clone, Copy)]
pub struct Text {
    catalog: &'static Catalog,
}

impl Text {
    pub fn of(lang: Lang) -> Self {
        let catalog = catalogs()
            .iter()
            .find(|catalog| catalog.lang == lang)
            .unwrap_or_else(|| panic!("no translation files for {}", lang.code()));
        Text { catalog }
    }

    /// A message that takes no variables (`id`), or one of its attributes
    /// (`id.attribute`). The words live as long as `id` does, which for a
    /// literal id is for ever.
    pub fn get(self, id: &str) -> &str {
        self.find(id).unwrap_or_else(|| missing(self.catalog.lang, id))
    }

    /// A message that may have no words in this language: text keyed by
    /// data, such as an audit action.
    pub fn find(self, id: &str) -> Option<&'static str> {
        self.catalog.fixed.get(id).map(String::as_str)
    }

    /// A message (or `id.attribute`) with its variables, by name.
    pub fn with<'a>(self, id: &str, args: impl IntoIterator<Item = (&'a str, FluentValue<'a>)>) -> String {
        let bundle = &self.catalog.bundle;
        let (message, attribute) = split(id);
        let Some(message) = bundle.get_message(message) else {
            return missing(self.catalog.lang, id).to_owned();
        };
        let pattern = match attribute {
            Some(attribute) => message.get_attribute(attribute).map(|a| a.value()),
            None => message.value(),
        };
        let Some(pattern) = pattern else {
            return missing(self.catalog.lang, id).to_owned();
        };
        let args: FluentArgs = args.into_iter().collect();
        let mut errors = Vec::new();
        let text = bundle.format_pattern(pattern, Some(&args), &mut errors).into_owned();
        if !errors.is_empty() {
            if cfg!(debug_assertions) {
                panic!("{id} ({}) did not format: {errors:?}", self.catalog.lang.code());
            }
            tracing::error!(
                id,
                lang = self.catalog.lang.code(),
                "a message did not format: {errors:?}"
            );
        }
        text
    }
}

/// What a page shows for an id no file defines: the id itself (Fluent's own
/// convention), logged. In debug builds, and so in every test, a panic.
fn missing(lang: Lang, id: &str) -> &str {
    if cfg!(debug_assertions) {
        panic!("no message {id} (without variables) in {}", lang.code());
    }
    tracing::error!(id, lang = lang.code(), "a message is missing");
    id
}

/// `id.attribute` into its two parts (Fluent ids contain no dot).
fn split(id: &str) -> (&str, Option<&str>) {
    match id.split_once('.') {
        Some((message, attribute)) => (message, Some(attribute)),
        None => (id, None),
    }
}

/// One language's bundle, and its messages without variables formatted once.
struct Catalog {
    lang: Lang,
    bundle: FluentBundle<FluentResource>,
    /// `id` or `id.attribute` → its words.
    fixed: HashMap<String, String>,
}

static CATALOGS: LazyLock<Result<Vec<Catalog>, String>> =
    LazyLock::new(|| Lang::ALL.into_iter().map(Catalog::load).collect());

/// Parses every translation file, once: an error names the file and the
/// message that does not parse or resolve. The server calls it at start.
pub fn load() -> anyhow::Result<()> {
    match &*CATALOGS {
        Ok(_) => Ok(()),
        Err(problem) => anyhow::bail!("The translation files are broken: {problem}"),
    }
}

fn catalogs() -> &'static [Catalog] {
    match &*CATALOGS {
        Ok(catalogs) => catalogs,
        Err(problem) => panic!("The translation files are broken: {problem}"),
    }
}

impl Catalog {
    fn load(lang: Lang) -> Result<Self, String> {
        let code = lang.code();
        let langid = code
            .parse()
            .map_err(|e| format!("{code} is not a language identifier: {e}"))?;
        let mut bundle = FluentBundle::new_concurrent(vec![langid]);
        // Fluent wraps every placeable in Unicode isolation marks (U+2068 …
        // U+2069) so right-to-left text inside left-to-right text (or the
        // reverse) keeps its direction. Holdfast's languages are both
        // left-to-right, pages declare their `lang`, and the marks would end
        // up in attribute values (console.js's templates), in the problem+json
        // `title` and in text compared byte for byte: they are left out.
        bundle.set_use_isolating(false);
        let mut ids = Vec::new();
        for (file_lang, name, source) in FILES {
            if *file_lang != code {
                continue;
            }
            let resource = parse(source).map_err(|errors| format!("locales/{code}/{name}: {errors}"))?;
            ids.extend(messages(&resource).into_keys());
            bundle
                .add_resource(resource)
                .map_err(|errors| format!("locales/{code}/{name}: {errors:?}"))?;
        }
        if ids.is_empty() {
            return Err(format!("no translation files for {code}"));
        }
        let mut fixed = HashMap::new();
        for id in ids {
            let (message, attribute) = split(&id);
            let message = bundle.get_message(message).ok_or_else(|| format!("{id} vanished"))?;
            let pattern = match attribute {
                Some(attribute) => message.get_attribute(attribute).map(|a| a.value()),
                None => message.value(),
            };
            let Some(pattern) = pattern else { continue };
            let mut errors = Vec::new();
            let text = bundle.format_pattern(pattern, None, &mut errors).into_owned();
            // A message that uses variables is formatted when it is asked
            // for; any other error is a broken message.
            let takes_variables = errors.iter().all(|error| {
                matches!(
                    error,
                    FluentError::ResolverError(ResolverError::Reference(ReferenceKind::Variable { .. }))
                )
            });
            if !takes_variables {
                return Err(format!("locales/{code}: {id}: {errors:?}"));
            }
            if errors.is_empty() {
                fixed.insert(id, text);
            }
        }
        Ok(Catalog { lang, bundle, fixed })
    }
}

/// One translation file, parsed; its syntax errors as one sentence.
pub fn parse(source: &str) -> Result<FluentResource, String> {
    FluentResource::try_new(source.to_owned()).map_err(|(_, errors)| {
        errors
            .iter()
            .map(|e| format!("{:?} at bytes {:?}", e.kind, e.pos))
            .collect::<Vec<_>>()
            .join("; ")
    })
}

/// Every message of a file and each of its attributes (`id` and
/// `id.attribute`), with the variables each one uses.
pub fn messages(resource: &FluentResource) -> BTreeMap<String, Vec<String>> {
    let mut found = BTreeMap::new();
    for entry in resource.entries() {
        let ast::Entry::Message(message) = entry else { continue };
        let id = message.id.name;
        if let Some(value) = &message.value {
            found.insert(id.to_owned(), variables(value));
        }
        for attribute in &message.attributes {
            found.insert(format!("{id}.{}", attribute.id.name), variables(&attribute.value));
        }
    }
    found
}

/// The variables a pattern uses, sorted, each once.
fn variables(pattern: &ast::Pattern<&str>) -> Vec<String> {
    fn inline(expression: &ast::InlineExpression<&str>, out: &mut Vec<String>) {
        match expression {
            ast::InlineExpression::VariableReference { id } => out.push(id.name.to_owned()),
            ast::InlineExpression::Placeable { expression } => placeable(expression, out),
            ast::InlineExpression::FunctionReference { arguments, .. } => {
                arguments.positional.iter().for_each(|e| inline(e, out));
                arguments.named.iter().for_each(|a| inline(&a.value, out));
            }
            _ => {}
        }
    }
    fn placeable(expression: &ast::Expression<&str>, out: &mut Vec<String>) {
        match expression {
            ast::Expression::Inline(expression) => inline(expression, out),
            ast::Expression::Select { selector, variants } => {
                inline(selector, out);
                for variant in variants {
                    walk(&variant.value, out);
                }
            }
        }
    }
    fn walk(pattern: &ast::Pattern<&str>, out: &mut Vec<String>) {
        for element in &pattern.elements {
            if let ast::PatternElement::Placeable { expression } = element {
                placeable(expression, out);
            }
        }
    }
    let mut out = Vec::new();
    walk(pattern, &mut out);
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_are_filled_in_without_isolation_marks() {
        let en = Text::of(Lang::En);
        assert_eq!(
            en.with("approvals-needed", [("count", 2.into())]),
            "approvals needed: 2"
        );
        assert_eq!(
            en.with("run-playbook", [("title", "Freeze everything".into())]),
            "Run Freeze everything"
        );
        assert_eq!(Text::of(Lang::Ko).with("sla-left", [("time", "{}".into())]), "{} 남음");
    }

    #[test]
    fn english_counts_choose_their_plural_and_korean_has_one_form() {
        let en = Text::of(Lang::En);
        assert_eq!(en.with("live-incidents", [("count", 1.into())]), "live incident");
        assert_eq!(en.with("live-incidents", [("count", 3.into())]), "live incidents");
        assert_eq!(en.with("holder-wait-minutes", [("minutes", 1.into())]), "1 minute");
        assert_eq!(en.with("holder-wait-minutes", [("minutes", 12.into())]), "12 minutes");
        assert_eq!(
            Text::of(Lang::Ko).with("live-incidents", [("count", 1.into())]),
            "건 진행 중"
        );
    }

    #[test]
    fn attributes_are_asked_for_after_a_dot_and_literal_braces_survive() {
        let en = Text::of(Lang::En);
        assert_eq!(en.get("problem-code-expired"), "Code expired");
        assert_eq!(en.get("problem-code-expired.to-do"), "Ask for a new code and enter it.");
        assert!(en.get("problem-mfa-required.to-do").contains(r#"{"otp": "<code>"}"#));
    }

    #[test]
    #[should_panic(expected = "no message no-such-message")]
    fn asking_for_a_message_no_file_defines_fails_loudly_in_tests() {
        Text::of(Lang::En).get("no-such-message");
    }

    #[test]
    #[should_panic(expected = "did not format")]
    fn a_message_given_the_wrong_variable_fails_loudly_in_tests() {
        Text::of(Lang::En).with("approvals-needed", [("needed", 2.into())]);
    }

    #[test]
    fn every_language_has_its_own_words_loaded() {
        load().unwrap();
        for lang in Lang::ALL {
            let catalog = Text::of(lang).catalog;
            assert_eq!(catalog.lang, lang);
            assert!(
                catalog.fixed.len() > 200,
                "{lang:?} has {} messages",
                catalog.fixed.len()
            );
        }
        assert_ne!(Text::of(Lang::En).get("sign-in"), Text::of(Lang::Ko).get("sign-in"));
    }
}
