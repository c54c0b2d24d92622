//! The production `ArticleEncoder`: `newswire.v1.Article` with prost, and
//! the fingerprint that tells a store its kept encodings are stale.
//!
//! The fingerprint is a SHA-256 of `ENCODING_VERSION` and of the compiled
//! descriptors of `newswire.v1.Article` and of every message and enum it
//! uses, transitively (`Provider`, `Image`, `Timestamp`, `Struct` …), read
//! from the descriptor set `build.rs` compiles. So adding a field to any of
//! them changes it; comments and the service's other messages do not.

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use prost::Message;
use prost_types::{DescriptorProto, EnumDescriptorProto, FileDescriptorSet};
use sha2::{Digest, Sha256};

use crate::article::Article;
use crate::proto;
use crate::store::ArticleEncoder;

/// Bump when the bytes written for the same message change without the
/// descriptors changing (a different field order, a conversion that fills
/// a field differently): every store then re-encodes at its next start.
pub const ENCODING_VERSION: u32 = 1;

/// The message whose encoding stores keep.
const ARTICLE_MESSAGE: &str = ".newswire.v1.Article";

/// Encodes articles as `newswire.v1.Article` (`wire::encode_article`).
#[derive(Debug, Clone, Copy, Default)]
pub struct ProstArticleEncoder;

impl ArticleEncoder for ProstArticleEncoder {
    fn encode(&self, article: Article) -> Vec<u8> {
        super::encode_article(article)
    }

    fn fingerprint(&self) -> String {
        PRODUCTION_FINGERPRINT.clone()
    }
}

/// The encoder `serve` gives its store.
pub fn article_encoder() -> Arc<dyn ArticleEncoder> {
    Arc::new(ProstArticleEncoder)
}

static PRODUCTION_FINGERPRINT: LazyLock<String> =
    LazyLock::new(|| fingerprint(proto::FILE_DESCRIPTOR_SET, ARTICLE_MESSAGE));

/// A type's compiled descriptor.
enum TypeDescriptor<'a> {
    Message(&'a DescriptorProto),
    Enum(&'a EnumDescriptorProto),
}

/// The fingerprint of `root`'s encoding in the encoded `descriptor_set`.
fn fingerprint(descriptor_set: &[u8], root: &str) -> String {
    // build.rs wrote these bytes from a FileDescriptorSet: they decode.
    let set = FileDescriptorSet::decode(descriptor_set).expect("the compiled descriptor set");
    let mut types = BTreeMap::new();
    for file in &set.file {
        let package = format!(".{}", file.package());
        collect_types(&package, &file.message_type, &file.enum_type, &mut types);
    }
    let mut hasher = Sha256::new();
    hasher.update(format!("encoding version {ENCODING_VERSION}\n"));
    for (name, descriptor) in used_types(root, &types) {
        let encoded = match descriptor {
            Some(TypeDescriptor::Message(message)) => message.encode_to_vec(),
            Some(TypeDescriptor::Enum(enumeration)) => enumeration.encode_to_vec(),
            // Not in the set: its name alone stands for it.
            None => Vec::new(),
        };
        hasher.update(name.as_bytes());
        hasher.update((encoded.len() as u64).to_le_bytes());
        hasher.update(&encoded);
    }
    let digest: String = hasher
        .finalize()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!("v{ENCODING_VERSION}-sha256:{digest}")
}

/// Every message and enum under `scope`, nested ones included, by full name.
fn collect_types<'a>(
    scope: &str,
    messages: &'a [DescriptorProto],
    enums: &'a [EnumDescriptorProto],
    types: &mut BTreeMap<String, TypeDescriptor<'a>>,
) {
    for enumeration in enums {
        let name = format!("{scope}.{}", enumeration.name());
        types.insert(name, TypeDescriptor::Enum(enumeration));
    }
    for message in messages {
        let name = format!("{scope}.{}", message.name());
        collect_types(&name, &message.nested_type, &message.enum_type, types);
        types.insert(name, TypeDescriptor::Message(message));
    }
}

/// `root` and every type its fields use, transitively, in name order.
fn used_types<'a, 'b>(
    root: &str,
    types: &'b BTreeMap<String, TypeDescriptor<'a>>,
) -> BTreeMap<String, Option<&'b TypeDescriptor<'a>>> {
    let mut used = BTreeMap::new();
    let mut pending = vec![root.to_string()];
    while let Some(name) = pending.pop() {
        if used.contains_key(&name) {
            continue;
        }
        let descriptor = types.get(&name);
        if let Some(TypeDescriptor::Message(message)) = descriptor {
            pending.extend(
                message
                    .field
                    .iter()
                    .filter(|field| !field.type_name().is_empty())
                    .map(|field| field.type_name().to_string()),
            );
        }
        used.insert(name, descriptor);
    }
    used
}

#[cfg(test)]
mod tests {
    use prost_types::FieldDescriptorProto;
    use prost_types::field_descriptor_proto::{Label, Type};

    use super::*;

    /// The compiled descriptor set, changed by `change`, re-encoded.
    fn changed_set(change: impl FnOnce(&mut FileDescriptorSet)) -> Vec<u8> {
        let mut set = FileDescriptorSet::decode(proto::FILE_DESCRIPTOR_SET).expect("decodes");
        change(&mut set);
        set.encode_to_vec()
    }

    fn message<'a>(set: &'a mut FileDescriptorSet, name: &str) -> &'a mut DescriptorProto {
        set.file
            .iter_mut()
            .filter(|file| file.package() == "newswire.v1")
            .flat_map(|file| file.message_type.iter_mut())
            .find(|message| message.name() == name)
            .expect("the message is compiled")
    }

    fn added_field(set: &mut FileDescriptorSet, message_name: &str) {
        message(set, message_name).field.push(FieldDescriptorProto {
            name: Some("added".into()),
            number: Some(1000),
            label: Some(Label::Optional as i32),
            r#type: Some(Type::String as i32),
            ..Default::default()
        });
    }

    #[test]
    fn the_production_fingerprint_is_the_compiled_articles() {
        assert_eq!(
            ProstArticleEncoder.fingerprint(),
            fingerprint(proto::FILE_DESCRIPTOR_SET, ARTICLE_MESSAGE)
        );
        assert!(ProstArticleEncoder.fingerprint().starts_with("v1-sha256:"));
    }

    #[test]
    fn a_field_added_to_the_article_or_a_message_it_uses_changes_it() {
        let current = fingerprint(proto::FILE_DESCRIPTOR_SET, ARTICLE_MESSAGE);
        for changed in ["Article", "Provider", "Image", "RelatedArticle"] {
            let set = changed_set(|set| added_field(set, changed));
            assert_ne!(
                fingerprint(&set, ARTICLE_MESSAGE),
                current,
                "a field added to {changed}"
            );
        }
    }

    #[test]
    fn comments_and_other_messages_leave_it_alone() {
        let current = fingerprint(proto::FILE_DESCRIPTOR_SET, ARTICLE_MESSAGE);
        let set = changed_set(|set| {
            for file in &mut set.file {
                file.source_code_info = None;
            }
            added_field(set, "ListArticlesRequest");
        });
        assert_eq!(fingerprint(&set, ARTICLE_MESSAGE), current);
    }
}
