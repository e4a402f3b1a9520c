//! What Holdfast's HTML pages share: the headers every page is sent with, the
//! choice of language, and the problem pages.
//!
//! Every problem Holdfast answers with has a `type` of `/problems/<kind>`;
//! that address is a short page saying what happened and what to do, in
//! English and Korean (`?lang=ko`, or the browser's `Accept-Language`). The
//! text lives with the kinds, in [`crate::error::ProblemKind::text`].

use std::collections::HashMap;

use axum::extract::{Path, Query, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use maud::{DOCTYPE, html};

use crate::app::AppState;
use crate::error::{ApiError, ProblemKind};
use crate::http::Routes;

/// The languages Holdfast's pages are written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// `?lang=` wins; otherwise the browser's first preference among ours.
    pub fn pick(query: &HashMap<String, String>, headers: &HeaderMap) -> Self {
        match query.get("lang").map(String::as_str) {
            Some("ko") => return Lang::Ko,
            Some("en") => return Lang::En,
            _ => {}
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for tag in accept
            .split(',')
            .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        {
            if tag.starts_with("ko") {
                return Lang::Ko;
            }
            if tag.starts_with("en") {
                return Lang::En;
            }
        }
        Lang::En
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    fn other(self) -> (Lang, &'static str) {
        match self {
            Lang::En => (Lang::Ko, "한국어"),
            Lang::Ko => (Lang::En, "English"),
        }
    }
}

/// The headers of every page: a strict Content-Security-Policy (no scripts at
/// all), `Cache-Control: no-store`, `Referrer-Policy: no-referrer` (a page's
/// URL may hold a flow token), `nosniff`, framing denied, and HSTS when
/// Holdfast is reached over HTTPS.
pub async fn security_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if state.public_url().starts_with("https://") {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

pub fn routes(state: AppState) -> Routes {
    Routes::new()
        .get("/problems/{kind}", problem_page)
        .layer(middleware::from_fn_with_state(state, security_headers))
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
    let (other, other_name) = lang.other();
    let to_do = match lang {
        Lang::En => "What to do",
        Lang::Ko => "해결 방법",
    };
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                title { (text.title) " · Holdfast" }
                link rel="stylesheet" href="/unfreeze/assets/style.css";
            }
            body {
                header {
                    p class="brand" { "Holdfast" }
                    a class="language" href={ "?lang=" (other.code()) } lang=(other.code()) { (other_name) }
                }
                main {
                    h1 { (text.title) }
                    p { (text.happened) }
                    h2 { (to_do) }
                    p { (text.to_do) }
                    p class="help" { code { (kind.uri()) } }
                }
            }
        }
    }
    .into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(accept_language: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_LANGUAGE, HeaderValue::from_str(accept_language).unwrap());
        headers
    }

    #[test]
    fn the_query_wins_over_the_browsers_language() {
        let query = HashMap::from([("lang".to_owned(), "en".to_owned())]);
        assert_eq!(Lang::pick(&query, &headers("ko-KR,ko;q=0.9")), Lang::En);
        assert_eq!(Lang::pick(&HashMap::new(), &headers("ko-KR,ko;q=0.9")), Lang::Ko);
        assert_eq!(Lang::pick(&HashMap::new(), &headers("fr-FR, en;q=0.5")), Lang::En);
        assert_eq!(Lang::pick(&HashMap::new(), &HeaderMap::new()), Lang::En);
    }

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
