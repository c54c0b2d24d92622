//! Audit records of the write RPCs: who wrote which article, and how it
//! ended. The gate audits refusals; this audits every write that ran.

use tonic::{Request, Response, Status};

use super::ArticleApi;
use crate::audit::{AuditEvent, Outcome};
use crate::gate::CallContext;
use crate::proto;

/// The article a write names or produced, as far as known.
#[derive(Debug, Clone, Default)]
pub(super) struct ArticleRef {
    pub id: Option<String>,
    pub key: Option<String>,
    pub detail: Option<String>,
}

impl ArticleRef {
    /// The id and key an article message carries.
    pub fn of_article(article: Option<&proto::Article>) -> Self {
        let non_empty = |text: &str| (!text.is_empty()).then(|| text.to_string());
        Self {
            id: article.and_then(|article| non_empty(&article.id)),
            key: article.and_then(|article| non_empty(&article.key)),
            detail: None,
        }
    }

    /// The id or key a delete names.
    pub fn of_delete(request: &proto::DeleteArticleRequest) -> Self {
        use proto::delete_article_request::Lookup;
        match &request.lookup {
            Some(Lookup::Id(id)) => Self {
                id: Some(id.clone()),
                ..Self::default()
            },
            Some(Lookup::Key(key)) => Self {
                key: Some(key.clone()),
                ..Self::default()
            },
            None => Self::default(),
        }
    }

    /// The article a delete removed, and the revision of the delete.
    pub fn of_deleted(response: &proto::DeleteArticleResponse) -> Self {
        Self {
            id: Some(response.id.clone()),
            key: Some(response.key.clone()),
            detail: Some(format!("revision {}", response.revision)),
        }
    }

    /// An import's counts, as the detail of its record.
    pub fn of_import(summary: &proto::ImportArticlesResponse) -> Self {
        Self {
            detail: Some(format!(
                "created {}, updated {}, unchanged {}, failed {}, last revision {}",
                summary.created,
                summary.updated,
                summary.unchanged,
                summary.failed,
                summary.last_revision
            )),
            ..Self::default()
        }
    }
}

/// What the gate learnt about the call.
pub(super) fn context<T>(request: &Request<T>) -> Option<CallContext> {
    request.extensions().get::<CallContext>().cloned()
}

impl ArticleApi {
    /// Records the write `method` ended with `result` and passes it on.
    /// `stored` names the article a successful write left.
    pub(super) fn audit_write<T>(
        &self,
        method: &str,
        context: Option<CallContext>,
        target: ArticleRef,
        result: Result<Response<T>, Status>,
        stored: impl FnOnce(&T) -> ArticleRef,
    ) -> Result<Response<T>, Status> {
        let caller = context.as_ref().and_then(CallContext::caller);
        let full_method = format!("newswire.v1.ArticleService/{method}");
        let (mut event, article) = match &result {
            Ok(response) => (
                AuditEvent::new(&full_method, caller, Outcome::Ok, tonic::Code::Ok),
                stored(response.get_ref()),
            ),
            Err(status) => {
                let mut event =
                    AuditEvent::new(&full_method, caller, Outcome::Failed, status.code());
                event.detail = Some(status.message().to_string());
                (event, target.clone())
            }
        };
        event.article_id = article.id.or(target.id);
        event.article_key = article.key.or(target.key);
        event.detail = event.detail.or(article.detail);
        event.request_id = context.map(|context| context.request_id.as_str().to_string());
        self.audit.record(&event);
        result
    }
}
