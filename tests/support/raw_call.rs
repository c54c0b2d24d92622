//! Calls any method by its path with an empty message, whatever its kind:
//! the gate decides on a call before a message is decoded, so one generic
//! call shows what any method does with any credentials. An empty protobuf
//! message is a valid message of every type.

use bytes::{Buf, BufMut};
use tonic::codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder};
use tonic::metadata::MetadataValue;
use tonic::transport::Channel;
use tonic::{Code, Status};

/// Messages as raw bytes.
#[derive(Debug, Clone, Copy, Default)]
pub struct BytesCodec;

impl Codec for BytesCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = BytesCodec;
    type Decoder = BytesCodec;

    fn encoder(&mut self) -> Self::Encoder {
        BytesCodec
    }

    fn decoder(&mut self) -> Self::Decoder {
        BytesCodec
    }
}

impl Encoder for BytesCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn encode(&mut self, item: Vec<u8>, destination: &mut EncodeBuf<'_>) -> Result<(), Status> {
        destination.put_slice(&item);
        Ok(())
    }
}

impl Decoder for BytesCodec {
    type Item = Vec<u8>;
    type Error = Status;

    fn decode(&mut self, source: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, Status> {
        let mut bytes = vec![0; source.remaining()];
        source.copy_to_slice(&mut bytes);
        Ok(Some(bytes))
    }
}

/// Calls `path` (`/package.Service/Method`) with one empty message, and a
/// bearer `token` if given. `Code::Ok` means the server accepted the call
/// and answered with headers (a stream may still be running); otherwise
/// the status the call ended with.
pub async fn call(channel: Channel, path: &str, token: Option<&str>) -> Status {
    let mut grpc = tonic::client::Grpc::new(channel);
    if let Err(error) = grpc.ready().await {
        return Status::unavailable(format!("not ready: {error}"));
    }
    let mut request = tonic::Request::new(tokio_stream::iter([Vec::<u8>::new()]));
    if let Some(token) = token {
        let value: MetadataValue<_> = format!("Bearer {token}").parse().expect("a header value");
        request.metadata_mut().insert("authorization", value);
    }
    let path = path.parse().expect("a method path");
    match grpc.streaming(request, path, BytesCodec).await {
        Ok(_) => Status::new(Code::Ok, "accepted"),
        Err(status) => status,
    }
}
