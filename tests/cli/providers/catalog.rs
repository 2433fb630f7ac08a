//! The built-in catalog against APIs that answer as their docs show: for
//! every built-in provider, a loopback server reached through the URL
//! override `CRED_PROVIDER_URL_<ID>` answers the check (accepted with the
//! identity JSON the API documents, rejected, forbidden where the API
//! distinguishes it), and `cred add ID --api-key-stdin` without a terminal:
//! stores an accepted key and prints who it belongs to; refuses a rejected
//! or forbidden one with the definition's words and stores nothing; sends
//! the key exactly as the API expects it (header name and form, Basic
//! pair) to the check's method and path; and never prints it.
//!
//! One table row per provider ([`CASES`]) and one `#[test]` per row, so a
//! new provider is one row and one line in the `cases!` list.

use crate::common::*;

/// How the check request carries the key.
#[derive(Clone, Copy)]
enum Carry {
    /// A header `NAME: PREFIX KEY` (the prefix may be empty).
    Header(&'static str, &'static str),
    /// HTTP Basic with this user and the key as password.
    Basic(&'static str),
}

/// One built-in provider, and its API as the docs show it.
struct Case {
    id: &'static str,
    /// `--field ID=VALUE` answers to the provider's questions.
    fields: &'static [(&'static str, &'static str)],
    /// The URL override after the server's address (with the same
    /// `{field}` placeholders as the definition's base URL).
    base: &'static str,
    /// The check's method, and its path and query as the server sees them.
    method: &'static str,
    path: &'static str,
    carry: Carry,
    /// Headers the check must send besides the key.
    headers: &'static [(&'static str, &'static str)],
    /// The documented 2xx answer, and what cred makes of it.
    accepted: &'static str,
    identity: Option<&'static str>,
    /// The documented answer to a wrong key, and how cred's error begins.
    rejected: (u16, &'static str),
    rejected_says: &'static str,
    /// Where the API tells a good key without permission from a bad one.
    forbidden: Option<((u16, &'static str), &'static str)>,
}

const CASES: &[Case] = &[
    Case {
        id: "airtable",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v0/meta/whoami",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"id":"usrL2PNC5o3H4lBEi","email":"foo@bar.com","scopes":["schema.bases:read","user.email:read"]}"#,
        identity: Some("Authenticated as foo@bar.com (usrL2PNC5o3H4lBEi)"),
        rejected: (
            401,
            r#"{"error":{"type":"AUTHENTICATION_REQUIRED","message":"Authentication required"}}"#,
        ),
        rejected_says: "Airtable rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"error":{"type":"INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND","message":"Invalid permissions, or the requested model was not found."}}"#,
            ),
            "Airtable accepted the token but refused",
        )),
    },
    Case {
        id: "anthropic",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v1/models",
        carry: Carry::Header("x-api-key", ""),
        headers: &[("anthropic-version", "2023-06-01")],
        accepted: r#"{"data":[{"type":"model","id":"claude-sonnet-4-20250514","display_name":"Claude Sonnet 4","created_at":"2025-05-22T00:00:00Z"}],"has_more":false,"first_id":"claude-sonnet-4-20250514","last_id":"claude-sonnet-4-20250514"}"#,
        identity: None,
        rejected: (
            401,
            r#"{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}"#,
        ),
        rejected_says: "Anthropic rejected the key",
        forbidden: Some((
            (
                403,
                r#"{"type":"error","error":{"type":"permission_error","message":"Your API key does not have permission to use the specified resource."}}"#,
            ),
            "Anthropic accepted the key but refused",
        )),
    },
    Case {
        id: "asana",
        fields: &[],
        base: "/api/1.0",
        method: "GET",
        path: "/api/1.0/users/me",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"data":{"gid":"12345","resource_type":"user","name":"Greg Sanchez","email":"gsanchez@example.com","workspaces":[{"gid":"12345","resource_type":"workspace","name":"My Company Workspace"}]}}"#,
        identity: Some("Authenticated as Greg Sanchez <gsanchez@example.com>"),
        rejected: (401, r#"{"errors":[{"message":"Not Authorized"}]}"#),
        rejected_says: "Asana rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"errors":[{"message":"You do not have access to the requested resource."}]}"#,
            ),
            "Asana accepted the token but refused",
        )),
    },
    Case {
        id: "clickup",
        fields: &[],
        base: "/api/v2",
        method: "GET",
        path: "/api/v2/user",
        carry: Carry::Header("Authorization", ""),
        headers: &[],
        accepted: r##"{"user":{"id":123,"username":"John Doe","email":"johndoe@gmail.com","color":"#000000","profilePicture":"https://clickup.com/avatar.jpg"}}"##,
        identity: Some("Authenticated as John Doe <johndoe@gmail.com>"),
        rejected: (401, r#"{"err":"Token invalid","ECODE":"OAUTH_025"}"#),
        rejected_says: "ClickUp rejected the token",
        forbidden: None,
    },
    Case {
        id: "cloudflare",
        fields: &[],
        base: "/client/v4",
        method: "GET",
        path: "/client/v4/user/tokens/verify",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"success":true,"errors":[],"messages":[{"code":10000,"message":"This API Token is valid and active","type":null}],"result":{"id":"f267e341f3dd4697bd3b9f71dd96247f","status":"active","not_before":"2018-07-01T05:20:00Z","expires_on":"2030-01-01T00:00:00Z"}}"#,
        identity: Some("Token f267e341f3dd4697bd3b9f71dd96247f (active)"),
        rejected: (
            401,
            r#"{"success":false,"errors":[{"code":1000,"message":"Invalid API Token"}],"messages":[],"result":null}"#,
        ),
        rejected_says: "Cloudflare rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"success":false,"errors":[{"code":9109,"message":"Unauthorized to access requested resource"}],"messages":[],"result":null}"#,
            ),
            "Cloudflare refused to verify the token as a user token",
        )),
    },
    Case {
        id: "confluence",
        fields: &[("site", "acme"), ("email", "mia@example.com")],
        base: "/{site}/wiki",
        method: "GET",
        path: "/acme/wiki/rest/api/user/current",
        carry: Carry::Basic("mia@example.com"),
        headers: &[("Accept", "application/json")],
        accepted: r#"{"type":"known","accountId":"5b10a2844c20165700ede21g","accountType":"atlassian","email":"mia@example.com","publicName":"Mia","displayName":"Mia Krystof"}"#,
        identity: Some("Authenticated as Mia Krystof <mia@example.com>"),
        rejected: (
            401,
            r#"{"message":"Client must be authenticated to access this resource.","statusCode":401}"#,
        ),
        rejected_says: "Confluence rejected the email and API token",
        forbidden: Some((
            (
                403,
                r#"{"message":"User does not have permission to use Confluence","statusCode":403}"#,
            ),
            "Confluence accepted the credentials but refused",
        )),
    },
    Case {
        id: "datadog",
        fields: &[("site", "datadoghq.eu")],
        base: "/{site}",
        method: "GET",
        path: "/datadoghq.eu/api/v1/validate",
        carry: Carry::Header("DD-API-KEY", ""),
        headers: &[("Accept", "application/json")],
        accepted: r#"{"valid":true}"#,
        identity: None,
        // Datadog answers an invalid API key with 403, not 401.
        rejected: (403, r#"{"errors":["Forbidden"]}"#),
        rejected_says: "Datadog rejected the API key",
        forbidden: None,
    },
    Case {
        id: "digitalocean",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v2/account",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"account":{"droplet_limit":25,"floating_ip_limit":5,"email":"sammy@digitalocean.com","name":"Sammy the Shark","uuid":"b6fr89dbf6d9156cace5f3c78dc9851d957381ef","email_verified":true,"status":"active","status_message":" ","team":{"uuid":"5df3e3004a17e242b7c20ca6c9fc25b701a47ece","name":"My Team"}}}"#,
        identity: Some("Authenticated as sammy@digitalocean.com (My Team)"),
        rejected: (
            401,
            r#"{"id":"unauthorized","message":"Unable to authenticate you"}"#,
        ),
        rejected_says: "DigitalOcean rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"id":"forbidden","message":"You are not authorized to perform this operation"}"#,
            ),
            "DigitalOcean accepted the token but it may not read the account",
        )),
    },
    Case {
        id: "github",
        fields: &[],
        base: "",
        method: "GET",
        path: "/user",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[
            ("Accept", "application/vnd.github+json"),
            ("X-GitHub-Api-Version", "2022-11-28"),
        ],
        accepted: r#"{"login":"octocat","id":1,"node_id":"MDQ6VXNlcjE=","type":"User","site_admin":false,"name":"monalisa octocat","company":"GitHub","email":"octocat@github.com"}"#,
        identity: Some("Authenticated as octocat (monalisa octocat)"),
        rejected: (
            401,
            r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#,
        ),
        rejected_says: "GitHub rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"message":"Resource protected by organization SAML enforcement. You must grant your Personal Access token access to this organization.","documentation_url":"https://docs.github.com/rest","status":"403"}"#,
            ),
            "GitHub refused the request (403)",
        )),
    },
    Case {
        id: "gitlab",
        fields: &[("host", "gitlab.example.com")],
        base: "/{host}/api/v4",
        method: "GET",
        path: "/gitlab.example.com/api/v4/user",
        carry: Carry::Header("PRIVATE-TOKEN", ""),
        headers: &[],
        accepted: r#"{"id":1,"username":"john_smith","email":"john@example.com","name":"John Smith","state":"active","locked":false}"#,
        identity: Some("Authenticated as john_smith (John Smith)"),
        rejected: (401, r#"{"message":"401 Unauthorized"}"#),
        rejected_says: "GitLab rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"error":"insufficient_scope","error_description":"The request requires higher privileges than provided by the access token.","scope":"read_user"}"#,
            ),
            "GitLab accepted the token but refused",
        )),
    },
    Case {
        id: "heroku",
        fields: &[],
        base: "",
        method: "GET",
        path: "/account",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[("Accept", "application/vnd.heroku+json; version=3")],
        accepted: r#"{"allow_tracking":true,"beta":false,"email":"username@example.com","id":"01234567-89ab-cdef-0123-456789abcdef","name":"Tina Edmonds","verified":false}"#,
        identity: Some("Authenticated as Tina Edmonds <username@example.com>"),
        rejected: (
            401,
            r#"{"id":"unauthorized","message":"Invalid credentials provided."}"#,
        ),
        rejected_says: "Heroku rejected the key",
        forbidden: Some((
            (
                403,
                r#"{"id":"forbidden","message":"You do not have access to this resource."}"#,
            ),
            "Heroku accepted the key but refused",
        )),
    },
    Case {
        id: "hubspot",
        fields: &[],
        base: "",
        method: "GET",
        path: "/account-info/v3/details",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"portalId":123456,"accountType":"STANDARD","timeZone":"US/Eastern","companyCurrency":"USD","additionalCurrencies":[],"utcOffset":"-05:00","utcOffsetMilliseconds":-18000000,"uiDomain":"app.hubspot.com","dataHostingLocation":"na1"}"#,
        identity: Some("HubSpot account 123456 (app.hubspot.com)"),
        rejected: (
            401,
            r#"{"status":"error","message":"Authentication credentials not found.","category":"INVALID_AUTHENTICATION"}"#,
        ),
        rejected_says: "HubSpot rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"status":"error","message":"This app hasn't been granted all required scopes to make this call.","category":"MISSING_SCOPES"}"#,
            ),
            "HubSpot accepted the token but refused",
        )),
    },
    Case {
        id: "jira",
        fields: &[("site", "acme"), ("email", "mia@example.com")],
        base: "/{site}",
        method: "GET",
        path: "/acme/rest/api/3/myself",
        carry: Carry::Basic("mia@example.com"),
        headers: &[("Accept", "application/json")],
        accepted: r#"{"accountId":"5b10a2844c20165700ede21g","accountType":"atlassian","active":true,"displayName":"Mia Krystof","emailAddress":"mia@example.com","timeZone":"Australia/Sydney"}"#,
        identity: Some("Authenticated as Mia Krystof <mia@example.com>"),
        rejected: (
            401,
            r#"{"errorMessages":["Client must be authenticated to access this resource."],"errors":{}}"#,
        ),
        rejected_says: "Jira rejected the email and API token",
        forbidden: Some((
            (
                403,
                r#"{"errorMessages":["You do not have permission to access this site."],"errors":{}}"#,
            ),
            "Jira accepted the credentials but refused",
        )),
    },
    Case {
        id: "linear",
        fields: &[],
        base: "",
        method: "POST",
        path: "/graphql",
        carry: Carry::Header("Authorization", ""),
        headers: &[("Content-Type", "application/json")],
        accepted: r#"{"data":{"viewer":{"id":"9cfb482a-81e3-4154-b5b9-2c805e70a02d","name":"Ana Lima","email":"ana@example.com"}}}"#,
        identity: Some("Authenticated as Ana Lima <ana@example.com>"),
        rejected: (
            400,
            r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"type":"authentication error","code":"AUTHENTICATION_ERROR","statusCode":401,"userPresentableMessage":"You need to authenticate to access this operation."}}]}"#,
        ),
        rejected_says: "Linear rejected the API key",
        forbidden: None,
    },
    Case {
        id: "mailgun",
        fields: &[("api_host", "api.eu.mailgun.net")],
        base: "/{api_host}",
        method: "GET",
        path: "/api.eu.mailgun.net/v3/domains",
        carry: Carry::Basic("api"),
        headers: &[],
        accepted: r#"{"total_count":1,"items":[{"created_at":"Tue, 12 Feb 2019 20:13:49 GMT","name":"mg.example.com","state":"active","type":"custom","spam_action":"disabled","wildcard":false}]}"#,
        identity: Some("Domains on the account: 1"),
        rejected: (401, "Forbidden"),
        rejected_says: "Mailgun rejected the key",
        forbidden: None,
    },
    Case {
        id: "netlify",
        fields: &[],
        base: "/api/v1",
        method: "GET",
        path: "/api/v1/user",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"id":"5a8dbe2a0b79b73af1e1c1b7","uid":"5a8dbe2a0b79b73af1e1c1b7","full_name":"Ana Lima","avatar_url":null,"email":"ana@example.com"}"#,
        identity: Some("Authenticated as Ana Lima <ana@example.com>"),
        rejected: (
            401,
            r#"{"code":401,"message":"Access Denied: Invalid token supplied"}"#,
        ),
        rejected_says: "Netlify rejected the token",
        forbidden: None,
    },
    Case {
        id: "notion",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v1/users/me",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[("Notion-Version", "2022-06-28")],
        accepted: r#"{"object":"user","id":"16d84278-ab0e-484c-9bdd-b35da3bd8905","name":"pied piper","avatar_url":null,"type":"bot","bot":{"owner":{"type":"workspace","workspace":true},"workspace_name":"Pied Piper"}}"#,
        identity: Some("Authenticated as pied piper (Pied Piper)"),
        rejected: (
            401,
            r#"{"object":"error","status":401,"code":"unauthorized","message":"API token is invalid."}"#,
        ),
        rejected_says: "Notion rejected the integration secret",
        forbidden: Some((
            (
                403,
                r#"{"object":"error","status":403,"code":"restricted_resource","message":"Insufficient permissions for this endpoint."}"#,
            ),
            "Notion accepted the secret but refused",
        )),
    },
    Case {
        id: "openai",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v1/models",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"object":"list","data":[{"id":"gpt-4o","object":"model","created":1715367049,"owned_by":"system"}]}"#,
        identity: None,
        rejected: (
            401,
            r#"{"error":{"message":"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}"#,
        ),
        rejected_says: "OpenAI rejected the key",
        forbidden: Some((
            (
                403,
                r#"{"error":{"code":"unsupported_country_region_territory","message":"Country, region, or territory not supported","param":null,"type":"request_forbidden"}}"#,
            ),
            "OpenAI accepted the key but refused",
        )),
    },
    Case {
        id: "pagerduty",
        fields: &[("api_host", "api.eu.pagerduty.com")],
        base: "/{api_host}",
        method: "GET",
        path: "/api.eu.pagerduty.com/abilities",
        carry: Carry::Header("Authorization", "Token token="),
        headers: &[("Accept", "application/json")],
        accepted: r#"{"abilities":["sso","advanced_reports","teams","read_only_users","team_responders","urgencies"]}"#,
        identity: None,
        rejected: (401, r#"{"error":{"message":"Unauthorized","code":2006}}"#),
        rejected_says: "PagerDuty rejected the API key",
        forbidden: Some((
            (403, r#"{"error":{"message":"Access Denied","code":2010}}"#),
            "PagerDuty accepted the key but refused",
        )),
    },
    Case {
        id: "postmark",
        fields: &[],
        base: "",
        method: "GET",
        path: "/server",
        carry: Carry::Header("X-Postmark-Server-Token", ""),
        headers: &[("Accept", "application/json")],
        accepted: r#"{"ID":1,"Name":"Staging Testing","ApiTokens":["server token"],"Color":"red","SmtpApiActivated":true,"RawEmailEnabled":false,"DeliveryType":"Live"}"#,
        identity: Some("Server Staging Testing (1)"),
        rejected: (
            401,
            r#"{"ErrorCode":10,"Message":"The Server Token you provided in the X-Postmark-Server-Token request header was invalid."}"#,
        ),
        rejected_says: "Postmark rejected the server token",
        forbidden: None,
    },
    Case {
        id: "sendgrid",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v3/user/profile",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"address":"1451 Larimer Street, 3rd floor","city":"Denver","company":"SendGrid","country":"US","first_name":"Ana","last_name":"Lima","phone":"","state":"CO","website":"","zip":"80202"}"#,
        identity: Some("Authenticated as Ana Lima"),
        rejected: (
            401,
            r#"{"errors":[{"field":null,"message":"The provided authorization grant is invalid, expired, or revoked"}]}"#,
        ),
        rejected_says: "SendGrid rejected the key",
        forbidden: Some((
            (
                403,
                r#"{"errors":[{"field":null,"message":"access forbidden"}]}"#,
            ),
            "SendGrid accepted the key but it may not read the user profile",
        )),
    },
    Case {
        id: "sentry",
        fields: &[("host", "sentry.example.com")],
        base: "/{host}",
        method: "GET",
        path: "/sentry.example.com/api/0/organizations/",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"[{"id":"2","slug":"the-interstellar-jurisdiction","name":"The Interstellar Jurisdiction","dateCreated":"2018-11-06T21:19:55.101Z","status":{"id":"active","name":"active"},"links":{"organizationUrl":"https://the-interstellar-jurisdiction.sentry.io","regionUrl":"https://us.sentry.io"}}]"#,
        identity: Some(
            "Organization The Interstellar Jurisdiction (the-interstellar-jurisdiction)",
        ),
        rejected: (401, r#"{"detail":"Invalid token"}"#),
        rejected_says: "Sentry rejected the token",
        forbidden: Some((
            (
                403,
                r#"{"detail":"You do not have permission to perform this action."}"#,
            ),
            "Sentry accepted the token but refused",
        )),
    },
    Case {
        id: "slack",
        fields: &[],
        base: "/api",
        method: "GET",
        path: "/api/auth.test",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"ok":true,"url":"https://subarachnoid.slack.com/","team":"Subarachnoid Workspace","user":"grace","team_id":"T12345678","user_id":"W12345678","bot_id":"B12345678"}"#,
        identity: Some(
            "Authenticated as grace in Subarachnoid Workspace (https://subarachnoid.slack.com/)",
        ),
        // As Slack documents it: HTTP 200 with "ok": false.
        rejected: (200, r#"{"ok":false,"error":"invalid_auth"}"#),
        rejected_says: "Slack rejected the token",
        forbidden: None,
    },
    Case {
        id: "stripe",
        fields: &[],
        base: "",
        method: "GET",
        path: "/v1/balance",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"object":"balance","available":[{"amount":0,"currency":"usd","source_types":{"card":0}}],"connect_reserved":[{"amount":0,"currency":"usd"}],"livemode":false,"pending":[{"amount":0,"currency":"usd","source_types":{"card":0}}]}"#,
        identity: None,
        rejected: (
            401,
            r#"{"error":{"message":"Invalid API Key provided: sk_test_********","type":"invalid_request_error"}}"#,
        ),
        rejected_says: "Stripe rejected the key",
        forbidden: Some((
            (
                403,
                r#"{"error":{"message":"The provided key does not have the required permissions for this endpoint.","type":"invalid_request_error"}}"#,
            ),
            "Stripe accepted the key but it may not read the balance",
        )),
    },
    Case {
        id: "todoist",
        fields: &[],
        base: "/api/v1",
        method: "GET",
        path: "/api/v1/user",
        carry: Carry::Header("Authorization", "Bearer "),
        headers: &[],
        accepted: r#"{"id":"2671355","email":"ana@example.com","full_name":"Ana Lima","inbox_project_id":"6X7rM8997g3RQmvh","is_premium":true,"lang":"en"}"#,
        identity: Some("Authenticated as Ana Lima <ana@example.com>"),
        rejected: (401, "Unauthorized"),
        rejected_says: "Todoist rejected the token",
        forbidden: Some(((403, "Forbidden"), "Todoist accepted the token but refused")),
    },
    Case {
        id: "twilio",
        fields: &[("account_sid", "AC0123456789abcdef0123456789abcdef")],
        base: "",
        method: "GET",
        path: "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef.json",
        carry: Carry::Basic("AC0123456789abcdef0123456789abcdef"),
        headers: &[],
        accepted: r#"{"auth_token":"redacted","date_created":"Thu, 30 Jul 2015 20:00:00 +0000","friendly_name":"My Account","owner_account_sid":"AC0123456789abcdef0123456789abcdef","sid":"AC0123456789abcdef0123456789abcdef","status":"active","type":"Full"}"#,
        identity: Some("Account My Account (active)"),
        rejected: (
            401,
            r#"{"code":20003,"detail":"Your AccountSid or AuthToken was incorrect.","message":"Authentication Error - invalid username","more_info":"https://www.twilio.com/docs/errors/20003","status":401}"#,
        ),
        rejected_says: "Twilio rejected the Account SID and Auth Token",
        forbidden: None,
    },
    Case {
        id: "zendesk",
        fields: &[("subdomain", "acme"), ("email", "johnny@example.com")],
        base: "/{subdomain}",
        method: "GET",
        path: "/acme/api/v2/tickets/count.json",
        carry: Carry::Basic("johnny@example.com/token"),
        headers: &[],
        accepted: r#"{"count":{"value":102,"refreshed_at":"2020-04-06T02:18:17Z"}}"#,
        identity: Some("Tickets in the account: 102"),
        rejected: (401, r#"{"error":"Couldn't authenticate you"}"#),
        rejected_says: "Zendesk rejected the email and API token",
        forbidden: Some((
            (
                403,
                r#"{"error":"Forbidden","description":"You do not have access to this page."}"#,
            ),
            "Zendesk accepted the credentials but refused",
        )),
    },
];

/// The override variable of a provider: `CRED_PROVIDER_URL_<ID>`.
fn override_var(id: &str) -> String {
    format!(
        "CRED_PROVIDER_URL_{}",
        id.to_ascii_uppercase().replace('-', "_")
    )
}

fn case(id: &str) -> &'static Case {
    CASES
        .iter()
        .find(|c| c.id == id)
        .unwrap_or_else(|| panic!("no test case for `{id}`"))
}

/// `cred add ID --field …` with the key on stdin, against `server`.
fn add(env: &TestEnv, c: &Case, server: &Server, key: &str) -> Run {
    let mut args: Vec<String> = vec![c.id.to_string()];
    for (id, value) in c.fields {
        args.push("--field".into());
        args.push(format!("{id}={value}"));
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let base = format!("{}{}", server.url(), c.base);
    env.add(&args, key, &[(&override_var(c.id), base)])
}

/// Every form in which this case's key would be revealed.
fn forms(c: &Case, key: &str) -> Vec<String> {
    match c.carry {
        Carry::Basic(user) => key_forms(key, Some(&basic(user, key))),
        Carry::Header(..) => key_forms(key, None),
    }
}

/// The check request carried the key exactly as the API expects, to the
/// check's method and path, with the headers the API requires.
fn assert_carried(c: &Case, seen: &Seen, key: &str) {
    assert_eq!(
        (seen.method.as_str(), seen.url.as_str()),
        (c.method, c.path),
        "{}: the check's method and path",
        c.id
    );
    for (name, value) in c.headers {
        assert_eq!(seen.header(name), Some(*value), "{}: header {name}", c.id);
    }
    assert_key_carried(c, seen, key);
}

/// A request carried the key exactly as the API expects (header name and
/// form, or the Basic pair), once, and nowhere else.
fn assert_key_carried(c: &Case, seen: &Seen, key: &str) {
    match c.carry {
        Carry::Header(name, prefix) => {
            assert_eq!(
                seen.header(name),
                Some(format!("{prefix}{key}").as_str()),
                "{}: the key in `{name}`",
                c.id
            );
            if !name.eq_ignore_ascii_case("authorization") {
                assert_eq!(
                    seen.header("authorization"),
                    None,
                    "{}: no Authorization besides {name}",
                    c.id
                );
            }
        }
        Carry::Basic(user) => assert_eq!(
            seen.header("authorization"),
            Some(basic(user, key).as_str()),
            "{}: the Basic pair",
            c.id
        ),
    }
    assert!(
        !seen.query().contains(key) && !String::from_utf8_lossy(&seen.body).contains(key),
        "{}: the key rode in the query or body: {seen:?}",
        c.id
    );
    // The key appears once in the request's headers: where it belongs.
    let where_: Vec<&str> = seen
        .headers
        .iter()
        .filter(|(_, v)| {
            v.contains(key) || forms(c, key).iter().skip(2).any(|f| v.contains(f.as_str()))
        })
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(where_.len(), 1, "{}: the key in headers {where_:?}", c.id);
}

/// The base URL's path on the test server, with the fields filled in.
fn base_path(c: &Case) -> String {
    let mut path = c.base.to_string();
    for (id, value) in c.fields {
        path = path.replace(&format!("{{{id}}}"), value);
    }
    path
}

/// The whole story of one provider: accepted (stored, identity printed,
/// key sent as the API wants it), rejected and forbidden (refused with the
/// definition's words, nothing stored), the key never printed.
fn check_provider(id: &str) {
    let c = case(id);
    accepted(c);
    rejected(c);
    forbidden(c);
}

/// Accepted: stored with its fields, the identity printed, the key sent as
/// the API wants it and never printed or written to a file.
fn accepted(c: &'static Case) {
    let id = c.id;
    let env = TestEnv::new();
    let server = Server::start(move |_| Reply::json(200, c.accepted));
    let key = secret(c.id);
    let run = add(&env, c, &server, &key);
    run.ok();
    if let Some(identity) = c.identity {
        assert!(
            run.all().contains(identity),
            "{id}: identity `{identity}`\n{run}"
        );
    }
    assert_no_leak(&run, &forms(c, &key));
    assert_carried(c, &server.only(), &key);
    assert_eq!(stored_secret(&env, c.id), key, "{id}: the stored key");
    let stored = config(&env);
    let entry = &stored["credentials"][c.id];
    assert_eq!(entry["provider"].as_str(), Some(c.id), "{id}: {stored}");
    for (field, value) in c.fields {
        assert_eq!(entry[*field].as_str(), Some(*value), "{id}: field {field}");
    }
    for (path, bytes) in env.files() {
        assert_hidden(&path.display().to_string(), &bytes, &forms(c, &key));
    }

    // `cred call` sends the stored key the same way, under the same base.
    let var = override_var(c.id);
    let base = format!("{}{}", server.url(), c.base);
    let call = run_env(
        &env,
        &["call", c.id, "GET", "/probe"],
        &[(var.as_str(), base)],
    );
    call.ok();
    assert_no_leak(&call, &forms(c, &key));
    let seen = server.requests().pop().expect("the call's request");
    assert_eq!(
        (seen.method.as_str(), seen.url.clone()),
        ("GET", format!("{}/probe", base_path(c))),
        "{id}: the call's method and path"
    );
    assert_key_carried(c, &seen, &key);
}

/// Rejected: refused with the definition's message, nothing stored.
fn rejected(c: &'static Case) {
    let env = TestEnv::new();
    let (status, body) = c.rejected;
    let server = Server::start(move |_| Reply::json(status, body));
    let key = secret(c.id);
    let run = add(&env, c, &server, &key);
    run.code(4);
    assert_error_line(&run, c.rejected_says);
    assert_no_leak(&run, &forms(c, &key));
    assert_carried(c, &server.only(), &key);
    assert_nothing_stored(&env, c.id, Some(&key));
}

/// Forbidden, where the API tells it apart: refused with the definition's
/// words, nothing stored.
fn forbidden(c: &'static Case) {
    let Some(((status, body), says)) = c.forbidden else {
        return;
    };
    let env = TestEnv::new();
    let server = Server::start(move |_| Reply::json(status, body));
    let key = secret(c.id);
    let run = add(&env, c, &server, &key);
    run.code(4);
    assert_error_line(&run, says);
    assert_no_leak(&run, &forms(c, &key));
    assert_nothing_stored(&env, c.id, Some(&key));
}

/// A server that answers `auth.test` as Slack documents it: HTTP 200
/// always, `"ok": true` for `good`, `"ok": false` for a wrong token
/// (`invalid_auth`) or none (`not_authed`).
fn slack_server(good: &str) -> Server {
    let c = case("slack");
    let good = format!("Bearer {good}");
    Server::open(move |seen| match seen.header("authorization") {
        Some(a) if a == good => Reply::json(200, c.accepted),
        Some(_) => Reply::json(200, c.rejected.1),
        None => Reply::json(200, r#"{"ok":false,"error":"not_authed"}"#),
    })
}

/// Slack answers every token with HTTP 200, a bad one with `"ok": false`
/// (`ok_pointer = "/ok"`): a good token is stored with the bot and
/// workspace it belongs to, sent as Slack expects; a bad one is refused
/// with the definition's words and nothing is stored.
#[test]
fn slack() {
    let c = case("slack");
    let env = TestEnv::new();
    let key = secret("slack");
    let server = slack_server(&key);
    let run = add(&env, c, &server, &key);
    run.ok();
    assert!(run.all().contains(c.identity.unwrap()), "{run}");
    assert_no_leak(&run, &forms(c, &key));
    let keyed: Vec<Seen> = server
        .requests()
        .into_iter()
        .filter(|s| s.header("authorization").is_some())
        .collect();
    assert_eq!(keyed.len(), 1, "{keyed:?}");
    assert_carried(c, &keyed[0], &key);
    assert_eq!(stored_secret(&env, c.id), key);
}

/// A token Slack answers with `"ok": false` is refused (exit 4), nothing
/// stored, the key never printed.
#[test]
fn slack_bad_token_is_refused() {
    let c = case("slack");
    let env = TestEnv::new();
    let key = secret("slack");
    let server = slack_server("another-token");
    let run = add(&env, c, &server, &key);
    run.code(4);
    assert_error_line(&run, c.rejected_says);
    assert!(!run.all().contains("accepted"), "{run}");
    assert_no_leak(&run, &forms(c, &key));
    assert_carried(c, &server.only(), &key);
    assert_nothing_stored(&env, c.id, Some(&key));
}

/// Linear's check is a GraphQL POST: the query goes as the body; a key
/// answered with 401, or with HTTP 200 carrying only `errors` (no viewer),
/// is refused and nothing is stored.
#[test]
fn linear_posts_the_viewer_query_and_reads_errors() {
    let c = case("linear");
    let env = TestEnv::new();
    let server = Server::start(move |_| Reply::json(200, c.accepted));
    let key = secret("linear");
    add(&env, c, &server, &key).ok();
    let seen = server.requests().remove(0);
    assert_eq!(
        String::from_utf8_lossy(&seen.body),
        r#"{"query":"{ viewer { id name email } }"}"#
    );
    for (status, body) in [
        (
            401,
            r#"{"errors":[{"message":"Authentication required, not authenticated","extensions":{"code":"AUTHENTICATION_ERROR"}}]}"#,
        ),
        (
            200,
            r#"{"data":null,"errors":[{"message":"Authentication required, not authenticated","extensions":{"code":"AUTHENTICATION_ERROR"}}]}"#,
        ),
    ] {
        let env = TestEnv::new();
        let server = Server::start(move |_| Reply::json(status, body));
        let run = add(&env, c, &server, &key);
        run.code(4);
        assert_error_line(&run, c.rejected_says);
        assert_no_leak(&run, &forms(c, &key));
        assert_nothing_stored(&env, c.id, Some(&key));
    }
}

macro_rules! cases {
    ($($id:ident),* $(,)?) => {
        $(
            #[test]
            fn $id() {
                check_provider(stringify!($id));
            }
        )*

        /// Every built-in provider has a row and a test here (Paligo and
        /// Paymo keep their own tests), and every row is a built-in.
        #[test]
        fn every_built_in_has_a_case() {
            let tested = [$(stringify!($id),)* "slack"];
            let listed = TestEnv::new().run(&["providers", "list", "--json"]);
            listed.ok();
            let ids: Vec<String> = json(&listed)
                .as_array()
                .expect("a JSON array")
                .iter()
                .filter_map(|p| p["id"].as_str().map(str::to_string))
                .filter(|id| !["generic", "paligo", "paymo"].contains(&id.as_str()))
                .collect();
            for id in &ids {
                assert!(tested.contains(&id.as_str()), "no catalog test for `{id}`");
            }
            for id in tested {
                assert!(ids.iter().any(|i| i == id), "`{id}` is tested but not built in: {ids:?}");
                case(id);
            }
            assert_eq!(tested.len(), CASES.len(), "one test per row");
        }
    };
}

cases!(
    airtable,
    anthropic,
    asana,
    clickup,
    cloudflare,
    confluence,
    datadog,
    digitalocean,
    github,
    gitlab,
    heroku,
    hubspot,
    jira,
    linear,
    mailgun,
    netlify,
    notion,
    openai,
    pagerduty,
    postmark,
    sendgrid,
    sentry,
    stripe,
    todoist,
    twilio,
    zendesk,
);

#[test]
fn a_self_hosted_gitlab_or_sentry_may_name_a_port() {
    let env = TestEnv::new();
    for (id, host, path, url) in [
        (
            "gitlab",
            "git.example.com:8443",
            "/user",
            "https://git.example.com:8443/api/v4/user",
        ),
        (
            "sentry",
            "sentry.example.com:9000",
            "/api/0/",
            "https://sentry.example.com:9000/api/0/",
        ),
    ] {
        let field = format!("host={host}");
        env.add(&[id, "--field", &field, "--no-verify"], &secret(id), &[])
            .ok();
        let run = env.run(&["call", id, path, "--dry-run"]);
        run.ok();
        assert!(run.stdout.contains(url), "{run}");
    }
    // Anything else after the host is still refused.
    let run = env.add(
        &[
            "gitlab",
            "--name",
            "bad",
            "--field",
            "host=git.example.com/x",
            "--no-verify",
        ],
        &secret("bad"),
        &[],
    );
    run.code(1);
}
