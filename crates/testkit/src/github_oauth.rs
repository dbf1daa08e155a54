//! [`FakeGitHubOAuth`]: GitHub's OAuth web flow and `GET /user`, on one
//! local port, for sign-in tests. Use its base URL as both the OAuth URL
//! (`/login/oauth/…`) and the API URL (`/user`).
//!
//! - `GET /login/oauth/authorize` redirects straight back to `redirect_uri`
//!   with a fresh `code` and the given `state`, as if the user had clicked
//!   "Authorize" (signed in as the fake's current user).
//! - `POST /login/oauth/access_token` trades a code (once, and only with the
//!   right client id and secret) for a `gho_…` token: JSON with
//!   `Accept: application/json`, form-encoded otherwise; a bad code is
//!   GitHub's `200 {"error": "bad_verification_code"}`.
//! - `GET /user` answers for a token it issued.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Json, Router};
use serde_json::{Value, json};

use crate::http::{self, FakeServer, RecordedRequest, Recorder};

/// A GitHub account the fake signs in as.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubAccount {
    pub id: i64,
    pub login: String,
}

#[derive(Default)]
struct Inner {
    user: Option<GitHubAccount>,
    codes: HashMap<String, (GitHubAccount, String)>,
    tokens: HashMap<String, GitHubAccount>,
    issued_tokens: Vec<String>,
    counter: u64,
}

struct Shared {
    client_id: String,
    client_secret: String,
    inner: Mutex<Inner>,
}

impl Shared {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

const NAME: &str = "GitHub OAuth";

/// The fake; stops when dropped.
pub struct FakeGitHubOAuth {
    server: FakeServer,
    shared: Arc<Shared>,
}

impl FakeGitHubOAuth {
    /// Client id `Iv1.testclient`, secret [`Self::CLIENT_SECRET`], signed in
    /// as `octocat` (id 583231).
    pub async fn start() -> Self {
        Self::start_with(Self::CLIENT_ID, Self::CLIENT_SECRET).await
    }

    pub const CLIENT_ID: &'static str = "Iv1.testclient";
    pub const CLIENT_SECRET: &'static str = "fake-github-client-secret-0123456789";

    /// With these app credentials. Panics if no port can be bound.
    pub async fn start_with(client_id: &str, client_secret: &str) -> Self {
        let shared = Arc::new(Shared {
            client_id: client_id.to_owned(),
            client_secret: client_secret.to_owned(),
            inner: Mutex::new(Inner {
                user: Some(GitHubAccount {
                    id: 583_231,
                    login: "octocat".to_owned(),
                }),
                ..Inner::default()
            }),
        });
        let app = |_| {
            Router::new()
                .route("/login/oauth/authorize", get(authorize))
                .route("/login/oauth/access_token", post(access_token))
                .route("/user", get(user))
                .with_state(shared.clone())
        };
        let recorder = Arc::new(Recorder::default());
        let server = http::started(
            NAME,
            FakeServer::bind(NAME, http::LOCAL, recorder, app).await,
        );
        Self { server, shared }
    }

    /// `http://127.0.0.1:PORT`: the OAuth URL and the API URL alike.
    pub fn base_url(&self) -> String {
        self.server.origin()
    }

    /// Who the next authorization signs in as; `None` makes the authorize
    /// page answer `access_denied`, as when the user clicks "Cancel".
    pub fn sign_in_as(&self, account: Option<GitHubAccount>) {
        self.shared.lock().user = account;
    }

    /// Every request received, in order (the token request's form fields
    /// are its `body`).
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.server.requests()
    }

    /// The access tokens handed out (to check they never leak).
    pub fn issued_tokens(&self) -> Vec<String> {
        self.shared.lock().issued_tokens.clone()
    }
}

async fn authorize(
    State(shared): State<Arc<Shared>>,
    Query(q): Query<BTreeMap<String, String>>,
) -> Response {
    let (Some(redirect_uri), Some(state)) = (q.get("redirect_uri"), q.get("state")) else {
        return (
            StatusCode::BAD_REQUEST,
            "redirect_uri and state are required",
        )
            .into_response();
    };
    if q.get("client_id") != Some(&shared.client_id) {
        return (StatusCode::NOT_FOUND, "unknown client_id").into_response();
    }
    let mut inner = shared.lock();
    let sep = if redirect_uri.contains('?') { '&' } else { '?' };
    let state = encode(state);
    let Some(account) = inner.user.clone() else {
        return Redirect::to(&format!(
            "{redirect_uri}{sep}error=access_denied&state={state}"
        ))
        .into_response();
    };
    inner.counter += 1;
    let code = format!("fakecode{}", inner.counter);
    inner
        .codes
        .insert(code.clone(), (account, redirect_uri.clone()));
    Redirect::to(&format!("{redirect_uri}{sep}code={code}&state={state}")).into_response()
}

async fn access_token(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    Form(form): Form<BTreeMap<String, String>>,
) -> Response {
    let json = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/json"));
    let answer = |fields: Vec<(&str, String)>| -> Response {
        if json {
            let map: serde_json::Map<String, Value> = fields
                .into_iter()
                .map(|(k, v)| (k.to_owned(), Value::String(v)))
                .collect();
            Json(Value::Object(map)).into_response()
        } else {
            let body = fields
                .iter()
                .map(|(k, v)| format!("{k}={}", encode(v)))
                .collect::<Vec<_>>()
                .join("&");
            (
                [(header::CONTENT_TYPE, "application/x-www-form-urlencoded")],
                body,
            )
                .into_response()
        }
    };
    if form.get("client_id") != Some(&shared.client_id)
        || form.get("client_secret") != Some(&shared.client_secret)
    {
        return answer(vec![
            ("error", "incorrect_client_credentials".to_owned()),
            (
                "error_description",
                "The client_id and/or client_secret passed are incorrect.".to_owned(),
            ),
        ]);
    }
    let mut inner = shared.lock();
    let code = form.get("code").cloned().unwrap_or_default();
    let account = match inner.codes.remove(&code) {
        Some((account, redirect_uri)) if form.get("redirect_uri") == Some(&redirect_uri) => account,
        Some(_) => {
            return answer(vec![
                ("error", "redirect_uri_mismatch".to_owned()),
                (
                    "error_description",
                    "The redirect_uri MUST match the registered callback URL.".to_owned(),
                ),
            ]);
        }
        None => {
            return answer(vec![
                ("error", "bad_verification_code".to_owned()),
                (
                    "error_description",
                    "The code passed is incorrect or expired.".to_owned(),
                ),
            ]);
        }
    };
    inner.counter += 1;
    let token = format!("gho_fake{:032}", inner.counter);
    inner.tokens.insert(token.clone(), account);
    inner.issued_tokens.push(token.clone());
    answer(vec![
        ("access_token", token),
        ("token_type", "bearer".to_owned()),
        ("scope", "read:user".to_owned()),
    ])
}

async fn user(State(shared): State<Arc<Shared>>, headers: HeaderMap) -> Response {
    let token = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("token "))
        });
    let account = token.and_then(|t| shared.lock().tokens.get(t).cloned());
    match account {
        Some(a) => Json(json!({
            "id": a.id,
            "login": a.login,
            "type": "User",
            "name": null,
        }))
        .into_response(),
        None => (
            StatusCode::UNAUTHORIZED,
            Json(json!({
                "message": "Bad credentials",
                "documentation_url": "https://docs.github.com/rest"
            })),
        )
            .into_response(),
    }
}

fn encode(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}
