//! Who sends a raw request and what it says: the clauses after `<who> sends <METHOD> "<path>"`
//! read into a [`RawRequest`], its placeholders filled in, its body built, its `Authorization`
//! and `Content-Type` headers chosen.

use transcript::{RawRequest, basic_authorization};

use crate::raw::{access_token, admin_token, expand, form_of_size, json_of_size, pad};
use crate::world::ConformanceWorld;

/// Who sends a raw request, which decides its `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Who {
    /// The admin token as Bearer.
    Admin,
    /// The API client's HTTP Basic credentials.
    Portal,
    /// No `Authorization` header.
    Anonymous,
    /// The named device's access token as Bearer.
    Device(String),
}

impl Who {
    /// Reads `the admin`, `the portal`, `a client` or a quoted device name.
    pub fn parse(text: &str) -> Self {
        match text {
            "the admin" => Who::Admin,
            "the portal" => Who::Portal,
            "a client" => Who::Anonymous,
            quoted => Who::Device(quoted.trim_matches('"').to_string()),
        }
    }

    /// The `Authorization` header this sender sends, if any.
    async fn authorization(&self, world: &mut ConformanceWorld) -> Option<String> {
        match self {
            Who::Admin => Some(format!("Bearer {}", admin_token(world))),
            Who::Portal => {
                let (id, secret) = world.target().api_client();
                Some(basic_authorization(&format!("{id}:{secret}")))
            }
            Who::Anonymous => None,
            Who::Device(device) => Some(format!("Bearer {}", access_token(world, device))),
        }
    }
}

/// The body a request's clauses name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BodySpec {
    /// `with the JSON body '...'`.
    Json(String),
    /// `with the JSON body` of the step's doc string.
    JsonDoc,
    /// `with the form body '...'`.
    Form(String),
    /// `with the body '...'`, sent as written.
    Plain(String),
    /// `with a JSON body of N bytes`.
    JsonOfSize(usize),
    /// `with a form body of N bytes`.
    FormOfSize(usize),
}

/// A request's clauses as written, before any placeholder is filled in.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Clauses {
    /// `with the JSON body '...'`, `with a form body of N bytes`, ...
    pub body: Option<BodySpec>,
    /// `padded to N bytes`.
    pub pad_to: Option<usize>,
    /// `typed "..."`; `Some(None)`: `without a Content-Type`, no such header at all.
    pub content_type: Option<Option<String>>,
    /// `with the header 'Name: value'`, each.
    pub headers: Vec<String>,
    /// `with the Basic credentials 'id:secret'`.
    pub basic: Option<String>,
    /// `without credentials`.
    pub no_credentials: bool,
    /// `N times`.
    pub times: Option<usize>,
}

fn quoted(text: &str) -> Result<(String, &str), String> {
    let mut chars = text.chars();
    let quote = match chars.next() {
        Some(q @ ('\'' | '"')) => q,
        _ => return Err(format!("expected a quoted value at {text:?}")),
    };
    let inner = &text[1..];
    let end = inner.find(quote).ok_or_else(|| format!("no closing {quote} in {text:?}"))?;
    Ok((inner[..end].to_string(), &inner[end + 1..]))
}

fn number(text: &str) -> Result<(usize, &str), String> {
    let digits = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let n = text[..digits].parse().map_err(|_| format!("expected a number at {text:?}"))?;
    Ok((n, &text[digits..]))
}

fn bytes_suffix(text: &str) -> Result<&str, String> {
    text.strip_prefix(" bytes").ok_or_else(|| format!("expected \" bytes\" at {text:?}"))
}

/// A request's clauses (the step's text after the path) as written, or what cannot be read.
pub fn parse_clauses(text: &str) -> Result<Clauses, String> {
    let mut out = Clauses::default();
    let mut rest = text;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(out);
        }
        if let Some(r) = rest.strip_prefix("and ") {
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the JSON body:") {
            out.body = Some(BodySpec::JsonDoc);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the JSON body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Json(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the form body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Form(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the body ") {
            let (body, r) = quoted(r)?;
            out.body = Some(BodySpec::Plain(body));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with a JSON body of ") {
            let (n, r) = number(r)?;
            out.body = Some(BodySpec::JsonOfSize(n));
            rest = bytes_suffix(r)?;
        } else if let Some(r) = rest.strip_prefix("with a form body of ") {
            let (n, r) = number(r)?;
            out.body = Some(BodySpec::FormOfSize(n));
            rest = bytes_suffix(r)?;
        } else if let Some(r) = rest.strip_prefix("padded to ") {
            let (n, r) = number(r)?;
            out.pad_to = Some(n);
            rest = bytes_suffix(r)?;
        } else if let Some(r) = rest.strip_prefix("typed ") {
            let (content_type, r) = quoted(r)?;
            out.content_type = Some(Some(content_type));
            rest = r;
        } else if let Some(r) = rest.strip_prefix("without a Content-Type") {
            out.content_type = Some(None);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the header ") {
            let (header, r) = quoted(r)?;
            out.headers.push(header);
            rest = r;
        } else if let Some(r) = rest.strip_prefix("without credentials") {
            out.no_credentials = true;
            rest = r;
        } else if let Some(r) = rest.strip_prefix("with the Basic credentials ") {
            let (credentials, r) = quoted(r)?;
            out.basic = Some(credentials);
            rest = r;
        } else if rest.starts_with(|c: char| c.is_ascii_digit()) {
            let (n, r) = number(rest)?;
            out.times = Some(n);
            rest = r.strip_prefix(" times").ok_or_else(|| format!("expected \" times\" at {r:?}"))?;
        } else {
            return Err(format!("cannot read {rest:?} as a clause of a request"));
        }
    }
}

/// A raw request as a step writes it, and how many times to send it.
#[derive(Debug)]
pub struct Written {
    /// The request, its placeholders filled in.
    pub request: RawRequest,
    /// How many times to send it (`<n> times`, else once).
    pub times: usize,
}

/// Reads a request step: `who` sends `method` to `path` (its placeholders filled in already) with
/// `clauses` (the step's text after the path) and the step's doc string; placeholders are filled
/// in, the body built and the headers chosen. A clause the grammar does not know is a defect of the scenario: the step fails.
pub async fn written(
    world: &mut ConformanceWorld,
    who: &Who,
    method: &str,
    path: &str,
    clauses: &str,
    docstring: Option<&str>,
) -> Written {
    let clauses = parse_clauses(clauses).unwrap_or_else(|e| fail!("{e}"));
    let (body, default_type) = body(world, &clauses, docstring).await;
    let content_type = match &clauses.content_type {
        Some(chosen) => chosen.clone(),
        None => default_type.map(str::to_string),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(authorization) = who.authorization(world).await {
        headers.push(("Authorization".into(), authorization));
    }
    if clauses.no_credentials {
        headers.clear();
    }
    if let Some(credentials) = &clauses.basic {
        let credentials = expand(world, credentials).await;
        headers.retain(|(name, _)| !name.eq_ignore_ascii_case("authorization"));
        headers.push(("Authorization".into(), basic_authorization(&credentials)));
    }
    if let Some(content_type) = content_type {
        headers.push(("Content-Type".into(), content_type));
    }
    for header in &clauses.headers {
        let header = expand(world, header).await;
        let Some((name, value)) = header.split_once(':') else {
            fail!("a header is written 'Name: value', not {header:?}");
        };
        headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name.trim()));
        headers.push((name.trim().to_string(), value.trim().to_string()));
    }
    let mut request = RawRequest::new(method, path).headers(&headers);
    if let Some(body) = body {
        request = request.body(body);
    }
    Written { request, times: clauses.times.unwrap_or(1) }
}

/// The body the clauses name, padded when they say so, and the Content-Type it goes with unless
/// the clauses choose one.
async fn body(
    world: &mut ConformanceWorld,
    clauses: &Clauses,
    docstring: Option<&str>,
) -> (Option<String>, Option<&'static str>) {
    const JSON: Option<&str> = Some("application/json");
    const FORM: Option<&str> = Some("application/x-www-form-urlencoded");
    let (body, default_type) = match &clauses.body {
        None => (None, None),
        Some(BodySpec::Json(text)) => (Some(expand(world, text).await), JSON),
        Some(BodySpec::JsonDoc) => {
            let text = docstring.unwrap_or_else(|| fail!("the step names a JSON body but has no doc string"));
            (Some(expand(world, text).await), JSON)
        }
        Some(BodySpec::Form(text)) => (Some(expand(world, text).await), FORM),
        Some(BodySpec::Plain(text)) => (Some(expand(world, text).await), None),
        Some(BodySpec::JsonOfSize(n)) => (Some(json_of_size(*n)), JSON),
        Some(BodySpec::FormOfSize(n)) => (Some(form_of_size(*n)), FORM),
    };
    let is_form = matches!(clauses.body, Some(BodySpec::Form(_) | BodySpec::FormOfSize(_)));
    let body = match (body, clauses.pad_to) {
        (Some(body), Some(size)) => Some(pad(&body, size, is_form)),
        (None, Some(size)) => Some(pad("", size, false)),
        (body, None) => body,
    };
    (body, default_type)
}
