//! `cred providers [list|show ID|search WORD]`: the providers `cred add`
//! knows, from the built-in catalog and the user's own definitions
//! (`$CRED_CONFIG_DIR/providers/ID.toml`), and the generic one.

use clap::Subcommand;
use serde_json::json;

use super::Ctx;
use crate::error::{Error, Exit, Result};
use crate::providers::definition::{AuthDef, Definition, FieldKind, Origin};
use crate::providers::{ProviderKind, catalog, generic};

/// List, show and search the providers `cred add` knows: the catalog, and your own
#[derive(Debug, clap::Args)]
#[command(after_help = "\
A provider of your own is a file CONFIG_DIR/providers/ID.toml in the format of
docs/providers.md; it may override a built-in of the same id.

Examples:
  cred providers
  cred providers search mail
  cred providers show github --json")]
pub struct ProvidersArgs {
    #[command(subcommand)]
    pub command: Option<ProvidersCommand>,

    /// Print JSON for scripts
    #[arg(long, global = true)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum ProvidersCommand {
    /// Every provider: id, name, where it comes from, what it is (the default)
    #[command(visible_alias = "ls")]
    List,
    /// Everything cred knows of one provider: fields, auth, check, guide
    Show {
        /// The provider's id, as `cred add` takes it
        #[arg(value_name = "ID", add = crate::complete::providers())]
        id: String,
    },
    /// The providers whose id, name, summary or keywords hold WORD
    Search {
        /// A word to look for (any case)
        #[arg(value_name = "WORD")]
        word: String,
    },
}

pub fn run(ctx: &Ctx, args: ProvidersArgs) -> Result<Exit> {
    match args.command.unwrap_or(ProvidersCommand::List) {
        ProvidersCommand::List => list(ctx, catalog::all()?, args.json, true),
        ProvidersCommand::Search { word } => search(ctx, &word, args.json),
        ProvidersCommand::Show { id } => show(ctx, &id, args.json),
    }
}

const GENERIC_SUMMARY: &str = "Any API-key HTTP API: you give its base URL and where the key goes";

fn source(d: &Definition) -> &'static str {
    match &d.origin {
        Origin::BuiltIn => "built-in",
        Origin::User {
            overrides: true, ..
        } => "yours (overrides built-in)",
        Origin::User { .. } => "yours",
    }
}

fn list(ctx: &Ctx, defs: Vec<&'static Definition>, json: bool, with_generic: bool) -> Result<Exit> {
    if json {
        let mut items: Vec<_> = defs
            .iter()
            .map(|d| {
                json!({
                    "id": d.id,
                    "name": d.name,
                    "summary": d.summary,
                    "source": if d.origin == Origin::BuiltIn { "built-in" } else { "user" },
                    "overrides_built_in": matches!(d.origin, Origin::User { overrides: true, .. }),
                })
            })
            .collect();
        if with_generic {
            items.push(json!({
                "id": "generic", "name": "Generic", "summary": GENERIC_SUMMARY,
                "source": "built-in", "overrides_built_in": false,
            }));
        }
        ctx.ui.out_json(&items)?;
        return Ok(Exit::Success);
    }
    let mut rows: Vec<[String; 3]> = vec![["ID".into(), "SOURCE".into(), "SUMMARY".into()]];
    for d in &defs {
        rows.push([d.id.clone(), source(d).into(), d.summary.clone()]);
    }
    if with_generic {
        rows.push(["generic".into(), "built-in".into(), GENERIC_SUMMARY.into()]);
    }
    let widths = [0, 1].map(|j| rows.iter().map(|r| r[j].chars().count()).max().unwrap_or(0));
    let mut out = String::new();
    for (i, r) in rows.iter().enumerate() {
        let line = format!(
            "{:<w0$}  {:<w1$}  {}",
            r[0],
            r[1],
            r[2],
            w0 = widths[0],
            w1 = widths[1]
        );
        let line = line.trim_end();
        if i == 0 {
            out.push_str(&ctx.ui.paint_out("1", line));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    ctx.ui.out(out.trim_end_matches('\n'))?;
    Ok(Exit::Success)
}

fn search(ctx: &Ctx, word: &str, json: bool) -> Result<Exit> {
    let w = word.trim().to_lowercase();
    let hit = |text: &str| text.to_lowercase().contains(&w);
    let found: Vec<_> = catalog::all()?
        .into_iter()
        .filter(|d| {
            hit(&d.id) || hit(&d.name) || hit(&d.summary) || d.keywords.iter().any(|k| hit(k))
        })
        .collect();
    let generic = hit("generic") || hit(GENERIC_SUMMARY);
    if found.is_empty() && !generic {
        return Err(Error::user(format!(
            "no provider matches `{}`",
            crate::escape::visible(word)
        ))
        .hint("`cred providers list` shows them all; for any other API: cred add generic"));
    }
    list(ctx, found, json, generic)
}

fn show(ctx: &Ctx, id: &str, json: bool) -> Result<Exit> {
    let def = match ProviderKind::resolve(&id.trim().to_ascii_lowercase())
        .map_err(|mut e| {
            e.kind = Exit::Failure.into();
            e
        })?
        .definition()
    {
        Some(d) => d,
        None => return show_generic(ctx, json),
    };
    if json {
        ctx.ui.out_json(&definition_json(def))?;
        return Ok(Exit::Success);
    }
    ctx.ui.out(&definition_text(def))?;
    Ok(Exit::Success)
}

fn show_generic(ctx: &Ctx, json: bool) -> Result<Exit> {
    if json {
        ctx.ui.out_json(&json!({
            "id": "generic",
            "name": "Generic",
            "summary": GENERIC_SUMMARY,
            "source": "built-in",
            "guide": generic::GUIDE,
        }))?;
    } else {
        ctx.ui.out(&format!(
            "generic: {GENERIC_SUMMARY}\nSource:  built in\nAdd it:  cred add generic --base-url URL [--placement header|query] [--key-name NAME] [--template 'Bearer ${{apiKey}}'] [--check-path PATH]\n\n{}",
            generic::GUIDE
        ))?;
    }
    Ok(Exit::Success)
}

fn kind_id(k: FieldKind) -> &'static str {
    match k {
        FieldKind::Text => "text",
        FieldKind::Email => "email",
        FieldKind::Subdomain => "subdomain",
        FieldKind::Number => "number",
    }
}

fn auth_json(a: &AuthDef) -> serde_json::Value {
    match a {
        AuthDef::Header { header, value } => {
            json!({"scheme": "header", "header": header, "value": value})
        }
        AuthDef::Query { param, value } => {
            json!({"scheme": "query", "param": param, "value": value})
        }
        AuthDef::Basic { user, password } => {
            json!({"scheme": "basic", "user": user, "password": password})
        }
    }
}

fn auth_text(a: &AuthDef) -> String {
    match a {
        AuthDef::Header { header, value } => format!("header {header}: {value}"),
        AuthDef::Query { param, value } => format!("query parameter {param}={value}"),
        AuthDef::Basic { user, password } => {
            format!("HTTP Basic, user {user}, password {password}")
        }
    }
}

fn definition_json(d: &Definition) -> serde_json::Value {
    let (path, overrides) = match &d.origin {
        Origin::BuiltIn => (None, false),
        Origin::User { path, overrides } => (Some(path.display().to_string()), *overrides),
    };
    json!({
        "id": d.id,
        "name": d.name,
        "summary": d.summary,
        "source": if path.is_some() { "user" } else { "built-in" },
        "path": path,
        "overrides_built_in": overrides,
        "docs": d.docs,
        "keywords": d.keywords,
        "base_url": d.base_url,
        "url_variable": crate::providers::url_var_of(&d.id),
        "secret_label": d.secret_label,
        "example_path": d.example_path,
        "pagination": d.pagination.id(),
        "page_param": d.page_param,
        "per_page_param": d.per_page_param,
        "per_page": d.per_page,
        "headers": d.headers,
        "fields": d.fields.iter().map(|f| json!({
            "id": f.id,
            "flag": f.flag,
            "prompt": f.prompt,
            "help": f.help,
            "example": f.example,
            "kind": kind_id(f.kind),
            "domain": f.domain,
            "pattern": f.pattern,
            "default": f.default,
            "exec": f.exec,
        })).collect::<Vec<_>>(),
        "auth": auth_json(&d.auth),
        "check": {
            "method": d.check.method,
            "path": d.check.path,
            "rejected": d.check.rejected,
            "forbidden": d.check.forbidden,
            "not_found": d.check.not_found,
            "identity": d.check.identity,
        },
        "rate_limit": d.rate_limit.as_ref().and_then(|r| r.hint.clone()),
        "guide": d.guide,
        "api_notes": d.api_notes,
    })
}

fn definition_text(d: &Definition) -> String {
    let origin = match &d.origin {
        Origin::BuiltIn => "built in".to_string(),
        Origin::User {
            path,
            overrides: true,
        } => format!("your file {} (overrides the built-in)", path.display()),
        Origin::User { path, .. } => format!("your file {}", path.display()),
    };
    let mut out = format!("{}: {}\n{}\n\n", d.id, d.name, d.summary);
    let mut row = |label: &str, value: &str| out.push_str(&format!("{label:<11} {value}\n"));
    row("Source:", &origin);
    row("Docs:", &d.docs);
    let var = crate::providers::url_var_of(&d.id);
    let base = match std::env::var(&var).ok().filter(|v| !v.trim().is_empty()) {
        Some(now) => format!(
            "{} (now {} from {var})",
            d.base_url,
            crate::escape::visible(&now)
        ),
        None => format!("{} (another address: set {var})", d.base_url),
    };
    row("Base URL:", &base);
    row("Secret:", &d.secret_label);
    row("Auth:", &auth_text(&d.auth));
    if !d.headers.is_empty() {
        let h: Vec<String> = d.headers.iter().map(|(k, v)| format!("{k}: {v}")).collect();
        row("Headers:", &format!("{} (on every request)", h.join(", ")));
    }
    let mut check = format!("{} {}", d.check.method, d.check.path);
    if let Some(i) = &d.check.identity {
        check.push_str(&format!(", names the caller: {i}"));
    }
    row("Check:", &check);
    let mut paging = d.pagination.id().to_string();
    if d.pagination == crate::providers::definition::PaginationStyle::PageParam {
        paging.push_str(&format!(
            " ({}=1, 2, …{})",
            d.page_param.as_deref().unwrap_or("page"),
            match (&d.per_page_param, d.per_page) {
                (Some(p), Some(n)) => format!("; {p}={n}"),
                (Some(p), None) => format!("; size in {p}"),
                _ => String::new(),
            }
        ));
    }
    row("Pagination:", &paging);
    if let Some(h) = d.rate_limit.as_ref().and_then(|r| r.hint.as_deref()) {
        row("Rate limit:", h);
    }
    let mut add = format!("cred add {}", d.id);
    for f in &d.fields {
        let flag = if f.flag.starts_with("--field ") {
            format!("--field {}={}", f.id, f.example)
        } else {
            format!("{} {}", f.flag, f.example)
        };
        row(
            &format!("{}:", f.label),
            &format!(
                "{} ({flag}){}",
                f.prompt,
                f.default
                    .as_deref()
                    .map(|d| format!(" [default: {d}]"))
                    .unwrap_or_default()
            ),
        );
        add.push(' ');
        add.push_str(&flag);
    }
    row("Add it:", &add);
    out.push('\n');
    out.push_str(d.guide.trim_matches('\n'));
    out
}
