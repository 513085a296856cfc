//! A minimal browser for the UI's handler tests: keeps cookies, does not follow redirects,
//! and finds the CSRF token in a page, so tests read like a person using the forms.
use std::collections::BTreeMap;

use reqwest::header::{self, HeaderMap};

use crate::helpers::{ADMIN, PASSWORD, TestApp};

pub struct Page {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Page {
    pub fn location(&self) -> Option<&str> {
        self.headers
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all(header::SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }

    /// The `Set-Cookie` line for `name`, if the response sets it.
    pub fn set_cookie(&self, name: &str) -> Option<String> {
        self.set_cookies()
            .into_iter()
            .find(|c| c.starts_with(&format!("{name}=")))
    }

    /// The value of the first `name="csrf"` hidden field.
    pub fn csrf(&self) -> String {
        input_value(&self.body, "csrf").expect("page has a CSRF field")
    }

    pub fn contains(&self, s: &str) -> bool {
        self.body.contains(s)
    }

    #[track_caller]
    pub fn assert_contains(&self, s: &str) {
        assert!(
            self.body.contains(s),
            "expected {s:?} in the page (status {}):\n{}",
            self.status,
            self.body
        );
    }
}

/// The `value` of the first input named `name` (attributes in our templates' order).
pub fn input_value(body: &str, name: &str) -> Option<String> {
    let marker = format!("name=\"{name}\" value=\"");
    let start = body.find(&marker)? + marker.len();
    let end = body[start..].find('"')? + start;
    Some(body[start..end].to_owned())
}

pub struct Browser<'a> {
    pub app: &'a TestApp,
    client: reqwest::Client,
    cookies: BTreeMap<String, String>,
    /// Sent as `X-Forwarded-For` (believed from loopback), to act as another address.
    pub address: Option<String>,
    pub accept_language: Option<String>,
}

impl<'a> Browser<'a> {
    pub fn new(app: &'a TestApp) -> Self {
        Self {
            app,
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .expect("client"),
            cookies: BTreeMap::new(),
            address: None,
            accept_language: None,
        }
    }

    pub async fn signed_in(app: &'a TestApp) -> Self {
        let mut b = Self::new(app);
        let page = b.sign_in(ADMIN, PASSWORD).await;
        assert_eq!(page.status, 303, "sign-in failed: {}", page.body);
        b
    }

    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.cookies.get(name).map(String::as_str)
    }

    pub fn set_cookie(&mut self, name: &str, value: &str) {
        self.cookies.insert(name.to_owned(), value.to_owned());
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let mut req = self.client.request(method, self.app.url(path));
        if !self.cookies.is_empty() {
            let header = self
                .cookies
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; ");
            req = req.header(header::COOKIE, header);
        }
        if let Some(addr) = &self.address {
            req = req.header("x-forwarded-for", addr);
        }
        if let Some(lang) = &self.accept_language {
            req = req.header(header::ACCEPT_LANGUAGE, lang);
        }
        req
    }

    async fn finish(&mut self, resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        for line in headers.get_all(header::SET_COOKIE) {
            let Ok(line) = line.to_str() else { continue };
            let pair = line.split(';').next().unwrap_or_default();
            let Some((name, value)) = pair.split_once('=') else {
                continue;
            };
            if line.contains("Max-Age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_owned(), value.to_owned());
            }
        }
        let body = resp.text().await.expect("body");
        Page {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&mut self, path: &str) -> Page {
        let resp = self
            .request(reqwest::Method::GET, path)
            .send()
            .await
            .expect("GET");
        self.finish(resp).await
    }

    pub async fn get_with(&mut self, path: &str, name: &str, value: &str) -> Page {
        let resp = self
            .request(reqwest::Method::GET, path)
            .header(name, value)
            .send()
            .await
            .expect("GET");
        self.finish(resp).await
    }

    pub async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Page {
        let resp = self
            .request(reqwest::Method::POST, path)
            .form(form)
            .send()
            .await
            .expect("POST");
        self.finish(resp).await
    }

    /// Open `page_path`, take its CSRF token and post `form` with it to `action`.
    pub async fn submit(&mut self, page_path: &str, action: &str, form: &[(&str, &str)]) -> Page {
        let page = self.get(page_path).await;
        assert_eq!(page.status, 200, "GET {page_path}: {}", page.body);
        let csrf = page.csrf();
        let mut fields: Vec<(&str, &str)> = vec![("csrf", &csrf)];
        fields.extend_from_slice(form);
        self.post(action, &fields).await
    }

    pub async fn sign_in(&mut self, user: &str, password: &str) -> Page {
        let page = self.get("/login").await;
        assert_eq!(page.status, 200);
        let csrf = page.csrf();
        self.post(
            "/login",
            &[
                ("csrf", &csrf),
                ("username", user),
                ("password", password),
                ("next", "/"),
            ],
        )
        .await
    }

    /// A new service through the form; returns its id.
    pub async fn create_service(&mut self, form: &[(&str, &str)]) -> String {
        let page = self.submit("/services/new", "/services/new", form).await;
        assert_eq!(page.status, 303, "create failed: {}", page.body);
        let location = page.location().expect("redirect").to_owned();
        location
            .strip_prefix("/services/")
            .expect("redirect to the service")
            .to_owned()
    }
}
