//! The HTTP server: the actix-web application on actix-http's HTTP/1 service, as
//! `HttpServer` composes it, with one difference. `HttpServer` hands the codec the bare TCP
//! stream and offers no way to wrap it; here every connection goes through a
//! [`LongUrlGuard`], so a URL too long for the codec gets the API's JSON `414` instead of
//! a bare `400` or `431` (see [`long_url`]). Everything else keeps `HttpServer`'s defaults.
pub mod long_url;

use std::io;
use std::net::TcpListener;
use std::time::Duration;

use actix_http::{HttpService, KeepAlive};
use actix_service::{ServiceFactoryExt, map_config};
use actix_web::dev::{AppConfig, Server, fn_service};
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};

use crate::routes;
use crate::state::AppState;
use long_url::LongUrlGuard;

/// `HttpServer`'s defaults: time for a client to send its request head, and to go away.
const CLIENT_REQUEST_TIMEOUT: Duration = Duration::from_secs(5);
const CLIENT_DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// Serve the application on `listener` with one worker per core, and `/metrics` alone,
/// without credentials, on `metrics` (`HB_METRICS_LISTEN`) when given.
pub fn http_server(
    listener: TcpListener,
    metrics: Option<TcpListener>,
    state: web::Data<AppState>,
) -> io::Result<Server> {
    let addr = listener.local_addr()?;
    let data_limit = state.settings.max_ping_data;
    let mut server = Server::build();
    if let Some(metrics) = metrics {
        let state = state.clone();
        let addr = metrics.local_addr()?;
        server = server.listen("metrics", metrics, move || {
            let app = App::new()
                .app_data(state.clone())
                .configure(routes::metrics::configure_open);
            HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                .local_addr(addr)
                .finish(map_config(app, |_| AppConfig::default()))
                .tcp()
        })?;
    }
    Ok(server
        .listen("heartbeats", listener, move || {
            let app = App::new()
                .app_data(state.clone())
                .configure(routes::configure);
            let http = HttpService::build()
                .keep_alive(KeepAlive::default())
                .client_request_timeout(CLIENT_REQUEST_TIMEOUT)
                .client_disconnect_timeout(CLIENT_DISCONNECT_TIMEOUT)
                .local_addr(addr)
                // `AppConfig::default()` is plain HTTP with `localhost:8080` as the host of a
                // request that names none (HTTP/1.0); nothing here builds URLs from it.
                .h1(map_config(app, |_| AppConfig::default()));
            fn_service(move |io: TcpStream| {
                // Replies are written as headers, then body: without this, Nagle's
                // algorithm holds the body back until the client acknowledges the headers
                // (about 40 ms with delayed ACKs).
                let _ = io.set_nodelay(true);
                let peer = io.peer_addr().ok();
                std::future::ready(Ok((LongUrlGuard::new(io, data_limit), peer)))
            })
            .and_then(http)
        })?
        .run())
}
