//! Signing in to the console: the form, the session cookie, the same rules
//! as the API, sign-out, and what every page without a session answers.

use holdfast::domain::agent::Role;
use reqwest::StatusCode;

use super::{csrf_of, location, seed, set_cookie};
use crate::helpers::{Backend, on_both_backends, spawn_app, spawn_app_with};

on_both_backends!(
    every_console_page_without_a_session_redirects_to_the_sign_in_form,
    signing_in_sets_a_strict_cookie_and_redirects_to_the_queue,
    over_https_the_cookie_is_secure_and_bound_to_the_host,
    signing_out_ends_the_session,
    sign_in_follows_the_apis_rules_for_wrong_codes_replays_and_lockout,
    a_sign_in_from_another_site_or_with_a_forged_token_is_refused,
    the_console_speaks_korean_when_asked,
);

async fn every_console_page_without_a_session_redirects_to_the_sign_in_form(backend: Backend) {
    let app = spawn_app(backend).await;

    for path in ["/console/", "/console/reviews", "/console/incidents/0190-none"] {
        let bare = app.client.get(app.url(path)).send().await.unwrap();
        let forged = app
            .client
            .get(app.url(path))
            .header("cookie", "holdfast_session=not-a-session")
            .send()
            .await
            .unwrap();
        for response in [bare, forged] {
            assert_eq!(response.status(), StatusCode::SEE_OTHER, "{path}");
            assert_eq!(location(&response), "/console/login", "{path}");
        }
    }
    let post = app
        .client
        .post(app.url("/console/next"))
        .form(&[("csrf", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(post.status(), StatusCode::SEE_OTHER, "a form whose session ended");
    assert_eq!(location(&post), "/console/login");
    let neither = app.client.post(app.url("/console/next")).send().await.unwrap();
    assert_eq!(
        neither.status(),
        StatusCode::FORBIDDEN,
        "a post with neither the session's cookie nor a token"
    );
    let poll = app.client.get(app.url("/console/queue.json")).send().await.unwrap();
    assert_eq!(
        poll.status(),
        StatusCode::UNAUTHORIZED,
        "the poll answers a problem, not a page"
    );
}

async fn signing_in_sets_a_strict_cookie_and_redirects_to_the_queue(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Lead).await;

    let form = app.client.get(app.url("/console/login")).send().await.unwrap();
    assert_eq!(form.status(), StatusCode::OK);
    let html = form.text().await.unwrap();
    for field in ["name=\"username\"", "name=\"password\"", "name=\"otp\""] {
        assert!(html.contains(field), "the form has {field}");
    }
    let response = app
        .console_login("alice", &credentials.password, &app.fresh_code(&seed(&credentials)))
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console/");
    let cookie = set_cookie(&response, "holdfast_session").expect("a session cookie");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie} has {attribute}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP: {cookie}");
    let queue = app
        .client
        .get(app.url("/console/"))
        .header("cookie", cookie.split(';').next().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(queue.status(), StatusCode::OK);
    let header = |name: &str| queue.headers()[name].to_str().unwrap().to_owned();
    assert!(header("content-security-policy").contains("script-src 'self'"));
    assert!(!header("content-security-policy").contains("unsafe-inline"));
    assert!(header("content-security-policy").contains("frame-ancestors 'none'"));
    assert_eq!(header("cache-control"), "no-store");
    assert_eq!(header("referrer-policy"), "no-referrer");
    assert_eq!(header("x-frame-options"), "DENY");
    let html = queue.text().await.unwrap();
    assert!(html.contains("alice"), "the queue says who is signed in");
    assert!(!html.contains("<script>"), "no inline script");
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.login' AND actor = 'agent:alice'")
            .await,
        1
    );
}

async fn over_https_the_cookie_is_secure_and_bound_to_the_host(backend: Backend) {
    let app = spawn_app_with(backend, |settings| {
        settings.set("HOLDFAST_PUBLIC_URL", "https://holdfast.example");
    })
    .await;
    let credentials = app.create_agent("alice", Role::Lead).await;

    let response = app
        .console_login("alice", &credentials.password, &app.fresh_code(&seed(&credentials)))
        .await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let cookie = set_cookie(&response, "__Host-holdfast_session").expect("a __Host- cookie");
    assert!(cookie.contains("Secure") && cookie.contains("Path=/") && !cookie.contains("Domain"));
}

async fn signing_out_ends_the_session(backend: Backend) {
    let app = spawn_app(backend).await;
    let console = app.console("alice", Role::Analyst).await;

    let response = console.post("/console/logout", &[]).await;

    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&response), "/console/login");
    let cleared = set_cookie(&response, "holdfast_session").unwrap();
    assert!(cleared.contains("Max-Age=0"));
    let after = console.get("/console/").await;
    assert_eq!(after.status(), StatusCode::SEE_OTHER, "the old cookie no longer works");
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM sessions WHERE revoked_at IS NOT NULL")
            .await,
        1
    );
}

async fn sign_in_follows_the_apis_rules_for_wrong_codes_replays_and_lockout(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Lead).await;
    let secret = seed(&credentials);
    let code = app.fresh_code(&secret);
    assert_eq!(
        app.console_login("alice", &credentials.password, &code).await.status(),
        StatusCode::SEE_OTHER
    );

    let replayed = app.console_login("alice", &credentials.password, &code).await;
    assert_eq!(replayed.status(), StatusCode::UNAUTHORIZED);
    assert!(replayed.text().await.unwrap().contains("already used"));
    let wrong = app
        .console_login("alice", "not the password", &app.fresh_code(&secret))
        .await;
    assert_eq!(wrong.status(), StatusCode::UNAUTHORIZED);
    let page = wrong.text().await.unwrap();
    assert!(
        page.contains("role=\"alert\"") && page.contains("value=\"alice\""),
        "{page}"
    );
    assert!(!page.contains("not the password"), "the password is never echoed");
    for _ in 0..3 {
        app.console_login("alice", "not the password", "000000").await;
    }

    let locked = app
        .console_login("alice", &credentials.password, &app.fresh_code(&secret))
        .await;
    assert_eq!(locked.status(), StatusCode::LOCKED);
    assert!(locked.text().await.unwrap().contains("locked"));
    let api = app
        .login("alice", &credentials.password, &app.fresh_code(&secret))
        .await;
    assert_eq!(
        api.status(),
        StatusCode::LOCKED,
        "one lockout for the API and the console"
    );
}

async fn a_sign_in_from_another_site_or_with_a_forged_token_is_refused(backend: Backend) {
    let app = spawn_app(backend).await;
    let credentials = app.create_agent("alice", Role::Lead).await;
    let secret = seed(&credentials);
    let form = app.client.get(app.url("/console/login")).send().await.unwrap();
    let form_cookie = set_cookie(&form, "holdfast_login").unwrap();
    let token = csrf_of(&form.text().await.unwrap());

    let cross_site = app
        .client
        .post(app.url("/console/login"))
        .header("sec-fetch-site", "cross-site")
        .form(&[
            ("username", "alice"),
            ("password", &credentials.password),
            ("otp", &app.fresh_code(&secret)),
        ])
        .send()
        .await
        .unwrap();
    let foreign_origin = app
        .client
        .post(app.url("/console/login"))
        .header("origin", "https://evil.example")
        .form(&[
            ("username", "alice"),
            ("password", &credentials.password),
            ("otp", &app.fresh_code(&secret)),
        ])
        .send()
        .await
        .unwrap();
    let forged_token = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", form_cookie.split(';').next().unwrap())
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
            ("csrf", "forged"),
        ])
        .send()
        .await
        .unwrap();
    // With the form's own cookie and token, but from an opaque origin
    // (a sandboxed frame, a data: page) as older browsers send it.
    let opaque_origin = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", form_cookie.split(';').next().unwrap())
        .header("origin", "null")
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    // As a scanner or a script posts it: no cookie, no token.
    let neither = app
        .client
        .post(app.url("/console/login"))
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
        ])
        .send()
        .await
        .unwrap();
    let token_without_cookie = app
        .client
        .post(app.url("/console/login"))
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    let cookie_without_token = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", form_cookie.split(';').next().unwrap())
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
        ])
        .send()
        .await
        .unwrap();
    for (what, response) in [
        ("cross-site", cross_site),
        ("a foreign origin", foreign_origin),
        ("a forged token", forged_token),
        ("an opaque origin", opaque_origin),
        ("neither cookie nor token", neither),
        ("a token without its cookie", token_without_cookie),
        ("a cookie without its token", cookie_without_token),
    ] {
        assert_eq!(response.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(set_cookie(&response, "holdfast_session").is_none(), "{what}");
    }
    assert_eq!(
        app.db
            .count("SELECT COUNT(*) FROM audit_log WHERE action = 'agent.login'")
            .await,
        0,
        "no refused post signed anyone in"
    );

    let with_token = app
        .client
        .post(app.url("/console/login"))
        .header("cookie", form_cookie.split(';').next().unwrap())
        .form(&[
            ("username", "alice"),
            ("password", credentials.password.as_str()),
            ("otp", &app.fresh_code(&secret)),
            ("csrf", token.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(
        with_token.status(),
        StatusCode::SEE_OTHER,
        "the form's own token is accepted"
    );
}

async fn the_console_speaks_korean_when_asked(backend: Backend) {
    let app = spawn_app(backend).await;
    let console = app.console("alice", Role::Lead).await;

    let korean = app
        .client
        .get(app.url("/console/login"))
        .header("accept-language", "ko-KR,ko;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(korean.contains("<html lang=\"ko\">") && korean.contains("콘솔 로그인"));

    let switched = console.get("/console/?lang=ko").await;
    let remembered = set_cookie(&switched, "holdfast_lang").expect("the choice is remembered");
    let html = switched.text().await.unwrap();
    assert!(html.contains("다음 사건 맡기"), "{html}");
    let next = app
        .client
        .get(app.url("/console/reviews"))
        .header(
            "cookie",
            format!("{}; {}", console.cookie, remembered.split(';').next().unwrap()),
        )
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(next.contains("<html lang=\"ko\">") && next.contains("동결 해제 검토"));
}
