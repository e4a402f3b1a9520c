//! Every kind of problem Holdfast answers with, its `type` URI and its
//! page's text in each language (from `locales/<lang>/problems.ftl`).

use crate::edge::l10n::Text;
use crate::edge::web::Lang;

/// Declares [`ProblemKind`] with each kind's slug, so the list of every kind
/// ([`ProblemKind::ALL`]) cannot miss one.
macro_rules! problem_kinds {
    ($($(#[$doc:meta])* $variant:ident = $slug:literal,)*) => {
        /// Every kind of problem Holdfast answers with. Its `type` is
        /// `/problems/<slug>`, a page Holdfast serves (see [`crate::edge::pages`])
        /// with the text of [`ProblemKind::text`], so a kind cannot exist
        /// without its page.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum ProblemKind {
            $($(#[$doc])* $variant,)*
        }

        impl ProblemKind {
            pub const ALL: &[ProblemKind] = &[$(ProblemKind::$variant,)*];

            /// The last segment of the problem's `type`.
            pub fn slug(self) -> &'static str {
                match self {
                    $(ProblemKind::$variant => $slug,)*
                }
            }

            /// Its page's title, what happened and what to do: the message
            /// `problem-<slug>` and its attributes `.happened` and `.to-do`.
            fn message_ids(self) -> [&'static str; 3] {
                match self {
                    $(ProblemKind::$variant => [
                        concat!("problem-", $slug),
                        concat!("problem-", $slug, ".happened"),
                        concat!("problem-", $slug, ".to-do"),
                    ],)*
                }
            }
        }
    };
}

problem_kinds! {
    /// 400: the body is not well-formed JSON (or not a valid form).
    MalformedRequest = "malformed-request",
    /// 400 (or another 4xx without a kind of its own): a path or query
    /// parameter could not be read.
    BadRequest = "bad-request",
    /// 401: a signed request's signature, key id or timestamp is wrong.
    InvalidSignature = "invalid-signature",
    /// 401: a wrong username, password or TOTP code.
    InvalidCredentials = "invalid-credentials",
    /// 401: no bearer token, or one Holdfast does not know.
    Unauthorized = "unauthorized",
    /// 401: the session is idle, too old, signed out, or its agent disabled.
    SessionExpired = "session-expired",
    /// 401: a TOTP code (time step) already accepted once.
    OtpReplayed = "otp-replayed",
    /// 403: the role or key does not allow the action.
    Forbidden = "forbidden",
    /// 403: a sensitive action without a step-up in the last five minutes.
    MfaRequired = "mfa-required",
    /// 404
    NotFound = "not-found",
    /// 405
    MethodNotAllowed = "method-not-allowed",
    /// 408: the request ran past the per-request time limit.
    Timeout = "timeout",
    /// 409: the change conflicts with the resource's state.
    Conflict = "conflict",
    /// 410: an unfreeze request past its lifetime.
    Expired = "expired",
    /// 413: a body over 64 KiB.
    PayloadTooLarge = "payload-too-large",
    /// 415
    UnsupportedMediaType = "unsupported-media-type",
    /// 422: well-formed but invalid; `errors` names every bad field.
    ValidationFailed = "validation-failed",
    /// 422: a holder's wrong code; `tries_left` says how many remain.
    WrongCode = "wrong-code",
    /// 422: a holder's one-time code older than ten minutes.
    CodeExpired = "code-expired",
    /// 423: the agent is locked after repeated failures (`Retry-After`).
    AccountLocked = "account-locked",
    /// 429: a per-client rate limit (`Retry-After`).
    RateLimited = "rate-limited",
    /// 429: an unfreeze request out of tries or codes; it is locked.
    AttemptsExhausted = "attempts-exhausted",
    /// 500: the cause is logged, never sent.
    InternalError = "internal-error",
    /// 503: the database, Redis or the exchange does not answer.
    Unavailable = "unavailable",
}

/// What a problem's page says, in one language: a title (also the problem's
/// `title` in English), what happened, and what to do about it.
#[derive(Clone, Copy, Debug)]
pub struct ProblemText {
    pub title: &'static str,
    pub happened: &'static str,
    pub to_do: &'static str,
}

impl ProblemKind {
    /// The problem's `type`: a relative URI that resolves to its page.
    pub fn uri(self) -> String {
        format!("/problems/{}", self.slug())
    }

    pub fn from_slug(slug: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|kind| kind.slug() == slug)
    }

    /// The problem's page text in `lang`, from `locales/<lang>/problems.ftl`.
    pub fn text(self, lang: Lang) -> ProblemText {
        let t = Text::of(lang);
        let [title, happened, to_do] = self.message_ids();
        ProblemText {
            title: t.get(title),
            happened: t.get(happened),
            to_do: t.get(to_do),
        }
    }
}
