//! The security team's console over plain HTTP, as a browser without
//! JavaScript uses it: sign-in and the session cookie ([`signin`]), the
//! queue ([`queue`]), the incident page and its actions ([`incident`]), the
//! holders' reviews ([`reviews`]), campaigns ([`campaigns`]); and the whole story in a real browser
//! ([`browser`]).

use holdfast::domain::agent::Role;
use reqwest::header::{LOCATION, SET_COOKIE};
use reqwest::{Response, StatusCode};

use crate::helpers::TestApp;

mod browser;
mod campaigns;
mod incident;
mod overview;
mod queue;
mod reviews;
mod signin;

/// A browser's session in the console: its cookie and the CSRF token of its forms.
pub struct Console<'a> {
    pub app: &'a TestApp,
    pub secret: Vec<u8>,
    pub cookie: String,
    pub csrf: String,
}

/// The TOTP seed of new credentials.
pub fn seed(credentials: &holdfast::agents::Credentials) -> Vec<u8> {
    totp_rs::Secret::try_from_base32(&credentials.totp_secret)
        .unwrap()
        .as_ref()
        .to_vec()
}

/// The value of the hidden `csrf` field of the first form on a page.
pub fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let at = html.find(marker).expect("a csrf field") + marker.len();
    html[at..].split('"').next().unwrap().to_owned()
}

/// `name=value` of the cookie `name` a response sets.
pub fn set_cookie(response: &Response, name: &str) -> Option<String> {
    response
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|v| v.starts_with(&format!("{name}=")))
}

pub fn location(response: &Response) -> String {
    response.headers()[LOCATION].to_str().unwrap().to_owned()
}

impl TestApp {
    /// Signs in as a browser does: opens the form (its cookie and token),
    /// then posts the three fields with them.
    pub async fn console_login(&self, username: &str, password: &str, otp: &str) -> Response {
        let form = self.client.get(self.url("/console/login")).send().await.unwrap();
        let cookie = set_cookie(&form, "holdfast_login")
            .or_else(|| set_cookie(&form, "__Host-holdfast_login"))
            .expect("the form's cookie");
        let token = csrf_of(&form.text().await.unwrap());
        self.client
            .post(self.url("/console/login"))
            .header("cookie", cookie.split(';').next().unwrap())
            .form(&[
                ("username", username),
                ("password", password),
                ("otp", otp),
                ("csrf", &token),
            ])
            .send()
            .await
            .unwrap()
    }

    /// Creates an agent with `role` and signs it in to the console.
    pub async fn console(&self, username: &str, role: Role) -> Console<'_> {
        let credentials = self.create_agent(username, role).await;
        let secret = seed(&credentials);
        let response = self
            .console_login(username, &credentials.password, &self.fresh_code(&secret))
            .await;
        assert_eq!(response.status(), StatusCode::SEE_OTHER, "sign-in of {username}");
        let cookie = set_cookie(&response, "holdfast_session").expect("a session cookie");
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let mut console = Console {
            app: self,
            secret,
            cookie,
            csrf: String::new(),
        };
        console.csrf = csrf_of(&console.page("/console/").await);
        console
    }
}

impl Console<'_> {
    pub async fn get(&self, path: &str) -> Response {
        self.app
            .client
            .get(self.app.url(path))
            .header("cookie", &self.cookie)
            .send()
            .await
            .unwrap()
    }

    /// A page that must answer 200; its HTML.
    pub async fn page(&self, path: &str) -> String {
        let response = self.get(path).await;
        assert_eq!(response.status(), StatusCode::OK, "GET {path}");
        response.text().await.unwrap()
    }

    /// Posts a form with the session's CSRF token.
    pub async fn post(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        let mut fields: Vec<(&str, &str)> = fields.to_vec();
        fields.push(("csrf", &self.csrf));
        self.post_raw(path, &fields).await
    }

    /// Posts a form exactly as given.
    pub async fn post_raw(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.app
            .client
            .post(self.app.url(path))
            .header("cookie", &self.cookie)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// A current TOTP code of this agent, never used before.
    pub fn code(&self) -> String {
        self.app.fresh_code(&self.secret)
    }
}
