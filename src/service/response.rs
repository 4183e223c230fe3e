//! The service's JSON responses, in its body ([`ReplyBody`]): a reply's, and a refused request's
//! ([`Rejection::into_response`]). They are written here rather than beside [`Rejection`]
//! because the body is the service's, and `rejection` is in a layer below the service.

use http::{HeaderValue, Response, StatusCode, header};

use super::body::ReplyBody;
use crate::protocol::reply::Reply;
use crate::rejection::{Rejection, RejectionKind};

impl Rejection {
    /// The response that refuses the request: `{"ActionStatus":"FAIL",…}` with the rejection's
    /// status, and the rejection in its extensions.
    pub(crate) fn into_response(self) -> Response<ReplyBody> {
        let status = self.status();
        let reply = Reply::fail(u32::from(status.as_u16()), self.message());
        let mut res = json_response(status, &reply);
        if self.kind() == RejectionKind::MethodNotAllowed {
            res.headers_mut()
                .insert(header::ALLOW, HeaderValue::from_static("POST"));
        }
        res.extensions_mut().insert(self);
        res
    }
}

/// A JSON response with this status and reply.
pub(crate) fn json_response(status: StatusCode, reply: &Reply) -> Response<ReplyBody> {
    json_response_in(status, reply, http::HeaderMap::new())
}

/// [`json_response`], its one header put in `headers` (empty, but perhaps with room already).
pub(crate) fn json_response_in(
    status: StatusCode,
    reply: &Reply,
    mut headers: http::HeaderMap,
) -> Response<ReplyBody> {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut res = Response::new(ReplyBody::new(reply.to_bytes()));
    *res.status_mut() = status;
    *res.headers_mut() = headers;
    res
}
