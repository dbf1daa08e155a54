//! A minimal browser for cookie-session tests: keeps the cookies the server
//! sets, sends them back, follows no redirects, and (like the web UI) sends
//! `Origin` and echoes `agentd_csrf` in `X-CSRF-Token` unless told not to.

use std::collections::BTreeMap;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Browser {
    pub base: String,
    pub cookies: BTreeMap<String, String>,
    pub client: reqwest::Client,
    /// Send `Origin: <base>` on state-changing requests.
    pub send_origin: bool,
    /// Echo the CSRF cookie in `X-CSRF-Token`.
    pub send_csrf: bool,
}

pub struct Answer {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The `Set-Cookie` line for `name`, if any.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(str::to_owned)
    }

    pub fn location(&self) -> Option<String> {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }
}

impl Browser {
    pub fn new(base: &str) -> Self {
        Self {
            base: base.to_owned(),
            cookies: BTreeMap::new(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            send_origin: true,
            send_csrf: true,
        }
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    /// A request to `url` (absolute, or a path on the server).
    pub async fn request(&mut self, method: Method, url: &str, body: Option<Value>) -> Answer {
        let url = if url.starts_with("http") {
            url.to_owned()
        } else {
            format!("{}{url}", self.base)
        };
        let changes = !matches!(method, Method::GET | Method::HEAD);
        let mut req = self.client.request(method, &url);
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header("cookie", header);
        }
        if changes && self.send_origin {
            req = req.header("origin", &self.base);
        }
        if changes
            && self.send_csrf
            && let Some(csrf) = self.cookies.get("agentd_csrf")
        {
            req = req.header("x-csrf-token", csrf);
        }
        if let Some(body) = body {
            req = req.json(&body);
        }
        let res = req.send().await.expect("request");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        for line in headers.get_all("set-cookie").iter() {
            let line = line.to_str().expect("ascii cookie");
            let (pair, attrs) = line.split_once(';').unwrap_or((line, ""));
            let (name, value) = pair.split_once('=').expect("name=value");
            if value.is_empty() || attrs.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = res.json().await.unwrap_or(Value::Null);
        Answer {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, url: &str) -> Answer {
        self.request(Method::GET, url, None).await
    }

    pub async fn post(&mut self, url: &str, body: Value) -> Answer {
        self.request(Method::POST, url, Some(body)).await
    }

    /// Logs in with a password; panics unless it works.
    pub async fn login(&mut self, name: &str, password: &str) -> Answer {
        let answer = self
            .post(
                "/api/v1/auth/session",
                serde_json::json!({"name": name, "password": password}),
            )
            .await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        answer
    }
}
