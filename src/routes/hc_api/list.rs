//! `GET /checks/?tag=a&tag=b&slug=s`: every check (tags must all match), in name order.
//!
//! The services come from the services list's keyset pages (`store::service_list`: index
//! ranges of `(status, name_key, id)`, or of `service_tags` for a tag), [`LIST_PAGE`] at a
//! time with their ping counts in one grouped query, and the JSON array is written out a
//! page at a time: a million checks never sit in memory at once. The body is the same
//! bytes as one `{"checks": […]}` serialised whole; a list that fits in one page is
//! answered whole, with its length. Pages are read one after the other, not in one
//! snapshot: a check renamed while a long list streams may be seen twice or not at all.
use actix_web::http::header::ContentType;
use actix_web::web::Bytes;
use futures::{StreamExt, stream};

use super::*;
use crate::store::service_list::{self, At, Cursor, Order, Plan, Term};

/// Services read per page when listing every check.
pub const LIST_PAGE: u64 = 500;

const OPEN: &[u8] = br#"{"checks":["#;
const CLOSE: &[u8] = b"]}";

#[tracing::instrument(skip_all)]
pub(super) async fn list(
    req: HttpRequest,
    state: web::Data<AppState>,
) -> Result<HttpResponse, HcError> {
    let Call { view, .. } = Call::new(&req, &state, None, Access::Read).await?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(req.query_string())
        .map_err(|_| HcError::bad("invalid query string"))?;
    let tags: Vec<&str> = pairs
        .iter()
        .filter(|(k, _)| k == "tag")
        .map(|(_, v)| v.as_str())
        .collect();
    let slug = pairs
        .iter()
        .rev()
        .find(|(k, _)| k == "slug")
        .map(|(_, v)| v.trim())
        .filter(|s| !s.is_empty());
    // A tag that cannot be a tag matches nothing, as in healthchecks.
    let Ok(tags) = Tags::parse(&tags) else {
        return Ok(HttpResponse::Ok().json(json!({"checks": []})));
    };
    if let Some(slug) = slug {
        // Slugs are unique: one indexed read.
        let mut out = Vec::new();
        if let Some(m) = services::by_slug(&state.db, slug).await?
            && tags
                .as_slice()
                .iter()
                .all(|t| Tags::from_column(&m.tags).as_slice().contains(t))
        {
            out.push(one_check(&state, &m, view).await?);
        }
        return Ok(HttpResponse::Ok().json(json!({"checks": out})));
    }
    let query = service_list::ListQuery {
        terms: tags.into_vec().into_iter().map(Term::Tag).collect(),
        status: None,
        order: Order::Name,
    };
    let plan = service_list::plan(&state.db, &state.list_search, query).await?;
    // The first page is read before answering, so that a database that fails now gets a
    // 503 in healthchecks' shape rather than a cut-off body.
    let mut pages = Pages {
        state: state.clone(),
        plan,
        view,
        at: At::First,
        any: false,
    };
    let mut head = OPEN.to_vec();
    let Some(next) = pages.write_page(&mut head).await? else {
        head.extend_from_slice(CLOSE);
        return Ok(HttpResponse::Ok()
            .insert_header(ContentType::json())
            .body(head));
    };
    pages.at = At::After(next);
    let rest = stream::try_unfold(Some(pages), |pages| async move {
        let Some(mut pages) = pages else {
            return Ok(None);
        };
        let mut chunk = Vec::with_capacity(1024 * LIST_PAGE as usize);
        let next = pages.write_page(&mut chunk).await.map_err(|e| {
            // The status line has gone: ending the body early is all that is left, and
            // a client sees invalid JSON rather than a short list.
            tracing::error!(error = %e, "checks list failed part-way");
            std::io::Error::other(e.to_string())
        })?;
        Ok(Some(match next {
            Some(next) => {
                pages.at = At::After(next);
                (Bytes::from(chunk), Some(pages))
            }
            None => {
                chunk.extend_from_slice(CLOSE);
                (Bytes::from(chunk), None)
            }
        }))
    });
    let body = stream::once(async move { Ok::<_, std::io::Error>(Bytes::from(head)) }).chain(rest);
    Ok(HttpResponse::Ok()
        .insert_header(ContentType::json())
        .streaming(body))
}

/// Where a streamed list is.
struct Pages {
    state: web::Data<AppState>,
    plan: Plan,
    view: View,
    at: At,
    /// Whether a check has been written (the next one needs a comma).
    any: bool,
}

impl Pages {
    /// Appends the checks of the page at `self.at` to `out`; the cursor of the page after
    /// it, if there is one.
    async fn write_page(&mut self, out: &mut Vec<u8>) -> Result<Option<Cursor>, HcError> {
        let db = &self.state.db;
        let page = service_list::page(db, &self.plan, &self.at, LIST_PAGE).await?;
        for m in &page.rows {
            let n = m.ping_count;
            if self.any {
                out.push(b',');
            }
            self.any = true;
            serde_json::to_writer(&mut *out, &check_json(&self.state, m, n, self.view))
                .map_err(|e| HcError::from(AppError::Other(e.into())))?;
        }
        Ok(page.next)
    }
}
