//! What every feature shares at the HTTP edge: the route table each
//! feature registers its operations in, request extractors (signed
//! requests, the client's address, JSON bodies with the application's own
//! problem responses), and the body size limit.

use std::convert::Infallible;
use std::fmt;
use std::marker::PhantomData;
use std::net::SocketAddr;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::handler::Handler;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::IntoResponse;
use axum::routing::{MethodRouter, Route};
use serde_json::Value;

use crate::domain::validation::FieldError;
use crate::edge::error::{ApiError, ProblemKind};
use crate::edge::server::BodyTooSlow;
use crate::platform::client_address::{MalformedForwardedFor, limit_key};
use crate::platform::signing::{KEY_ID_HEADER, SIGNATURE_HEADER, Scope, Scopes, TIMESTAMP_HEADER};
use crate::state::AppState;
use tower::{Layer, Service};

/// One operation Holdfast serves: a method and a path in axum's syntax
/// (`/v1/runs/{id}`), which is also OpenAPI's.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Operation {
    pub method: Method,
    pub path: &'static str,
}

/// A feature's routes. Every route is registered here with its method and
/// path, so the set of operations Holdfast serves is known in code: the API
/// description (`/openapi.json`) is tested against it, and a route added
/// without documentation fails that test.
#[must_use]
pub struct Routes {
    router: Router<AppState>,
    operations: Vec<Operation>,
}

impl Default for Routes {
    fn default() -> Self {
        Self::new()
    }
}

impl Routes {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            operations: Vec::new(),
        }
    }

    pub fn get<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::GET, path, axum::routing::get(handler))
    }

    pub fn post<H: Handler<T, AppState>, T: 'static>(self, path: &'static str, handler: H) -> Self {
        self.add(Method::POST, path, axum::routing::post(handler))
    }

    fn add(mut self, method: Method, path: &'static str, route: MethodRouter<AppState>) -> Self {
        // axum merges a second method on a known path into the same route.
        self.router = self.router.route(path, route);
        self.operations.push(Operation { method, path });
        self
    }

    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.operations.extend(other.operations);
        self
    }

    /// Wraps every route registered so far in `layer` (as [`Router::layer`]).
    pub fn layer<L>(mut self, layer: L) -> Self
    where
        L: Layer<Route> + Clone + Send + Sync + 'static,
        L::Service: Service<Request> + Clone + Send + Sync + 'static,
        <L::Service as Service<Request>>::Response: IntoResponse + 'static,
        <L::Service as Service<Request>>::Error: Into<Infallible> + 'static,
        <L::Service as Service<Request>>::Future: Send + 'static,
    {
        self.router = self.router.layer(layer);
        self
    }

    /// Every operation registered, in registration order.
    pub fn operations(&self) -> &[Operation] {
        &self.operations
    }

    pub fn into_router(self) -> Router<AppState> {
        self.router
    }
}

/// The largest request body accepted (SPEC §2).
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// Reads a request body, refusing more than [`MAX_BODY_BYTES`] with a 413.
pub async fn read_body(headers: &HeaderMap, body: Body) -> Result<Bytes, ApiError> {
    let declared = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<usize>().ok());
    if declared.is_some_and(|length| length > MAX_BODY_BYTES) {
        return Err(ApiError::TooLarge(MAX_BODY_BYTES));
    }
    axum::body::to_bytes(body, MAX_BODY_BYTES).await.map_err(|error| {
        let error = error.into_inner();
        if error.is::<http_body_util::LengthLimitError>() {
            ApiError::TooLarge(MAX_BODY_BYTES)
        } else if caused_by::<BodyTooSlow>(&*error) {
            ApiError::TooSlow(BodyTooSlow.to_string())
        } else {
            ApiError::Malformed("the request body could not be read".into())
        }
    })
}

/// Whether `error` or any error that caused it is a `T`.
fn caused_by<T: std::error::Error + 'static>(error: &(dyn std::error::Error + 'static)) -> bool {
    std::iter::successors(Some(error), |error| error.source()).any(|error| error.is::<T>())
}

/// Parses a body as JSON; malformed JSON is a 400.
pub fn parse_json(bytes: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(bytes).map_err(|error| ApiError::Malformed(format!("the body is not valid JSON: {error}")))
}

/// The scope a route needs, as a type: see [`Signed`].
pub trait RequiredScope {
    const SCOPE: Scope;

    /// Whether a key granting `scopes` may make the request.
    fn allowed(scopes: Scopes) -> bool {
        scopes.allows(Self::SCOPE)
    }
}

/// The scopes routes can require of a signed request's key.
pub mod scope {
    use super::{RequiredScope, Scope};

    /// Posting alerts (`POST /v1/alerts`).
    pub struct Alerts;

    /// Reading an account's holds (`GET /v1/accounts/{id}/holds`).
    pub struct Holds;

    impl RequiredScope for Alerts {
        const SCOPE: Scope = Scope::Alerts;
    }

    /// Acting for a signed-in holder (`POST /v1/accounts/{id}/lock`).
    pub struct Holder;

    impl RequiredScope for Holds {
        const SCOPE: Scope = Scope::Holds;
    }

    impl RequiredScope for Holder {
        const SCOPE: Scope = Scope::Holder;
    }

    /// Posting alerts, real or drill (`POST /v1/alerts`): `alerts` or
    /// `drill`. Which one the alert's account needs is the handler's check,
    /// once the body is read (`drills::check_key_for_account`).
    pub struct Intake;

    impl RequiredScope for Intake {
        const SCOPE: Scope = Scope::Alerts;

        fn allowed(scopes: super::Scopes) -> bool {
            scopes.allows(Scope::Alerts) || scopes.allows(Scope::Drill)
        }
    }
}

/// A request signed with a trusted key (SPEC §2) that grants scope `S`:
/// which key, and the raw body.
///
/// The scope is a type parameter with no default, so a handler taking a
/// signed request states the scope it needs in its signature and cannot
/// forget it. A bad signature is a `401`; a good one from a key without the
/// scope is a `403` (`/problems/forbidden`).
pub struct Signed<S: RequiredScope> {
    pub key_id: String,
    /// Every scope the key grants.
    pub scopes: Scopes,
    pub body: Bytes,
    scope: PhantomData<fn() -> S>,
}

impl<S: RequiredScope> FromRequest<AppState> for Signed<S> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &AppState) -> Result<Self, ApiError> {
        let (parts, body) = request.into_parts();
        let body = read_body(&parts.headers, body).await?;
        let header = |name: &str| parts.headers.get(name).and_then(|value| value.to_str().ok());
        let key = state
            .config()
            .ingest_keys
            .verify(
                header(KEY_ID_HEADER),
                header(TIMESTAMP_HEADER),
                header(SIGNATURE_HEADER),
                &body,
                state.clock().now(),
            )
            .map_err(|error| ApiError::unauthorized(ProblemKind::InvalidSignature, error.to_string()))?;
        if !S::allowed(key.scopes) {
            return Err(ApiError::forbidden(format!(
                "the key `{}` does not grant the `{}` scope this request needs",
                key.id,
                S::SCOPE
            )));
        }
        Ok(Signed {
            key_id: key.id.to_owned(),
            scopes: key.scopes,
            body,
            scope: PhantomData,
        })
    }
}

/// The client behind a request, as its rate-limit key. Never logged.
#[derive(Clone)]
pub struct ClientAddress(pub String);

impl fmt::Debug for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientAddress(<redacted>)")
    }
}

impl FromRequestParts<AppState> for ClientAddress {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        // The server puts every connection's peer on its requests; a request
        // without one was not served by it, and must not share a bucket.
        let ConnectInfo(peer) = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .copied()
            .ok_or_else(|| anyhow::anyhow!("the request carries no peer address"))?;
        let client = state
            .config()
            .trusted_proxies
            .client_of(peer.ip(), &parts.headers)
            .map_err(|MalformedForwardedFor| {
                ApiError::Malformed("X-Forwarded-For from the proxy does not name the client's address".into())
            })?;
        Ok(ClientAddress(limit_key(client)))
    }
}

/// A request body type that validates itself, naming every bad field.
pub trait FromJson: Sized {
    fn from_json(value: &Value) -> Result<Self, Vec<FieldError>>;
}

/// A JSON body parsed by its type's [`FromJson`]: 400 when it is not JSON,
/// 422 with every bad field when it is not valid.
pub struct JsonBody<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        parse_body(request, false).await.map(JsonBody)
    }
}

/// Reads and validates a JSON body; with `empty_is_object`, an empty body
/// counts as `{}`.
async fn parse_body<T: FromJson>(request: Request, empty_is_object: bool) -> Result<T, ApiError> {
    let (parts, body) = request.into_parts();
    let bytes = read_body(&parts.headers, body).await?;
    let value = if empty_is_object && bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Default::default())
    } else {
        parse_json(&bytes)?
    };
    T::from_json(&value).map_err(ApiError::Invalid)
}

/// Like [`JsonBody`], but an empty body counts as `{}`: for actions whose
/// body only carries optional fields.
pub struct OptionalJsonBody<T>(pub T);

impl<S: Send + Sync, T: FromJson> FromRequest<S> for OptionalJsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, _state: &S) -> Result<Self, ApiError> {
        parse_body(request, true).await.map(OptionalJsonBody)
    }
}
