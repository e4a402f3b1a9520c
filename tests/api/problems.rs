//! Every problem `type` resolves to a page saying what happened and what to
//! do, in English and Korean, sent with the holder pages' security headers.

use holdfast::edge::error::ProblemKind;
use holdfast::edge::web::Lang;
use reqwest::StatusCode;

use crate::helpers::{Backend, assert_problem, spawn_app};

fn header(response: &reqwest::Response, name: &str) -> String {
    response
        .headers()
        .get(name)
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// maud escapes quotes; compare against the text as the page writes it.
fn as_html(text: &str) -> String {
    maud::html!((text)).into_string()
}

#[tokio::test]
async fn every_problem_type_resolves_to_a_page_in_english_and_korean() {
    let app = spawn_app(Backend::Sqlite).await;

    for &kind in ProblemKind::ALL {
        for (lang, request) in [
            (Lang::En, app.client.get(app.url(&kind.uri()))),
            (Lang::Ko, app.client.get(app.url(&format!("{}?lang=ko", kind.uri())))),
            (
                Lang::Ko,
                app.client
                    .get(app.url(&kind.uri()))
                    .header("accept-language", "ko-KR,ko;q=0.9"),
            ),
        ] {
            let response = request.send().await.unwrap();

            assert_eq!(response.status(), StatusCode::OK, "{}", kind.uri());
            assert!(header(&response, "content-type").starts_with("text/html"));
            assert!(header(&response, "content-security-policy").contains("default-src 'none'"));
            assert_eq!(header(&response, "cache-control"), "no-store");
            assert_eq!(header(&response, "referrer-policy"), "no-referrer");
            assert_eq!(header(&response, "x-content-type-options"), "nosniff");
            assert_eq!(header(&response, "x-frame-options"), "DENY");
            let page = response.text().await.unwrap();
            let text = kind.text(lang);
            assert!(page.contains(&format!("<html lang=\"{}\"", lang.code())), "{page}");
            for part in [text.title, text.happened, text.to_do] {
                assert!(
                    page.contains(&as_html(part)),
                    "{} ({lang:?}) lacks {part:?}",
                    kind.uri()
                );
            }
            assert!(!page.contains("<script"));
        }
    }
}

#[tokio::test]
async fn a_problem_names_its_kinds_english_title_and_an_unknown_kind_has_no_page() {
    let app = spawn_app(Backend::Sqlite).await;

    let response = app.client.get(app.url("/problems/no-such-kind")).send().await.unwrap();

    let problem = assert_problem(response, StatusCode::NOT_FOUND).await;
    assert_eq!(problem["type"], "/problems/not-found");
    assert_eq!(problem["title"], ProblemKind::NotFound.text(Lang::En).title);
}
