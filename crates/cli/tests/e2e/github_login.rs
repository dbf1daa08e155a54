//! Sign in with GitHub against the testkit's fake: the redirect and its
//! state, linking a logged-in user, signing in as the linked user, sign-up
//! when allowed, refusal of strangers, and the usual failures.

use agentd_testkit::FakeAnthropic;
use agentd_testkit::github_oauth::{FakeGitHubOAuth, GitHubAccount};

use crate::common::browser::{Answer, Browser};
use crate::common::{Backend, Server};

async fn start_server(gh: &FakeGitHubOAuth, signup: bool) -> (Server, FakeAnthropic) {
    let fake = FakeAnthropic::start().await;
    let base = gh.base_url();
    let signup = if signup { "true" } else { "false" };
    let env = [
        ("AGENTD_GITHUB_CLIENT_ID", FakeGitHubOAuth::CLIENT_ID),
        (
            "AGENTD_GITHUB_CLIENT_SECRET",
            FakeGitHubOAuth::CLIENT_SECRET,
        ),
        ("AGENTD_GITHUB_OAUTH_URL", base.as_str()),
        ("AGENTD_GITHUB_API_URL", base.as_str()),
        ("AGENTD_GITHUB_ALLOW_SIGNUP", signup),
    ];
    let server = Server::start_with(Backend::Sqlite, &fake, &env).await;
    (server, fake)
}

/// Start → GitHub's authorize page (which approves at once) → the callback
/// URL, not yet followed.
async fn callback_url(b: &mut Browser, gh: &FakeGitHubOAuth) -> String {
    let start = b.get("/api/v1/auth/github/start").await;
    assert_eq!(start.status, 303, "{}", start.body);
    assert!(b.cookie("agentd_oauth_state").is_some());
    let authorize = start.location().unwrap();
    assert!(
        authorize.starts_with(&format!(
            "{}/login/oauth/authorize?client_id=Iv1.testclient&redirect_uri=",
            gh.base_url()
        )),
        "{authorize}"
    );
    assert!(
        authorize.contains("&scope=read%3Auser&state="),
        "{authorize}"
    );
    let back = b.get(&authorize).await;
    assert_eq!(back.status, 303);
    back.location().unwrap()
}

async fn sign_in(b: &mut Browser, gh: &FakeGitHubOAuth) -> Answer {
    let url = callback_url(b, gh).await;
    b.get(&url).await
}

async fn actions(server: &Server) -> Vec<String> {
    let (_, audit) = server.get("/api/v1/audit").await;
    audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_accounts_link_then_sign_in() {
    let gh = FakeGitHubOAuth::start().await;
    let (server, _fake) = start_server(&gh, false).await;
    let ann = server.member("ann").await;

    // Nobody is linked to @octocat yet, and sign-up is off.
    let mut stranger = Browser::new(&server.base);
    let refused = sign_in(&mut stranger, &gh).await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(refused.body["error"]["code"], "forbidden");
    assert!(
        refused.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("@octocat")
    );
    assert!(stranger.cookie("agentd_session").is_none());

    // Ann, logged in, links her GitHub account.
    let mut b = Browser::new(&server.base);
    b.login("ann", &ann.password).await;
    let linked = sign_in(&mut b, &gh).await;
    assert_eq!(linked.status, 303, "{}", linked.body);
    assert_eq!(linked.location().unwrap(), "/");
    assert!(
        b.cookie("agentd_oauth_state").is_none(),
        "the state cookie is cleared"
    );

    // From now on GitHub signs her in.
    let mut fresh = Browser::new(&server.base);
    let url = callback_url(&mut fresh, &gh).await;
    let done = fresh.get(&url).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let session = done.set_cookie("agentd_session").unwrap();
    assert!(session.contains("HttpOnly"), "{session}");
    let me = fresh.get("/api/v1/auth/me").await;
    assert_eq!(me.body["user"]["name"], "ann");

    // A state works once.
    let replay = fresh.get(&url).await;
    assert_eq!(replay.status, 401, "{}", replay.body);
    assert_eq!(replay.body["error"]["code"], "unauthorized");

    // A callback opened in another browser than the one that started is
    // refused (it would log that browser into someone else's account).
    let mut attacker = Browser::new(&server.base);
    let url = callback_url(&mut attacker, &gh).await;
    let mut victim = Browser::new(&server.base);
    assert_eq!(victim.get(&url).await.status, 401);

    // The token exchange asked for JSON and carried the app's credentials.
    let exchange = gh
        .requests()
        .into_iter()
        .find(|r| r.path == "/login/oauth/access_token")
        .unwrap();
    assert_eq!(exchange.headers["accept"], "application/json");
    assert_eq!(exchange.body["client_id"], FakeGitHubOAuth::CLIENT_ID);
    assert_eq!(
        exchange.body["client_secret"],
        FakeGitHubOAuth::CLIENT_SECRET
    );
    assert!(
        exchange.body["redirect_uri"]
            .as_str()
            .unwrap()
            .ends_with("/api/v1/auth/github/callback")
    );
    let user_call = gh
        .requests()
        .into_iter()
        .find(|r| r.path == "/user")
        .unwrap();
    assert!(user_call.headers["authorization"].starts_with("Bearer gho_"));

    let actions = actions(&server).await;
    for a in ["oauth.link", "oauth.login"] {
        assert!(actions.iter().any(|x| x == a), "{a} in {actions:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_up_when_allowed_and_failures_are_clear() {
    let gh = FakeGitHubOAuth::start().await;
    let (server, _fake) = start_server(&gh, true).await;
    gh.sign_in_as(Some(GitHubAccount {
        id: 99,
        login: "hubot".into(),
    }));
    let mut b = Browser::new(&server.base);
    let done = sign_in(&mut b, &gh).await;
    assert_eq!(done.status, 303, "{}", done.body);
    let me = b.get("/api/v1/auth/me").await;
    assert_eq!(me.body["user"]["name"], "hubot");
    assert_eq!(me.body["user"]["role"], "member");
    assert!(actions(&server).await.contains(&"oauth.signup".to_owned()));

    // A second GitHub account whose login is taken gets a variant name.
    gh.sign_in_as(Some(GitHubAccount {
        id: 100,
        login: "admin".into(),
    }));
    let mut other = Browser::new(&server.base);
    assert_eq!(sign_in(&mut other, &gh).await.status, 303);
    let me = other.get("/api/v1/auth/me").await;
    assert_eq!(me.body["user"]["name"], "admin-github");
    assert_eq!(me.body["user"]["role"], "member");

    // A code GitHub does not know.
    let url = callback_url(&mut b, &gh).await;
    let (prefix, rest) = url.split_once("code=").unwrap();
    let state = rest.split_once('&').unwrap().1;
    let bad = b.get(&format!("{prefix}code=nope&{state}")).await;
    assert_eq!(bad.status, 401, "{}", bad.body);
    assert!(
        bad.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("bad_verification_code")
    );

    // The user clicks "Cancel" on GitHub.
    gh.sign_in_as(None);
    let cancelled = sign_in(&mut b, &gh).await;
    assert_eq!(cancelled.status, 401);
    assert!(
        cancelled.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("access_denied")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_configuration_the_routes_are_not_found() {
    let fake = FakeAnthropic::start().await;
    let server = Server::start(Backend::Sqlite, &fake).await;
    let mut b = Browser::new(&server.base);
    for path in [
        "/api/v1/auth/github/start",
        "/api/v1/auth/github/callback?code=a&state=b",
    ] {
        let res = b.get(path).await;
        assert_eq!(res.status, 404, "{path}");
        assert_eq!(res.body["error"]["code"], "not_found");
        assert!(
            res.body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("AGENTD_GITHUB_CLIENT_ID"),
            "{}",
            res.body
        );
    }
}
