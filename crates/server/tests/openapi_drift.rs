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

/// Every `$ref` in the document points at something the document defines
/// (`#/components/schemas/Format` once did not).
#[test]
fn every_reference_resolves() {
    let doc: serde_json::Value = serde_json::from_str(&agentd_server::openapi_json()).unwrap();
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(
        refs.len() > 50,
        "the walk found only {} references",
        refs.len()
    );
    let dangling: Vec<&String> = refs
        .iter()
        .filter(|r| {
            r.strip_prefix('#')
                .is_none_or(|pointer| doc.pointer(pointer).is_none())
        })
        .collect();
    assert!(dangling.is_empty(), "dangling references: {dangling:?}");
}

fn collect_refs(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", serde_json::Value::String(r)) => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

/// The answers every authenticated operation can give are documented, with
/// the error envelope: a client generated from the document knows them.
#[test]
fn common_error_answers_are_documented() {
    let doc: serde_json::Value = serde_json::from_str(&agentd_server::openapi_json()).unwrap();
    let op = &doc["paths"]["/api/v1/sessions"]["post"]["responses"];
    for status in [
        "400", "401", "403", "413", "415", "422", "429", "500", "503",
    ] {
        assert_eq!(
            op[status]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ErrorBody",
            "POST /api/v1/sessions does not document {status}"
        );
    }
    // A public route has no 401 to give.
    let shared = &doc["paths"]["/api/v1/shared/{token}"]["get"]["responses"];
    assert!(shared.get("401").is_none(), "{shared}");
}
