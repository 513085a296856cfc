//! A TCP proxy between the application and a shared database server, so a test can take
//! "the database" away (close every connection, refuse new ones) and bring it back without
//! touching the server other tests use.
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::{TcpListener, TcpSocket, TcpStream};
use tokio::task::JoinHandle;

pub struct TcpProxy {
    pub port: u16,
    upstream: SocketAddr,
    tasks: Arc<Mutex<Tasks>>,
}

#[derive(Default)]
struct Tasks {
    accept: Option<JoinHandle<()>>,
    connections: Vec<JoinHandle<()>>,
}

impl TcpProxy {
    /// Listen on a free loopback port and forward to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = bind(0).await;
        let port = listener.local_addr().expect("proxy address").port();
        let proxy = Self {
            port,
            upstream,
            tasks: Arc::default(),
        };
        proxy.serve(listener);
        proxy
    }

    /// `url` (a `postgres://` or `mysql://` URL) with its host and port replaced by the proxy.
    pub fn url_through(&self, url: &str) -> String {
        let mut u = url::Url::parse(url).expect("database URL");
        u.set_host(Some("127.0.0.1")).expect("host");
        u.set_port(Some(self.port)).expect("port");
        u.to_string()
    }

    /// The database "stops": live connections are closed and new ones refused.
    pub fn cut(&self) {
        let mut tasks = self.tasks.lock().expect("proxy tasks");
        if let Some(accept) = tasks.accept.take() {
            accept.abort();
        }
        for conn in tasks.connections.drain(..) {
            conn.abort();
        }
    }

    /// The database is back, on the same address.
    pub async fn restore(&self) {
        let listener = bind(self.port).await;
        self.serve(listener);
    }

    fn serve(&self, listener: TcpListener) {
        let upstream = self.upstream;
        let tasks = self.tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                let mut tasks = tasks.lock().expect("proxy tasks");
                tasks.connections.retain(|c| !c.is_finished());
                tasks.connections.push(conn);
            }
        });
        self.tasks.lock().expect("proxy tasks").accept = Some(accept);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.cut();
    }
}

async fn bind(port: u16) -> TcpListener {
    let socket = TcpSocket::new_v4().expect("socket");
    // Closed connections linger in TIME_WAIT on this port; the listener must come back anyway.
    socket.set_reuseaddr(true).expect("SO_REUSEADDR");
    socket
        .bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .unwrap_or_else(|e| panic!("proxy: cannot listen on 127.0.0.1:{port}: {e}"));
    socket.listen(128).expect("listen")
}
