//! The sign-in form.

use maud::{Markup, html};

use super::{Section, layout, notice};
use crate::edge::l10n::Text;
use crate::edge::web::Lang;

/// The sign-in form, with the reason the last attempt was refused if any.
/// `username` is kept; the password and code never are.
pub fn page(lang: Lang, csrf: &str, username: &str, error: Option<&str>) -> Markup {
    let t = Text::of(lang);
    let invalid = error.is_some().then_some("true");
    let body = html! {
        div class="signin" {
            h1 { (t.get("signin-heading")) }
            p { (t.get("signin-intro")) }
            (notice(error, true))
            form method="post" action="/console/login" {
                input type="hidden" name="csrf" value=(csrf);
                label for="username" { (t.get("username-label")) }
                input id="username" name="username" type="text" autocomplete="username" required
                    autocapitalize="none" spellcheck="false" maxlength="64" value=(username) aria-invalid=[invalid];
                label for="password" { (t.get("password-label")) }
                input id="password" name="password" type="password" autocomplete="current-password" required
                    aria-invalid=[invalid];
                label for="otp" { (t.get("otp-label")) }
                p id="otp-help" class="help" { (t.get("signin-otp-help")) }
                input id="otp" name="otp" type="text" inputmode="numeric" autocomplete="one-time-code"
                    pattern="[0-9]{6}" maxlength="6" required aria-describedby="otp-help" aria-invalid=[invalid];
                button type="submit" { (t.get("sign-in")) }
            }
        }
    };
    layout(lang, t.get("signin-heading"), Section::None, None, body)
}
