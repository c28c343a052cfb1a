//! Turns one API request into a `Reply`: script queue, routing, auth, validation,
//! directives, then the body builders. Pure (no I/O): timing happens in `send`.

use std::time::Instant;

use serde_json::{Map, Value};

use crate::azure::{EVENT_STREAM, Gen, JSON, Payload, api_headers, set_header};
use crate::errors::{self, ErrCtx};
use crate::http::Request;
use crate::router::{self, Flavor, Op, Route};
use crate::script::{self, Directives, ScriptEntry};
use crate::send::{Body, Reply};
use crate::state::{Kind, State};
use crate::{chat, completions, embeddings};

struct Ctx<'a> {
    req: &'a Request,
    state: &'a State,
    flavor: Flavor,
    op: Option<Op>,
    started: Instant,
}

impl Ctx<'_> {
    fn api_version(&self) -> String {
        self.req
            .query_param("api-version")
            .unwrap_or_else(|| "v1".to_string())
    }

    fn headers(&self, deployment: Option<&str>, content_type: &str) -> Vec<(String, String)> {
        let elapsed = self.started.elapsed().as_millis();
        let mut h = api_headers(self.flavor, self.req, self.state, deployment, elapsed);
        h.insert(0, ("content-type".into(), content_type.into()));
        h
    }

    fn json(&self, status: u16, body: &Value, deployment: Option<&str>) -> Reply {
        let mut headers = self.headers(deployment, JSON);
        if status >= 400 {
            headers.retain(|(n, _)| n != "x-ms-rai-invoked");
        }
        Reply::new(status, headers, Body::Bytes(body.to_string().into_bytes()))
    }

    fn error(&self, status: u16, body: Value) -> Reply {
        self.json(status, &body, None)
    }

    /// The realistic error answer for `status` (directive or status-only script).
    fn status_reply(
        &self,
        status: u16,
        dirs: &Directives,
        model: &str,
        deployment: Option<&str>,
    ) -> Reply {
        let api_version = self.api_version();
        let ectx = ErrCtx {
            flavor: self.flavor,
            op: self.op,
            api_version: &api_version,
            model,
        };
        let out = errors::for_status(status, &ectx, dirs);
        let mut headers = self.headers(deployment, &out.content_type);
        headers.retain(|(n, _)| n != "x-ms-rai-invoked");
        for (n, v) in &out.headers {
            set_header(&mut headers, n, v);
        }
        Reply::new(status, headers, Body::Bytes(out.body))
    }
}

pub fn respond(req: &Request, state: &State, started: Instant) -> Reply {
    let script = state.pop_script();
    let (flavor, op, path_deployment) = match router::route(&req.path) {
        Route::Api {
            flavor,
            op,
            deployment,
        } => (flavor, Some(op), deployment),
        Route::NotFound(flavor) => (flavor, None, None),
        Route::Control => (Flavor::Azure, None, None),
    };
    let ctx = Ctx {
        req,
        state,
        flavor,
        op,
        started,
    };
    if let Some(entry) = script.as_ref().filter(|e| !e.is_modifier_only()) {
        return scripted(&ctx, entry);
    }
    let mut reply = match op {
        Some(op) => api_reply(&ctx, op, path_deployment),
        None => ctx.error(404, errors::unknown_path(flavor, &req.method, &req.path)),
    };
    if let Some(entry) = script {
        reply.faults = entry.merge_into(reply.faults);
    }
    reply
}

fn scripted(ctx: &Ctx, entry: &ScriptEntry) -> Reply {
    let status = entry.status.unwrap_or(200);
    let mut reply = if let Some(events) = &entry.sse {
        let headers = ctx.headers(None, EVENT_STREAM);
        Reply::new(status, headers, Body::Sse(events.clone()))
    } else if let Some(body) = &entry.body {
        let content_type = if entry.body_is_json || looks_like_json(body) {
            JSON
        } else {
            "text/plain"
        };
        Reply::new(
            status,
            ctx.headers(None, content_type),
            Body::Bytes(body.clone()),
        )
    } else {
        ctx.status_reply(status, &Directives::default(), "gpt-4o", None)
    };
    for (n, v) in &entry.headers {
        set_header(&mut reply.headers, n, v);
    }
    reply.faults = entry.faults();
    reply
}

fn looks_like_json(body: &[u8]) -> bool {
    matches!(
        body.iter().find(|b| !b.is_ascii_whitespace()),
        Some(b'{' | b'[')
    )
}

/// The request body as a JSON object, or the 400 error body.
fn parse_body(body: &[u8]) -> Result<Map<String, Value>, Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(errors::invalid_request(
            "Invalid request body: expected a JSON object.",
            None,
        )),
        Err(_) => Err(errors::invalid_request(errors::INVALID_JSON, None)),
    }
}

fn supports(kind: Kind, op: Op) -> bool {
    matches!(
        (kind, op),
        (Kind::Chat | Kind::Reasoning, Op::Chat)
            | (Kind::Completions, Op::Completions)
            | (Kind::Embeddings, Op::Embeddings)
    )
}

fn api_reply(ctx: &Ctx, op: Op, path_deployment: Option<String>) -> Reply {
    let req = ctx.req;
    if req.method != "POST" {
        let mut r = ctx.error(405, errors::azure("405", "Method Not Allowed"));
        r.headers.push(("allow".into(), "POST".into()));
        return r;
    }
    if ctx.flavor == Flavor::Azure && req.query_param("api-version").is_none() {
        return ctx.error(404, errors::resource_not_found());
    }
    // Tokens issued by the identity endpoint count as Entra ID tokens on Azure routes.
    let issued_token_ok = ctx.flavor.is_azure()
        && router::bearer(req).is_some_and(|t| crate::identity::accepts(ctx.state, t));
    if !(router::authorized(ctx.flavor, req, &ctx.state.config) || issued_token_ok) {
        return ctx.error(401, errors::unauthorized(ctx.flavor));
    }
    let body = match parse_body(&req.body) {
        Ok(b) => b,
        Err(e) => return ctx.error(400, e),
    };
    let name = match path_deployment {
        Some(d) => d,
        None => match body.get("model").and_then(Value::as_str) {
            Some(m) if !m.is_empty() => m.to_string(),
            _ => {
                return ctx.error(
                    400,
                    errors::invalid_request("you must provide a model parameter", Some("model")),
                );
            }
        },
    };
    let Some(dep) = ctx.state.config.deployments.get(&name) else {
        return ctx.error(404, errors::model_not_found(ctx.flavor, &name));
    };
    if !supports(dep.kind, op) {
        return ctx.error(400, errors::operation_not_supported(op, &dep.model));
    }
    let source = match op {
        Op::Chat => chat::directive_text(&body),
        Op::Completions => completions::directive_text(&body),
        Op::Embeddings => embeddings::directive_text(&body),
    };
    let dirs = script::apply_times(
        ctx.state,
        script::extract(source.as_deref().unwrap_or("")).1,
    );
    let faults = script::faults_from(&dirs);
    let shown_deployment = ctx.flavor.is_azure().then_some(name.as_str());
    if let Some(status) = dirs.num("status").filter(|s| (100..=999).contains(s)) {
        let mut r = ctx.status_reply(status as u16, &dirs, &name, shown_deployment);
        apply_content_type(&mut r, &dirs);
        r.faults = faults;
        return r;
    }
    let g = Gen {
        flavor: ctx.flavor,
        state: ctx.state,
        dep,
        body: &body,
        dirs: &dirs,
    };
    let payload = match op {
        Op::Chat => chat::answer(&g),
        Op::Completions => completions::answer(&g),
        Op::Embeddings => embeddings::answer(&g),
    };
    let mut reply = match payload {
        Err(err) => ctx.json(400, &err, shown_deployment),
        Ok(Payload::Json(v)) => {
            let text = g.render(v);
            Reply::new(
                200,
                ctx.headers(shown_deployment, JSON),
                Body::Bytes(text.into_bytes()),
            )
        }
        Ok(Payload::Sse(events)) => {
            let mut h = ctx.headers(shown_deployment, EVENT_STREAM);
            h.push(("cache-control".into(), "no-cache, must-revalidate".into()));
            h.push(("x-accel-buffering".into(), "no".into()));
            Reply::new(200, h, Body::Sse(events))
        }
    };
    reply.faults = faults;
    apply_body_faults(&mut reply, &dirs);
    reply
}

fn apply_content_type(reply: &mut Reply, dirs: &Directives) {
    if let Some(ct) = dirs.get("content-type") {
        set_header(&mut reply.headers, "content-type", ct);
    }
}

/// `garbage=1` and `endless=1` replace a successful body outright.
fn apply_body_faults(reply: &mut Reply, dirs: &Directives) {
    if reply.status == 200 {
        if dirs.flag("garbage") {
            set_header(&mut reply.headers, "content-type", JSON);
            reply.body = Body::Bytes(br#"{"choices":[{"mess"#.to_vec());
        } else if dirs.flag("endless") {
            set_header(&mut reply.headers, "content-type", JSON);
            reply.body = Body::Endless;
        }
    }
    apply_content_type(reply, dirs);
}
