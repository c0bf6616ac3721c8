//! The simulator's TCP listener: `TCP_NODELAY`, and a kill switch per connection so the front
//! door can drop a connection without sending any response (`die_after_requests`, dropped
//! connections, lost responses; see `server.rs`).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tracing::debug;

/// The TCP listener the simulator serves from: sets `TCP_NODELAY` and gives every connection a
/// kill switch.
pub(crate) struct SimListener {
    /// The bound socket.
    pub(crate) inner: TcpListener,
}

impl Listener for SimListener {
    type Io = KillableStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        // axum's impl for `TcpListener` already retries and backs off on accept errors.
        let (stream, addr) = Listener::accept(&mut self.inner).await;
        if let Err(error) = stream.set_nodelay(true) {
            debug!(%error, "could not set TCP_NODELAY");
        }
        let stream = KillableStream {
            inner: stream,
            kill: CancellationToken::new(),
        };
        (stream, addr)
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        self.inner.local_addr()
    }
}

/// A TCP stream that fails every read and write once its kill switch is flipped.
pub(crate) struct KillableStream {
    /// The connection.
    inner: TcpStream,
    /// Flipped by the front door to drop the connection without a response.
    kill: CancellationToken,
}

impl KillableStream {
    /// `Err` once killed.
    fn alive(&self) -> io::Result<()> {
        if self.kill.is_cancelled() {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "simulated server death (die_after_requests)",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for KillableStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.alive()?;
        Pin::new(&mut this.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for KillableStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.alive()?;
        Pin::new(&mut this.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.alive()?;
        Pin::new(&mut this.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.alive()?;
        Pin::new(&mut this.inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Per-connection data handed to handlers through `ConnectInfo`: the connection's kill switch.
#[derive(Clone)]
pub(crate) struct Connection {
    /// Cancelling it makes the connection fail its next read or write.
    pub(crate) kill: CancellationToken,
}

impl Connected<IncomingStream<'_, SimListener>> for Connection {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        Connection {
            kill: stream.io().kill.clone(),
        }
    }
}
