//! The service of one connection: requests carry the peer address where it is read, and
//! count as in flight (for the idle timer) until their answer has been written.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use super::open::ConnectionState;

/// `router` for one connection: each request carries the peer address (for limits per client,
/// such as sign-in failures; [`super::Serves::for_peer`] gives it where it is read), and
/// counts as in flight until its answer's body is dropped.
pub(super) fn service(
    router: impl super::Serves,
    peer: SocketAddr,
    state: Arc<ConnectionState>,
) -> hyper_util::service::TowerToHyperService<
    impl tower::Service<
            hyper::Request<hyper::body::Incoming>,
            Response = hyper::Response<TrackedBody>,
            Error = Infallible,
            Future = impl Send + 'static,
        > + Clone
        + Send
        + 'static,
> {
    use tower::ServiceExt;
    let (router, give_peer) = match router.for_peer(peer) {
        Some(own) => (own, false),
        None => (router, true),
    };
    let service = router
        .map_request(move |request: hyper::Request<hyper::body::Incoming>| {
            let mut request = request.map(axum::body::Body::new);
            if give_peer {
                request
                    .extensions_mut()
                    .insert(axum::extract::ConnectInfo(peer));
            }
            request
        })
        .map_future(move |answer| {
            let in_flight = InFlight::start(Arc::clone(&state));
            async move {
                let response: axum::response::Response = answer.await?;
                Ok::<_, Infallible>(response.map(|body| TrackedBody {
                    body,
                    _in_flight: in_flight,
                }))
            }
        });
    hyper_util::service::TowerToHyperService::new(service)
}

/// A request in flight on its connection, until dropped.
struct InFlight(Arc<ConnectionState>);

impl InFlight {
    fn start(state: Arc<ConnectionState>) -> Self {
        state.request_started();
        Self(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.request_ended();
    }
}

/// An answer's body, which keeps its request in flight until hyper has written it all (or
/// given up): a large answer to a slow reader is not idle.
pub(super) struct TrackedBody {
    body: axum::body::Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.body).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}
