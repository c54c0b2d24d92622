//! The pre-encoded answers against the compiled descriptor set: each writes
//! exactly the fields its `newswire.v1` message has, with their numbers and
//! wire types, so a field added to or renumbered in `proto/` fails here
//! rather than reaching clients as a silently different message.

use std::collections::BTreeSet;
use std::sync::Arc;

use prost::Message;
use prost::bytes::{Buf, Bytes};
use prost::encoding::{WireType, decode_key, decode_varint};
use prost_types::field_descriptor_proto::Type;
use prost_types::{DescriptorProto, FileDescriptorSet};

use super::watch_articles_response::{EVENT_FIELD, TRANSITION_FIELD};
use super::{GetArticleResponse, StreamArticlesResponse, WatchArticlesResponse};
use crate::article::{Article, ArticleContent, Revision};
use crate::convert::to_proto::article_to_proto;
use crate::proto::FILE_DESCRIPTOR_SET;
use crate::store::{Change, ChangeKind};
use crate::watch::{FeedChange, FilterTransition};

/// A field as it appears on the wire: its number and wire type (as its
/// wire value, for ordering).
type WireField = (u32, u8);

fn message(name: &str) -> DescriptorProto {
    let set = FileDescriptorSet::decode(FILE_DESCRIPTOR_SET).expect("the descriptor set decodes");
    set.file
        .into_iter()
        .filter(|file| file.package() == "newswire.v1")
        .flat_map(|file| file.message_type)
        .find(|message| message.name() == name)
        .unwrap_or_else(|| panic!("newswire.v1.{name} is in the descriptor set"))
}

/// The wire type a field of this type is written with (no packed repeated
/// scalars occur in the messages checked here).
fn wire_type(field_type: Type) -> WireType {
    match field_type {
        Type::Double | Type::Fixed64 | Type::Sfixed64 => WireType::SixtyFourBit,
        Type::Float | Type::Fixed32 | Type::Sfixed32 => WireType::ThirtyTwoBit,
        Type::String | Type::Bytes | Type::Message => WireType::LengthDelimited,
        Type::Group => WireType::StartGroup,
        _ => WireType::Varint,
    }
}

/// Every field of the message `name` declares.
fn declared(name: &str) -> BTreeSet<WireField> {
    message(name)
        .field
        .iter()
        .map(|field| (field.number() as u32, wire_type(field.r#type()) as u8))
        .collect()
}

/// The number of the field `field` of message `name`.
fn number_of(name: &str, field: &str) -> u32 {
    let message = message(name);
    let field = message
        .field
        .iter()
        .find(|candidate| candidate.name() == field)
        .unwrap_or_else(|| panic!("{name} has a field {field}"));
    field.number() as u32
}

/// The top-level fields of `bytes`, and the contents of each
/// length-delimited one, by number.
fn written(mut bytes: &[u8]) -> (BTreeSet<WireField>, Vec<(u32, Vec<u8>)>) {
    let mut fields = BTreeSet::new();
    let mut contents = Vec::new();
    while bytes.has_remaining() {
        let (number, wire_type) = decode_key(&mut bytes).expect("a field key");
        fields.insert((number, wire_type as u8));
        match wire_type {
            WireType::Varint => {
                decode_varint(&mut bytes).expect("a varint");
            }
            WireType::LengthDelimited => {
                let length = decode_varint(&mut bytes).expect("a length") as usize;
                contents.push((number, bytes[..length].to_vec()));
                bytes.advance(length);
            }
            WireType::SixtyFourBit => bytes.advance(8),
            WireType::ThirtyTwoBit => bytes.advance(4),
            WireType::StartGroup | WireType::EndGroup => panic!("groups are not used"),
        }
    }
    (fields, contents)
}

fn article() -> Article {
    let content: ArticleContent = serde_json::from_value(serde_json::json!({
        "title": "Checked against the descriptor",
        "publishedDateTime": "2026-01-02T03:04:05Z",
    }))
    .expect("valid front matter");
    Article::for_test("descriptor-check", content, 3)
}

#[test]
fn get_article_response_writes_the_fields_the_descriptor_declares() {
    let encoded = article_to_proto(&article()).encode_to_vec();
    let answer = GetArticleResponse {
        article: Bytes::from(encoded),
    };
    let (fields, _) = written(&answer.encode_to_vec());
    assert_eq!(fields, declared("GetArticleResponse"));
}

#[test]
fn stream_articles_response_writes_the_fields_the_descriptor_declares() {
    let answer = StreamArticlesResponse {
        article: article_to_proto(&article()).encode_to_vec(),
        resume_token: "a token".to_string(),
    };
    let (fields, _) = written(&answer.encode_to_vec());
    assert_eq!(fields, declared("StreamArticlesResponse"));
}

#[test]
fn watch_articles_response_writes_the_fields_the_descriptor_declares() {
    assert_eq!(EVENT_FIELD, number_of("WatchArticlesResponse", "event"));
    assert_eq!(
        TRANSITION_FIELD,
        number_of("ArticleEvent", "filter_transition")
    );
    let article = article();
    let change = Arc::new(FeedChange::new(Change {
        revision: Revision(3),
        kind: ChangeKind::Updated,
        commit_time: article.update_time,
        id: article.id,
        key: article.key.clone(),
        article,
        before: None,
    }));
    let answer = WatchArticlesResponse::Change {
        change,
        transition: FilterTransition::Entered,
    };
    let (fields, contents) = written(&answer.encode_to_vec());
    assert_eq!(fields, declared("WatchArticlesResponse"));
    let [(EVENT_FIELD, event)] = contents.as_slice() else {
        panic!("one event field, got {contents:?}");
    };
    let (event_fields, _) = written(event);
    assert_eq!(event_fields, declared("ArticleEvent"));
}
