//! The problem pages. Every problem Holdfast answers with has a `type` of `/problems/<kind>`;
//! that address is a short page saying what happened and what to do, in
//! English and Korean (`?lang=ko`, or the browser's `Accept-Language`). The
//! text lives in `locales/<lang>/problems.ftl`, one message per kind
//! ([`crate::edge::error::ProblemKind::text`]).

use std::collections::HashMap;

use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Response};
use maud::html;

use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::http::Routes;
use crate::edge::l10n::Text;
use crate::edge::web::{self, Lang};
use crate::state::AppState;

pub fn routes(state: AppState) -> Routes {
    Routes::new()
        .get("/problems/{kind}", problem_page)
        .layer(middleware::from_fn_with_state(state, web::no_script_headers))
}

/// The page a problem's `type` resolves to; an unknown kind is a 404 problem.
async fn problem_page(
    Path(slug): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kind = ProblemKind::from_slug(&slug).ok_or_else(|| ApiError::not_found("this kind of problem"))?;
    let lang = Lang::pick(&query, &headers);
    Ok((StatusCode::OK, Html(problem_view(kind, lang))).into_response())
}

/// A problem's page: pure markup from the kind's text.
fn problem_view(kind: ProblemKind, lang: Lang) -> String {
    let text = kind.text(lang);
    let t = Text::of(lang);
    let main = html! {
        h1 { (text.title) }
        p { (text.happened) }
        h2 { (t.get("problem-what-to-do")) }
        p { (text.to_do) }
        p class="help" { code { (kind.uri()) } }
    };
    web::document(lang, text.title, web::PUBLIC_STYLESHEET, main, html! {}).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_a_page_in_every_language_with_its_own_words() {
        for &kind in ProblemKind::ALL {
            for lang in Lang::ALL {
                let text = kind.text(lang);
                for part in [text.title, text.happened, text.to_do] {
                    assert!(!part.trim().is_empty(), "{kind:?} in {lang:?} has an empty part");
                }
                let page = problem_view(kind, lang);
                assert!(page.contains(&format!("lang=\"{}\"", lang.code())));
                assert!(page.contains(text.happened) || page.contains(&maud::html!((text.happened)).into_string()));
            }
            assert_ne!(
                kind.text(Lang::En).happened,
                kind.text(Lang::Ko).happened,
                "{kind:?} is not translated"
            );
        }
    }

    #[test]
    fn kinds_are_found_by_their_slug_and_slugs_are_unique() {
        let mut slugs = std::collections::HashSet::new();
        for &kind in ProblemKind::ALL {
            assert_eq!(ProblemKind::from_slug(kind.slug()), Some(kind));
            assert!(slugs.insert(kind.slug()), "{} is used twice", kind.slug());
        }
        assert_eq!(ProblemKind::from_slug("no-such-kind"), None);
    }
}
