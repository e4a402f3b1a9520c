//! The baseline for the holds check: an axum hello-world answering the same
//! path with a small JSON body, no signature, no cache, no middleware. What
//! the HTTP stack alone costs on this machine, measured by the same load
//! generator in the same run (`load/run.sh`).

use axum::extract::Path;
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let listen = std::env::args().nth(1).unwrap_or_else(|| "127.0.0.1:18099".to_owned());
    let app = Router::new().route("/v1/accounts/{account_id}/holds", get(holds));
    let listener = tokio::net::TcpListener::bind(&listen).await?;
    axum::serve(listener, app).await?;
    Ok(())
}

async fn holds(Path(account_id): Path<String>) -> Json<Value> {
    Json(json!({"account_id": account_id, "frozen": false, "holds": []}))
}
