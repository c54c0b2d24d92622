//! The WatchArticles answer newswire sends, written for a change from the
//! bytes every watcher of that change shares.
//!
//! A change event is the same for every watcher except its
//! `filter_transition`. Protobuf lets a message's fields come in any order
//! and in pieces, so the event without that field is encoded once (the
//! first watcher to send the change does it, `FeedChange::encoded`), and
//! each watcher writes those bytes and, if it has one, its transition after
//! them. A client decodes exactly the message `event_to_proto` builds.

use std::sync::Arc;

use prost::bytes::{Buf, BufMut};
use prost::encoding::{self, DecodeContext, WireType};
use prost::{DecodeError, Message};

use crate::convert::to_proto::{event_to_proto, transition_to_proto};
use crate::proto;
use crate::watch::{FeedChange, FilterTransition, WatchEvent};

/// `WatchArticlesResponse.event`.
pub(super) const EVENT_FIELD: u32 = 1;
/// `ArticleEvent.filter_transition`.
pub(super) const TRANSITION_FIELD: u32 = 5;

/// One `newswire.v1.WatchArticlesResponse` of a watch stream.
#[derive(Debug, Clone)]
pub enum WatchArticlesResponse {
    /// A change shared with other watchers, and how it moved this watch's
    /// filter.
    Change {
        change: Arc<FeedChange>,
        transition: FilterTransition,
    },
    /// Any other answer (snapshot articles, markers), as a message; also
    /// what decoding gives.
    Message(Box<proto::WatchArticlesResponse>),
}

impl Default for WatchArticlesResponse {
    fn default() -> Self {
        Self::Message(Box::default())
    }
}

impl From<WatchEvent> for WatchArticlesResponse {
    fn from(event: WatchEvent) -> Self {
        match event {
            WatchEvent::Change { change, transition } => Self::Change { change, transition },
            other => Self::Message(Box::new(proto::WatchArticlesResponse {
                event: Some(event_to_proto(&other)),
            })),
        }
    }
}

impl WatchArticlesResponse {
    /// The same answer as a message.
    pub fn to_message(&self) -> proto::WatchArticlesResponse {
        match self {
            Self::Change { change, transition } => proto::WatchArticlesResponse {
                event: Some(event_to_proto(&WatchEvent::Change {
                    change: Arc::clone(change),
                    transition: *transition,
                })),
            },
            Self::Message(message) => message.as_ref().clone(),
        }
    }
}

/// The change's event without a transition, encoded (once per change).
fn shared_event(change: &Arc<FeedChange>) -> &[u8] {
    change.encoded(|_| {
        event_to_proto(&WatchEvent::Change {
            change: Arc::clone(change),
            transition: FilterTransition::Unchanged,
        })
        .encode_to_vec()
    })
}

/// The transition's wire value, 0 (not written) when unchanged.
fn transition_value(transition: FilterTransition) -> i32 {
    transition_to_proto(transition) as i32
}

/// The length of the event: the shared bytes and the transition field.
fn event_len(shared: &[u8], transition: i32) -> usize {
    let transition_len = if transition == 0 {
        0
    } else {
        encoding::int32::encoded_len(TRANSITION_FIELD, &transition)
    };
    shared.len() + transition_len
}

impl Message for WatchArticlesResponse {
    fn encode_raw(&self, buf: &mut impl BufMut) {
        match self {
            Self::Change { change, transition } => {
                let shared = shared_event(change);
                let transition = transition_value(*transition);
                encoding::encode_key(EVENT_FIELD, WireType::LengthDelimited, buf);
                encoding::encode_varint(event_len(shared, transition) as u64, buf);
                buf.put_slice(shared);
                if transition != 0 {
                    encoding::int32::encode(TRANSITION_FIELD, &transition, buf);
                }
            }
            Self::Message(message) => message.encode_raw(buf),
        }
    }

    fn merge_field(
        &mut self,
        tag: u32,
        wire_type: WireType,
        buf: &mut impl Buf,
        ctx: DecodeContext,
    ) -> Result<(), DecodeError> {
        if let Self::Change { .. } = self {
            *self = Self::Message(Box::new(self.to_message()));
        }
        match self {
            Self::Message(message) => message.merge_field(tag, wire_type, buf, ctx),
            Self::Change { .. } => unreachable!("replaced by a message above"),
        }
    }

    fn encoded_len(&self) -> usize {
        match self {
            Self::Change { change, transition } => {
                let length = event_len(shared_event(change), transition_value(*transition));
                encoding::key_len(EVENT_FIELD)
                    + encoding::encoded_len_varint(length as u64)
                    + length
            }
            Self::Message(message) => message.encoded_len(),
        }
    }

    fn clear(&mut self) {
        *self = Self::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::article::{ArticleContent, Revision};
    use crate::store::{Change, ChangeKind};

    fn change() -> Arc<FeedChange> {
        let content: ArticleContent = serde_json::from_value(serde_json::json!({
            "title": "Shared bytes",
            "publishedDateTime": "2026-01-02T03:04:05Z",
            "topics": ["AI"],
            "heat": 7,
        }))
        .expect("valid front matter");
        let article = crate::article::Article::for_test("shared-bytes", content, 42);
        let time = article.update_time;
        Arc::new(FeedChange::new(Change {
            revision: Revision(42),
            kind: ChangeKind::Updated,
            commit_time: time,
            id: article.id,
            key: article.key.clone(),
            article,
            before: None,
        }))
    }

    #[test]
    fn every_transition_decodes_as_the_message_event_to_proto_builds() {
        let change = change();
        for transition in [
            FilterTransition::Unchanged,
            FilterTransition::Entered,
            FilterTransition::Left,
        ] {
            let response = WatchArticlesResponse::Change {
                change: Arc::clone(&change),
                transition,
            };
            let bytes = response.encode_to_vec();
            assert_eq!(bytes.len(), response.encoded_len());
            let decoded =
                proto::WatchArticlesResponse::decode(bytes.as_slice()).expect("the bytes decode");
            assert_eq!(decoded, response.to_message(), "{transition:?}");
            assert_eq!(
                decoded.event.map(|event| event.filter_transition),
                Some(transition_value(transition))
            );
        }
    }

    #[test]
    fn a_decoded_response_is_a_message() {
        let message = WatchArticlesResponse::Change {
            change: change(),
            transition: FilterTransition::Left,
        }
        .to_message();
        let decoded = WatchArticlesResponse::decode(message.encode_to_vec().as_slice())
            .expect("the bytes decode");
        match decoded {
            WatchArticlesResponse::Message(decoded) => assert_eq!(*decoded, message),
            WatchArticlesResponse::Change { .. } => panic!("decoding gave a shared change"),
        }
    }
}
