//! What every HTML page Holdfast serves shares: the language of the page,
//! the security headers, and the small pieces of form security (cookies,
//! same-origin checks, constant-time comparison).
//!
//! Pages are sent with a strict Content-Security-Policy, `Cache-Control:
//! no-store`, `Referrer-Policy: no-referrer` (URLs may hold tokens),
//! `X-Content-Type-Options: nosniff`, framing denied, and HSTS when Holdfast
//! is reached over HTTPS.

use std::collections::HashMap;

use anyhow::Context;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Response};
use base64::Engine;
use maud::{DOCTYPE, Markup, html};
use ring::hmac;

use crate::platform::crypto;
use crate::state::AppState;

/// A page's language: English or Korean.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lang {
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// `?lang=` wins; otherwise the browser's first preference among ours.
    pub fn pick(query: &HashMap<String, String>, headers: &HeaderMap) -> Self {
        if let Some(lang) = query.get("lang").and_then(|code| Lang::from_code(code)) {
            return lang;
        }
        let accept = headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        for tag in accept
            .split(',')
            .map(|t| t.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        {
            if let Some(lang) = Lang::ALL.into_iter().find(|lang| tag.starts_with(lang.code())) {
                return lang;
            }
        }
        Lang::En
    }

    /// The language a `?lang=` value or the language cookie names, if it is
    /// one of ours.
    pub fn from_code(code: &str) -> Option<Self> {
        Lang::ALL.into_iter().find(|lang| lang.code() == code)
    }

    /// The BCP 47 code, for `lang` attributes and `?lang=` links.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// The other language, for the switch every page offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ko,
            Lang::Ko => Lang::En,
        }
    }

    /// The language's own name, as the switch shows it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ko => "한국어",
        }
    }
}

/// A page's security headers, with `csp` as its Content-Security-Policy.
pub fn secure(response: &mut Response, csp: &'static str, https: bool) {
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    if https {
        headers.insert(
            header::STRICT_TRANSPORT_SECURITY,
            HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
}

/// The stylesheet of the pages anyone may open (the holder's pages and the
/// problem pages), served by the unfreeze pages' routes at this path.
pub const PUBLIC_STYLESHEET: &str = "/unfreeze/assets/style.css";

/// A page with no script at all.
pub const CSP_NO_SCRIPT: &str =
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// What every page's `head` starts with: the charset, the viewport, no
/// referrer (URLs may hold tokens) and the title.
pub fn head_start(title: &str) -> Markup {
    html! {
        meta charset="utf-8";
        meta name="viewport" content="width=device-width, initial-scale=1";
        meta name="referrer" content="no-referrer";
        title { (title) " · Holdfast" }
    }
}

/// The document every public page shares: the head (with `stylesheet`),
/// the brand and the language switch, then `main`, then `footer`.
pub fn document(lang: Lang, title: &str, stylesheet: &str, main: Markup, footer: Markup) -> Markup {
    let other = lang.other();
    html! {
        (DOCTYPE)
        html lang=(lang.code()) {
            head {
                (head_start(title))
                link rel="stylesheet" href=(stylesheet);
            }
            body {
                header {
                    p class="brand" { "Holdfast" }
                    a class="language" href={ "?lang=" (other.code()) } lang=(other.code()) { (other.own_name()) }
                }
                main { (main) }
                (footer)
            }
        }
    }
}

/// A page whose only script is Holdfast's own, served from its own origin
/// (the console): no inline script or style, no other origin.
pub const CSP_OWN_SCRIPT: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; \
     connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Adds the security headers of a page with no script at all (the holder's
/// pages, the problem pages).
pub async fn no_script_headers(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    secure(&mut response, CSP_NO_SCRIPT, state.https());
    response
}

pub fn html_response(status: StatusCode, markup: Markup) -> Response {
    (status, Html(markup.into_string())).into_response()
}

/// Compares two secrets in constant time (ring's HMAC verification).
pub fn constant_time_eq(a: &str, b: &str) -> bool {
    let key = hmac::Key::new(hmac::HMAC_SHA256, b"holdfast form token comparison");
    hmac::verify(&key, a.as_bytes(), hmac::sign(&key, b.as_bytes()).as_ref()).is_ok()
}

/// The value of cookie `name`, if the request carries it.
pub fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.to_owned())
}

/// The cookie repeating a form's CSRF token for the forms under `path` only
/// (`HttpOnly`, `SameSite=Strict`, `Secure` over HTTPS); `None` for a path
/// that cannot stand in a cookie.
pub fn csrf_cookie(name: &str, csrf: &str, path: &str, max_age: u64, https: bool) -> Option<HeaderValue> {
    if path.contains([';', ',']) {
        return None;
    }
    let secure = if https { "; Secure" } else { "" };
    let cookie = format!("{name}={csrf}; Path={path}; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&cookie).ok()
}

/// A fresh random token for a form that no link names (it needs a cookie
/// kept for an hour), and the cookie carrying it.
pub fn fresh_form_token(name: &str, path: &str, https: bool) -> anyhow::Result<(String, HeaderValue)> {
    let csrf = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(crypto::random_bytes::<16>()?);
    let cookie = csrf_cookie(name, &csrf, path, 3600, https).context("Failed to build a form's cookie")?;
    Ok((csrf, cookie))
}

/// The CSRF token of the forms on a link's pages: an HMAC of the link's
/// token under `key`, so it needs no storage.
pub fn link_csrf(key: &[u8], token: &str) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let tag = hmac::sign(&key, &crypto::token_hash(token));
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(tag.as_ref())
}

/// Whether a post of a [`fresh_form_token`] form carries its cookie's token
/// and came from our own page.
pub fn fresh_form_allowed(public_url: &str, headers: &HeaderMap, name: &str, submitted: &str) -> bool {
    let csrf_ok = cookie(headers, name).is_some_and(|expected| constant_time_eq(&expected, submitted));
    csrf_ok && same_origin(public_url, headers)
}

/// Whether a form post came from Holdfast's own pages at `public_url`:
/// `Sec-Fetch-Site` saying another site (`cross-site`, `same-site`) or a
/// foreign `Origin` is refused.
///
/// `Origin: null` is refused unless the browser's own `Sec-Fetch-Site`
/// says `same-origin`. Browsers send `null` for a post from an opaque
/// origin (a sandboxed frame, a `data:` page: how another site forges a
/// post older browsers cannot tell from ours), and also for a page's own
/// posts under `Referrer-Policy: no-referrer`, which every Holdfast page
/// sends; `Sec-Fetch-Site`, which no page can set, tells the two apart.
/// Every form also carries a token ([`constant_time_eq`]), whatever the
/// headers say.
pub fn same_origin(public_url: &str, headers: &HeaderMap) -> bool {
    let fetch_site = headers.get("sec-fetch-site").and_then(|v| v.to_str().ok());
    if matches!(fetch_site, Some("cross-site" | "same-site")) {
        return false;
    }
    match headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) {
        None => true,
        Some("null") => fetch_site == Some("same-origin"),
        Some(origin) => origin == origin_of(public_url),
    }
}

/// `scheme://host[:port]` of a URL.
fn origin_of(url: &str) -> &str {
    url.find("://")
        .and_then(|i| url[i + 3..].find('/').map(|j| &url[..i + 3 + j]))
        .unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_wins_over_the_browser_and_korean_is_recognised() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::ACCEPT_LANGUAGE,
            HeaderValue::from_static("ko-KR,ko;q=0.9,en;q=0.5"),
        );
        assert_eq!(Lang::pick(&HashMap::new(), &headers), Lang::Ko);
        let query = HashMap::from([("lang".to_owned(), "en".to_owned())]);
        assert_eq!(Lang::pick(&query, &headers), Lang::En);
        assert_eq!(Lang::pick(&HashMap::new(), &HeaderMap::new()), Lang::En);
    }

    #[test]
    fn a_foreign_origin_is_refused_and_our_own_is_accepted() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://evil.example"));
        assert!(!same_origin("https://holdfast.example/", &headers));
        headers.insert(header::ORIGIN, HeaderValue::from_static("https://holdfast.example"));
        assert!(same_origin("https://holdfast.example/", &headers));
        assert!(same_origin("https://holdfast.example", &headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-site"));
        assert!(!same_origin("https://holdfast.example", &headers), "a sibling site");
    }

    #[test]
    fn a_null_origin_passes_only_when_the_browser_says_same_origin() {
        let mut headers = HeaderMap::new();
        headers.insert(header::ORIGIN, HeaderValue::from_static("null"));
        assert!(!same_origin("https://holdfast.example", &headers), "an opaque origin");
        headers.insert("sec-fetch-site", HeaderValue::from_static("cross-site"));
        assert!(!same_origin("https://holdfast.example", &headers));
        headers.insert("sec-fetch-site", HeaderValue::from_static("same-origin"));
        assert!(
            same_origin("https://holdfast.example", &headers),
            "our own page under no-referrer"
        );
    }
}
