#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The committed `openapi.json` must equal the document generated from the
//! route definitions. Regenerate with `UPDATE_OPENAPI=1 cargo test -p agentd-server --test openapi_drift`.

#[test]
fn committed_openapi_matches_the_routes() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.json");
    let generated = agentd_server::openapi_json() + "\n";
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(path, &generated).expect("write openapi.json");
        return;
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi.json is out of date: run UPDATE_OPENAPI=1 cargo test -p agentd-server --test openapi_drift"
    );
}
