//! Paging tokens, read-ahead planning and priming, without a server.

use std::sync::Arc;

use futures::future::BoxFuture;

use super::*;

#[test]
fn tokens_round_trip() {
    let pos = Position {
        session: 7,
        start_index: 101,
        page_size: 100,
    };
    assert_eq!(decode(&encode(&pos)).expect("decodes"), Some(pos));
    assert_eq!(decode("").expect("empty"), None);
}

#[test]
fn tampered_tokens_are_invalid_arguments() {
    for bad in [
        "garbage!!",
        "eyJ2IjoxfQ",
        &URL_SAFE_NO_PAD.encode(br#"{"v":1,"s":1,"i":0,"n":100}"#),
    ] {
        let err = decode(bad).expect_err(bad);
        assert_eq!(err.code, crate::baton::Code::InvalidArgument);
    }
    let huge = URL_SAFE_NO_PAD.encode(br#"{"v":1,"s":1,"i":1,"n":1000}"#);
    assert!(decode(&huge).is_err());
}

fn planned(session: &Session<()>, window: usize) -> Vec<u32> {
    session.plan(window).iter().map(|r| r.start_index).collect()
}

#[test]
fn read_ahead_plans_the_next_pages_within_the_total() {
    let mut s = Session::<()>::new(Pager::new(100));
    assert!(
        planned(&s, 4).is_empty(),
        "nothing before the total is known"
    );
    let page: Vec<String> = (0..100).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = page.iter().map(String::as_str).collect();
    s.pager.accept(&ids, Some(350));
    s.stride = Some(100);
    assert_eq!(planned(&s, 4), [101, 201, 301]);
    assert_eq!(planned(&s, 2), [101, 201]);
    assert!(planned(&s, 0).is_empty());
}

#[test]
fn read_ahead_follows_a_server_that_serves_smaller_pages() {
    let mut s = Session::<()>::new(Pager::new(100));
    let page: Vec<String> = (0..30).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = page.iter().map(String::as_str).collect();
    s.pager.accept(&ids, Some(100));
    s.stride = Some(30);
    assert_eq!(planned(&s, 8), [31, 61, 91]);
}

#[test]
fn read_ahead_stops_without_a_total() {
    let mut s = Session::<()>::new(Pager::new(10));
    let page: Vec<String> = (0..10).map(|i| format!("u{i}")).collect();
    let ids: Vec<&str> = page.iter().map(String::as_str).collect();
    s.pager.accept(&ids, None);
    s.stride = Some(10);
    assert!(planned(&s, 4).is_empty());
}

/// A listing of `total` records named `r1`, `r2`, …, served by startIndex; every request
/// is counted in `calls`.
fn server(
    total: u32,
    calls: &Arc<Mutex<Vec<u32>>>,
) -> impl Fn(notion::PageRequest) -> BoxFuture<'static, Fetched<String>> + use<> {
    let calls = calls.clone();
    move |req| {
        calls.lock().expect("calls").push(req.start_index);
        let end = (req.start_index + req.count).min(total + 1);
        let resources = (req.start_index..end).map(|i| format!("r{i}")).collect();
        Box::pin(async move {
            Ok(ListResponse {
                total_results: Some(u64::from(total)),
                items_per_page: None,
                start_index: Some(u64::from(req.start_index)),
                resources,
            })
        })
    }
}

/// Lists everything through `sessions`, one page at a time like the engine, with page
/// requests `page`; returns the records.
async fn list_all(
    sessions: &Sessions<String>,
    page: PageRequest,
    fetch: impl Fn(notion::PageRequest) -> BoxFuture<'static, Fetched<String>>,
) -> Vec<String> {
    let drift = Mutex::new(Vec::new());
    let mut req = page;
    let mut out = Vec::new();
    loop {
        let (_, p) = scim_page(
            sessions,
            &req,
            "records",
            &drift,
            &fetch,
            |r| r,
            Clone::clone,
        )
        .await
        .expect("page");
        out.extend(p.items);
        if p.next_token.is_empty() {
            return out;
        }
        req.token = p.next_token;
    }
}

#[tokio::test]
async fn a_primed_first_page_is_the_next_listing_s_first_page() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sessions = Sessions::<String>::with_window(4);
    sessions.prime(100, server(250, &calls));
    let listed = list_all(&sessions, PageRequest::first(), server(250, &calls)).await;
    assert_eq!(listed.len(), 250);
    assert_eq!(
        *calls.lock().expect("calls"),
        [1, 101, 201],
        "the primed page is not fetched again"
    );
    // Used once: the next listing fetches its first page itself.
    list_all(&sessions, PageRequest::first(), server(250, &calls)).await;
    assert_eq!(calls.lock().expect("calls").len(), 6);
}

#[tokio::test]
async fn a_primed_page_of_another_size_is_not_used() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sessions = Sessions::<String>::with_window(4);
    sessions.prime(100, server(30, &calls));
    let page = PageRequest {
        size: 10,
        ..PageRequest::first()
    };
    let listed = list_all(&sessions, page, server(30, &calls)).await;
    assert_eq!(
        listed,
        (1..=30).map(|i| format!("r{i}")).collect::<Vec<_>>()
    );
    assert_eq!(*calls.lock().expect("calls"), [1, 1, 11, 21]);
}

#[tokio::test]
async fn without_read_ahead_nothing_is_primed() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let sessions = Sessions::<String>::with_window(0);
    sessions.prime(100, server(30, &calls));
    tokio::task::yield_now().await;
    assert!(calls.lock().expect("calls").is_empty());
}

/// Records what it was asked to prime.
#[derive(Default)]
struct Recorder(Mutex<Vec<u32>>);

impl Prime for Recorder {
    fn prime(&self, page_size: u32) {
        self.0.lock().expect("primes").push(page_size);
    }
}

#[tokio::test]
async fn the_next_listing_is_primed_once_the_last_page_is_on_its_way() {
    let calls = Arc::new(Mutex::new(Vec::new()));
    let next = Arc::new(Recorder::default());
    let primer: Arc<dyn Prime> = next.clone();
    let sessions = Sessions::<String>::with_window(3);
    sessions.then(Some(NextListing::new("group", Arc::downgrade(&primer))));

    // Ten pages, three ahead: the last goes out when the engine has the seventh; the plan
    // falls short of the window when it has the eighth, and the next listing is primed
    // then, once.
    let fetch = {
        let inner = server(1000, &calls);
        let (calls, next) = (calls.clone(), next.clone());
        move |req: notion::PageRequest| {
            if req.start_index == 1001 - 100 {
                let asked = calls.lock().expect("calls").len();
                let primed = next.0.lock().expect("primes").len();
                assert_eq!((asked, primed), (9, 0), "the last page goes out first");
            }
            inner(req)
        }
    };
    list_all(&sessions, PageRequest::first(), fetch).await;
    assert_eq!(*next.0.lock().expect("primes"), [100]);

    // A sync that does not store the next listing's type does not prime it.
    let only_users = PageRequest {
        resource_types: Some(Arc::from(vec!["user".to_owned()])),
        ..PageRequest::first()
    };
    list_all(&sessions, only_users, server(1000, &calls)).await;
    assert_eq!(next.0.lock().expect("primes").len(), 1);

    // Cleared, nothing is primed.
    sessions.then(None);
    list_all(&sessions, PageRequest::first(), server(1000, &calls)).await;
    assert_eq!(next.0.lock().expect("primes").len(), 1);
}

#[test]
fn page_sizes_are_capped_at_the_scim_maximum() {
    let mut req = PageRequest::first();
    assert_eq!(scim_page_size(&req), 100);
    req.size = 250;
    assert_eq!(scim_page_size(&req), 100);
    req.size = 10;
    assert_eq!(scim_page_size(&req), 10);
}
