//! Client certificates (mutual TLS) as identities. rustls has already
//! verified the chain against `tls.client_ca_file`; here the leaf's SPIFFE
//! ID (a URI subject alternative name) or subject common name is looked up
//! in `auth.certificates`. A trusted certificate with no mapping is refused.

use std::collections::HashMap;

use rustls::pki_types::CertificateDer;
use x509_cert::Certificate;
use x509_cert::der::asn1::{PrintableStringRef, Utf8StringRef};
use x509_cert::der::oid::{AssociatedOid, ObjectIdentifier};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::SubjectAltName;
use x509_cert::ext::pkix::name::GeneralName;

use super::options::CertificateMapping;
use super::{Credential, Identity, Scope};

/// The subject attribute `commonName` (RFC 4519).
const COMMON_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.4.3");

/// Certificate identities and their scopes.
pub struct CertificateMappings {
    by_spiffe_id: HashMap<String, Vec<Scope>>,
    by_common_name: HashMap<String, Vec<Scope>>,
}

impl CertificateMappings {
    /// Validates `auth.certificates`: exactly one identity each, no repeats.
    pub fn new(mappings: &[CertificateMapping]) -> anyhow::Result<Self> {
        let mut result = Self {
            by_spiffe_id: HashMap::new(),
            by_common_name: HashMap::new(),
        };
        for (index, mapping) in mappings.iter().enumerate() {
            let field = format!("auth.certificates[{index}]");
            anyhow::ensure!(
                !mapping.scopes.is_empty(),
                "{field}.scopes: give at least one of read, write, admin"
            );
            let (table, identity) = match (&mapping.spiffe_id, &mapping.common_name) {
                (Some(id), None) => {
                    anyhow::ensure!(
                        id.starts_with("spiffe://"),
                        "{field}.spiffe_id: must start with spiffe://"
                    );
                    (&mut result.by_spiffe_id, id)
                }
                (None, Some(name)) if !name.is_empty() => (&mut result.by_common_name, name),
                _ => anyhow::bail!("{field}: set exactly one of spiffe_id and common_name"),
            };
            anyhow::ensure!(
                table
                    .insert(identity.clone(), mapping.scopes.clone())
                    .is_none(),
                "{field}: {identity:?} is mapped twice"
            );
        }
        Ok(result)
    }

    /// The identity of a verified leaf certificate, or why it has none.
    pub fn identify(&self, leaf: &CertificateDer<'_>) -> Result<Identity, String> {
        let certificate =
            Certificate::from_der(leaf.as_ref()).map_err(|_| "cannot be parsed".to_string())?;
        for uri in uri_names(&certificate) {
            if let Some(scopes) = self.by_spiffe_id.get(&uri) {
                return Ok(identity(uri, scopes));
            }
        }
        let common_name = common_name(&certificate);
        if let Some(name) = &common_name
            && let Some(scopes) = self.by_common_name.get(name)
        {
            return Ok(identity(name.clone(), scopes));
        }
        Err(format!(
            "(common name {:?}) is not mapped to any caller",
            common_name.unwrap_or_default()
        ))
    }
}

fn identity(caller: String, scopes: &[Scope]) -> Identity {
    Identity {
        caller,
        scopes: scopes.to_vec(),
        credential: Credential::Certificate,
    }
}

/// The URI subject alternative names (SPIFFE IDs among them).
fn uri_names(certificate: &Certificate) -> Vec<String> {
    let extensions = certificate.tbs_certificate.extensions.iter().flatten();
    extensions
        .filter(|extension| extension.extn_id == SubjectAltName::OID)
        .filter_map(|extension| SubjectAltName::from_der(extension.extn_value.as_bytes()).ok())
        .flat_map(|names| names.0)
        .filter_map(|name| match name {
            GeneralName::UniformResourceIdentifier(uri) => Some(uri.to_string()),
            _ => None,
        })
        .collect()
}

/// The subject's (last) common name.
fn common_name(certificate: &Certificate) -> Option<String> {
    let subject = &certificate.tbs_certificate.subject;
    subject
        .0
        .iter()
        .flat_map(|relative_name| relative_name.0.iter())
        .filter(|attribute| attribute.oid == COMMON_NAME)
        .filter_map(|attribute| {
            let bytes = attribute.value.to_der().ok()?;
            Utf8StringRef::from_der(&bytes)
                .map(|text| text.as_str().to_string())
                .or_else(|_| PrintableStringRef::from_der(&bytes).map(|text| text.to_string()))
                .ok()
        })
        .next_back()
}
