//! The `Store` trait itself, on the backend under test: both
//! implementations must pass these (batches, clicks, caps, counters).

use std::sync::Arc;

use shorty::links::clicks::ClickBuffer;
use shorty::store::{self, ClickBatch, NewLink, Store};

use crate::backend::TestDb;
use crate::faulty_store::{Fault, Faulty};

fn link(code: &str) -> NewLink {
    NewLink {
        code: code.into(),
        url: "https://example.com/".into(),
        created_at: 0,
        expires_at: None,
        max_clicks: None,
        clicks: 0,
        redirect_status: 302,
    }
}

async fn open(db: &TestDb) -> Arc<dyn Store> {
    let store = store::connect(&db.url, &Default::default()).await.unwrap();
    store.migrate().await.unwrap();
    store
}

#[tokio::test]
async fn batches_clicks_and_caps_round_trip() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    let links: Vec<NewLink> = (0..1200).map(|i| link(&format!("c{i}"))).collect();
    let ids = store.insert_links(&links).await.unwrap();
    assert!(ids.iter().all(Option::is_some));
    // Taken codes come back as None, also within one batch.
    let again = store
        .insert_links(&[link("c0"), link("new"), link("new")])
        .await
        .unwrap();
    assert!(again[0].is_none() && again[1].is_some() && again[2].is_none());

    let id_of = |i: usize| ids[i].unwrap();
    let counts: Vec<(i64, i64)> = (0..1200).map(|i| (id_of(i), i as i64)).collect();
    store.add_clicks(batch(1, &counts)).await.unwrap();
    store.add_clicks(batch(2, &counts[..1])).await.unwrap();
    assert_eq!(store.get_link("c1100").await.unwrap().unwrap().clicks, 1100);
    assert_eq!(store.get_link("c0").await.unwrap().unwrap().clicks, 0);
    store.add_clicks(batch(3, &[(id_of(1), 5)])).await.unwrap();
    assert_eq!(store.get_link("c1").await.unwrap().unwrap().clicks, 6);
    // A batch written before is skipped, however often it is retried.
    store.add_clicks(batch(3, &[(id_of(1), 5)])).await.unwrap();
    assert_eq!(store.get_link("c1").await.unwrap().unwrap().clicks, 6);
    assert_eq!(store.purge_click_batches(NOW).await.unwrap(), 0);
    assert_eq!(store.purge_click_batches(NOW + 1).await.unwrap(), 3);

    // A cap counts flushed clicks too.
    let capped = NewLink {
        max_clicks: Some(3),
        ..link("capped")
    };
    let capped_id = store.insert_links(&[capped]).await.unwrap()[0].unwrap();
    store.add_clicks(batch(4, &[(capped_id, 2)])).await.unwrap();
    let wanted = |n: i64| {
        vec![
            ("capped".to_owned(), n),
            ("c5".to_owned(), 2),
            ("none".to_owned(), 1),
        ]
    };
    // One click left of three; an uncapped link counts all; an unknown none.
    assert_eq!(
        store.consume_clicks(&wanted(4), 0).await.unwrap(),
        [1, 2, 0]
    );
    assert_eq!(
        store.consume_clicks(&wanted(1), 0).await.unwrap(),
        [0, 2, 0]
    );
    assert_eq!(store.get_link("capped").await.unwrap().unwrap().clicks, 3);
    assert_eq!(store.get_link("c5").await.unwrap().unwrap().clicks, 9);
    // Expired and deleted links count nothing.
    let expiring = NewLink {
        max_clicks: Some(10),
        expires_at: Some(100),
        ..link("expiring")
    };
    store.insert_links(&[expiring]).await.unwrap();
    let late = vec![("expiring".to_owned(), 1)];
    assert_eq!(store.consume_clicks(&late, 99).await.unwrap(), [1]);
    assert_eq!(store.consume_clicks(&late, 100).await.unwrap(), [0]);
    assert!(store.delete_link("expiring", 50).await.unwrap());
    assert_eq!(store.consume_clicks(&late, 0).await.unwrap(), [0]);
}

/// When batches are written in these tests.
const NOW: i64 = 1_000;

fn batch(id: i64, counts: &[(i64, i64)]) -> ClickBatch<'_> {
    ClickBatch {
        id,
        counts,
        now: NOW,
    }
}

#[tokio::test]
async fn a_flush_that_committed_but_reported_failure_is_not_counted_twice() {
    let db = TestDb::fresh();
    let real = open(&db).await;
    let id = real.insert_links(&[link("once")]).await.unwrap()[0].unwrap();
    let store = Faulty::wrap(Arc::clone(&real), Fault::CommitThenFail);
    let buffer = Arc::new(ClickBuffer::default());
    for _ in 0..5 {
        buffer.record(id);
    }
    assert!(buffer.flush(&store).await.is_err());
    // Not known to be written, so still pending (and shown).
    assert_eq!(buffer.pending_for(id), 5);
    buffer.record(id);
    assert_eq!(buffer.flush(&store).await.unwrap(), 6);
    assert_eq!(buffer.pending_total(), 0);
    assert_eq!(real.get_link("once").await.unwrap().unwrap().clicks, 6);
}

#[tokio::test]
async fn the_store_counter_and_recorded_redis_blocks_never_overlap() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    assert_eq!(store.reserve_counter_block(1000).await.unwrap(), 0);
    assert_eq!(store.reserve_counter_block(1000).await.unwrap(), 1000);
    assert_eq!(store.counter_floor().await.unwrap(), 2000);
    // Redis handed out values up to 5000: recording answers the marks it
    // replaced, and the store's counter then starts past 5000.
    let marks = store.record_redis_block(5000).await.unwrap();
    assert_eq!((marks.next, marks.redis_high), (2000, 0));
    assert!(
        marks.clears(4000),
        "a block from 4000 is clear of both marks"
    );
    assert_eq!(store.counter_floor().await.unwrap(), 5000);
    assert_eq!(store.reserve_counter_block(1000).await.unwrap(), 5000);
    // The same block recorded again (a Redis that lost its data handing it
    // out twice) is refused, as is one below the store's counter.
    let again = store.record_redis_block(5000).await.unwrap();
    assert_eq!((again.next, again.redis_high), (6000, 5000));
    assert!(!again.clears(4000));
    assert_eq!(again.floor(), 6000);
    assert_eq!(store.counter_floor().await.unwrap(), 6000);
}
