//! The application: the router that merges every feature's routes (here),
//! and the running service with its listeners and background tasks
//! (`application`). The state they share is [`crate::state`].

mod application;
pub mod openapi;

pub use application::{Application, shutdown_signal};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use axum::routing::get;

use crate::agents;
use crate::alerts::{self};
use crate::auth;
use crate::campaigns;
use crate::console;
use crate::edge::error::ApiError;
use crate::edge::http::Routes;
use crate::edge::middleware::Edge;
use crate::edge::pages;
use crate::gauges;
use crate::holder;
use crate::holds;
use crate::incidents;
use crate::overview;
use crate::playbooks;
use crate::runs;
use crate::state::AppState;
use crate::unfreeze;

/// Every route Holdfast serves on its public listener: its own and each
/// feature's. `/metrics` is here unless `HOLDFAST_ADMIN_LISTEN` moves it to
/// [`admin_router`].
pub fn routes(state: &AppState) -> Routes {
    let mut routes = Routes::new().get("/healthz", healthz).get("/readyz", readyz);
    if state.config().admin_listen.is_none() {
        routes = routes.get("/metrics", metrics);
    }
    routes
        .merge(crate::edge::openapi::routes(openapi::document()))
        .merge(alerts::api::routes())
        .merge(holds::api::routes())
        .merge(auth::api::routes())
        .merge(agents::api::routes())
        .merge(incidents::api::routes())
        .merge(playbooks::api::routes())
        .merge(runs::api::routes())
        .merge(overview::api::routes())
        .merge(campaigns::api::routes())
        .merge(crate::rule_quality::api::routes())
        .merge(unfreeze::routes(state.clone()))
        .merge(holder::routes(state.clone()))
        .merge(pages::routes(state.clone()))
        .merge(console::routes(state.clone()))
}

/// The router: every route behind the middleware stack.
pub fn router(state: AppState) -> Router {
    let edge = Edge::of(state.config(), state.clock());
    crate::edge::middleware::stack(routes(&state).into_router(), &edge).with_state(state)
}

/// What the exchange listener (`HOLDFAST_EXCHANGE_LISTEN`) serves: the
/// signed routes (alerts from the risk engine, the exchange's holds check)
/// and the health checks, and nothing else (a `404` problem). A route that
/// takes a signed request belongs here; `tests/api/exchange_listener.rs`
/// checks these are exactly the operations `/openapi.json` says are signed.
pub fn exchange_routes() -> Routes {
    Routes::new()
        .get("/healthz", healthz)
        .get("/readyz", readyz)
        .merge(alerts::api::routes())
        .merge(holds::api::routes())
        .merge(holder::api::signed_routes())
}

/// What the exchange listener serves: [`exchange_routes`], behind the same layers.
pub fn exchange_router(state: AppState) -> Router {
    let edge = Edge::of(state.config(), state.clock());
    crate::edge::middleware::stack(exchange_routes().into_router(), &edge).with_state(state)
}

/// What the admin listener serves: `/metrics`, behind the same layers.
pub fn admin_router(state: AppState) -> Router {
    let edge = Edge::of(state.config(), state.clock());
    crate::edge::middleware::stack(Router::new().route("/metrics", get(metrics)), &edge).with_state(state)
}

/// `GET /healthz`: the process answers.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Health {
    #[schema(inline)]
    status: HealthStatus,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum HealthStatus {
    Ok,
}

/// `GET /readyz`: the databases answer too.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct Ready {
    #[schema(inline)]
    status: ReadyStatus,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
enum ReadyStatus {
    Ready,
}

async fn healthz() -> axum::Json<Health> {
    axum::Json(Health {
        status: HealthStatus::Ok,
    })
}

async fn readyz(State(state): State<AppState>) -> Result<axum::Json<Ready>, ApiError> {
    state
        .db()
        .ping()
        .await
        .map_err(|_| ApiError::Unavailable("the database does not answer".into()))?;
    state.shared().ping().await?;
    Ok(axum::Json(Ready {
        status: ReadyStatus::Ready,
    }))
}

async fn metrics(State(state): State<AppState>) -> impl IntoResponse {
    gauges::update_if_stale(&state).await;
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; version=0.0.4"),
        )],
        state.metrics().render(),
    )
}
