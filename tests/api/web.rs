//! The unfreeze web pages, as plain HTTP: headers, CSRF, languages, and the
//! whole flow through HTML forms without JavaScript.

use reqwest::StatusCode;
use reqwest::header::{HeaderMap, LOCATION};

use crate::helpers::{Backend, TestApp, on_both_backends, p3_login, spawn_app, spawn_app_with};

on_both_backends!(
    the_pages_carry_strict_security_headers,
    a_form_without_its_csrf_token_or_from_another_site_is_refused,
    the_pages_follow_the_holders_language,
    a_holder_unfreezes_through_plain_html_forms,
);

/// Freezes `account` (a P3 alert contained by an analyst) and returns the
/// link the holder was sent.
async fn frozen_with_link(app: &TestApp, account: &str) -> String {
    app.ingest(&p3_login("re-1", account)).await;
    app.contain_as_analyst(account).await;
    app.request_unfreeze(account).await;
    let link = app.exchange.wait_for_notification(account, "unfreeze_link").await;
    link.body["data"]["url"].as_str().unwrap().to_owned()
}

fn assert_page_headers(headers: &HeaderMap) {
    let header = |name: &str| {
        headers
            .get(name)
            .map(|v| v.to_str().unwrap().to_owned())
            .unwrap_or_default()
    };
    assert!(header("content-security-policy").contains("default-src 'none'"));
    assert!(header("content-security-policy").contains("form-action 'self'"));
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-content-type-options"), "nosniff");
    assert_eq!(header("x-frame-options"), "DENY");
}

/// The value of the hidden `csrf` field of the first form on a page.
fn csrf_of(html: &str) -> String {
    let at = html.find("name=\"csrf\" value=\"").expect("a csrf field") + "name=\"csrf\" value=\"".len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// A form page as a browser keeps it: the cookie it set (`name=value`) and its token.
async fn form_of(app: &TestApp, url: &str) -> (String, String) {
    let page = app.client.get(url).send().await.unwrap();
    let cookie = page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    (cookie, csrf_of(&page.text().await.unwrap()))
}

async fn the_pages_carry_strict_security_headers(backend: Backend) {
    let app = spawn_app(backend).await;
    let link = frozen_with_link(&app, "acct-h").await;

    let request_page = app.client.get(app.url("/unfreeze")).send().await.unwrap();
    let flow_page = app.client.get(&link).send().await.unwrap();

    assert_page_headers(request_page.headers());
    assert_page_headers(flow_page.headers());
    assert!(
        flow_page.headers().get("strict-transport-security").is_none(),
        "no HSTS over plain HTTP"
    );
    let cookie = request_page.headers()["set-cookie"].to_str().unwrap().to_owned();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"));
    let flow_path = link.trim_start_matches(&app.address);
    let flow_cookie = flow_page.headers()["set-cookie"].to_str().unwrap().to_owned();
    for attribute in ["HttpOnly", "SameSite=Strict", &format!("Path={flow_path}")] {
        assert!(flow_cookie.contains(attribute), "{flow_cookie} has {attribute}");
    }
    let html = flow_page.text().await.unwrap();
    assert!(!html.contains("<script"), "the pages work without JavaScript");

    let https = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_PUBLIC_URL", "https://holdfast.example");
    })
    .await;
    let secure = https.client.get(https.url("/unfreeze")).send().await.unwrap();
    assert!(
        secure.headers()["strict-transport-security"]
            .to_str()
            .unwrap()
            .contains("max-age=")
    );
    assert!(secure.headers()["set-cookie"].to_str().unwrap().contains("Secure"));
}

async fn a_form_without_its_csrf_token_or_from_another_site_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let link = frozen_with_link(&app, "acct-c").await;
    let (cookie, csrf) = form_of(&app, &link).await;

    let missing = app
        .client
        .post(format!("{link}/code"))
        .form(&[("code", "123456")])
        .send()
        .await
        .unwrap();
    let forged = app
        .client
        .post(format!("{link}/code"))
        .header("cookie", &cookie)
        .form(&[("code", "123456"), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    let without_cookie = app
        .client
        .post(format!("{link}/code"))
        .form(&[("code", "123456"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let cross_site = app
        .client
        .post(format!("{link}/code"))
        .header("cookie", &cookie)
        .header("origin", "https://evil.example")
        .form(&[("code", "123456"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let opaque_origin = app
        .client
        .post(format!("{link}/code"))
        .header("cookie", &cookie)
        .header("origin", "null")
        .form(&[("code", "123456"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    let request_without_cookie = app
        .client
        .post(app.url("/unfreeze"))
        .form(&[("account_id", "acct-c"), ("csrf", "x")])
        .send()
        .await
        .unwrap();
    let request_without_either = app
        .client
        .post(app.url("/unfreeze"))
        .form(&[("account_id", "acct-c")])
        .send()
        .await
        .unwrap();

    for (what, response) in [
        ("neither cookie nor token", missing),
        ("a forged token", forged),
        ("the token without its cookie", without_cookie),
        ("another site's origin", cross_site),
        ("an opaque origin", opaque_origin),
        ("the request form without its cookie", request_without_cookie),
        ("the request form without cookie or token", request_without_either),
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
    }
    let code = app.unfreeze_code("acct-c").await;
    let wrong_code = if code == "000000" { "111111" } else { "000000" };
    let accepted = app
        .client
        .post(format!("{link}/code"))
        .header("cookie", &cookie)
        .header("origin", "null")
        .header("sec-fetch-site", "same-origin")
        .form(&[("code", wrong_code), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_ne!(
        accepted.status(),
        StatusCode::FORBIDDEN,
        "a browser's own post under no-referrer (Origin: null, Sec-Fetch-Site: same-origin)"
    );
    assert_eq!(
        app.flow_status(link.rsplit('/').next().unwrap()).await["code_attempts_left"],
        4,
        "only the accepted post was counted"
    );
}

async fn the_pages_follow_the_holders_language(backend: Backend) {
    let app = spawn_app(backend).await;

    let korean = app
        .client
        .get(app.url("/unfreeze"))
        .header("accept-language", "ko-KR,ko;q=0.9,en;q=0.5")
        .send()
        .await
        .unwrap();
    let chosen = app
        .client
        .get(app.url("/unfreeze?lang=en"))
        .header("accept-language", "ko-KR")
        .send()
        .await
        .unwrap();

    let korean = korean.text().await.unwrap();
    assert!(korean.contains("<html lang=\"ko\">"));
    assert!(korean.contains("계정을 되찾으세요"));
    let chosen = chosen.text().await.unwrap();
    assert!(chosen.contains("<html lang=\"en\">"));
    assert!(chosen.contains("Get your account back"));
    assert!(chosen.contains("<label for=\"account_id\">"), "inputs are labelled");
}

async fn a_holder_unfreezes_through_plain_html_forms(backend: Backend) {
    let app = spawn_app(backend).await;
    app.exchange.set_second_factor(Some("246810"));
    let request_page = app.client.get(app.url("/unfreeze")).send().await.unwrap();
    let cookie = request_page.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let csrf = csrf_of(&request_page.text().await.unwrap());
    app.ingest(&p3_login("re-1", "acct-f")).await;
    app.contain_as_analyst("acct-f").await;

    let sent = app
        .client
        .post(app.url("/unfreeze"))
        .header("cookie", &cookie)
        .form(&[("account_id", "acct-f"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), StatusCode::ACCEPTED);
    assert!(sent.text().await.unwrap().contains("Check your messages"));
    let link = app.exchange.wait_for_notification("acct-f", "unfreeze_link").await.body["data"]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    let code = app.unfreeze_code("acct-f").await;

    let post = |step: &str, fields: Vec<(String, String)>| {
        let (app, link) = (&app, link.clone());
        let step = step.to_owned();
        async move {
            let (cookie, csrf) = form_of(app, &link).await;
            let mut fields = fields;
            fields.push(("csrf".into(), csrf));
            app.client
                .post(format!("{link}/{step}"))
                .header("cookie", cookie)
                .form(&fields)
                .send()
                .await
                .unwrap()
        }
    };
    let wrong = post(
        "code",
        vec![("code".into(), if code == "000000" { "111111" } else { "000000" }.into())],
    )
    .await;
    assert_eq!(wrong.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let page = wrong.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("Tries left: 4"),
        "the error is announced: {page}"
    );
    assert!(page.contains("aria-invalid=\"true\""));

    let right = post("code", vec![("code".into(), code)]).await;
    assert_eq!(right.status(), StatusCode::SEE_OTHER);
    assert_eq!(
        right.headers()[LOCATION].to_str().unwrap(),
        format!("{}?lang=en", link.trim_start_matches(&app.address))
    );
    post("second-factor", vec![("code".into(), "246810".into())]).await;
    let review = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(review.contains("Was this you?") && review.contains("Brazil"));
    let done = post("activity", vec![("answer:re-1".into(), "mine".into())]).await;
    assert_eq!(done.status(), StatusCode::SEE_OTHER);

    let outcome = app.client.get(&link).send().await.unwrap().text().await.unwrap();
    assert!(outcome.contains("Your account is unfrozen"), "{outcome}");
    assert_eq!(app.holds("acct-f").await["frozen"], false);
}
