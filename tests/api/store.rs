//! The `Store` trait itself, on the backend under test: both
//! implementations must pass these (batches, clicks, caps, counters,
//! users, keys and link owners).

use std::sync::Arc;

use shorty::analytics::rollup::Deriver;
use shorty::analytics::sink::StoreSink;
use shorty::analytics::visits::Visit;
use shorty::clock::Clock;
use shorty::links::clicks::ClickBuffer;
use shorty::store::{
    self, ClickBatch, DayRow, Dimension, KeyRecord, LinkFilter, LinkPatch, LinkRecord, NewLink,
    Order, Owner, SessionRecord, Store, StoreError, UserRecord, ValueRow,
};

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
        owner: None,
        tags: Vec::new(),
        password_hash: None,
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
        link_clicks: counts,
        days: &[],
        values: &[],
        unknown: &[],
        now: NOW,
    }
}

fn visit() -> Visit<'static> {
    Visit {
        user_agent: b"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
        referer: b"",
        ip: "192.0.2.1".parse().unwrap(),
        head: false,
    }
}

#[tokio::test]
async fn a_flush_that_committed_but_reported_failure_is_not_counted_twice() {
    let db = TestDb::fresh();
    let real = open(&db).await;
    let id = real.insert_links(&[link("once")]).await.unwrap()[0].unwrap();
    let store = Faulty::wrap(Arc::clone(&real), Fault::CommitThenFail);
    let buffer = Arc::new(ClickBuffer::new(
        Deriver::without_geoip(),
        Clock::manual(DAY),
        StoreSink::shared(store),
    ));
    for _ in 0..5 {
        buffer.record(id, &visit(), false);
    }
    assert!(buffer.flush().await.is_err());
    // Not known to be written, so still pending (and shown).
    assert_eq!(buffer.pending_for(id), 5);
    buffer.record(id, &visit(), false);
    assert!(buffer.flush().await.unwrap() > 0);
    assert_eq!(buffer.pending_total(), 0);
    assert_eq!(real.get_link("once").await.unwrap().unwrap().clicks, 6);
    let stats = real.link_stats(id, 1, 1).await.unwrap();
    assert_eq!(stats.days.len(), 1);
    assert_eq!((stats.days[0].human, stats.days[0].bots), (6, 0));
    assert!(stats
        .top
        .contains(&(Dimension::Browser, "Firefox".to_owned(), 6)));
}

/// Noon of day 1 (1970-01-02), in Unix milliseconds.
const DAY: i64 = 86_400_000 + 43_200_000;

fn day_row(link_id: i64, day: i32, human: i64, bots: i64) -> DayRow {
    DayRow {
        link_id,
        day,
        human,
        bots,
    }
}

fn value(link_id: i64, day: i32, dim: Dimension, v: &str, clicks: i64) -> ValueRow {
    ValueRow {
        link_id,
        day,
        dim,
        value: v.into(),
        clicks,
    }
}

#[tokio::test]
async fn stats_rollups_add_up_rank_and_purge() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    let mut mine = link("mine");
    mine.owner = Some("alice".into());
    let ids = store.insert_links(&[mine, link("other")]).await.unwrap();
    let (a, b) = (ids[0].unwrap(), ids[1].unwrap());
    let days = [
        day_row(a, 10, 3, 1),
        day_row(a, 12, 2, 0),
        day_row(b, 12, 7, 7),
    ];
    let mut values = vec![
        value(a, 10, Dimension::Referrer, "x.example", 2),
        value(a, 12, Dimension::Referrer, "x.example", 1),
        value(a, 12, Dimension::Referrer, "y.example", 2),
        value(a, 10, Dimension::Device, "bot", 1),
    ];
    // Eleven more referrers, so only the top ten are returned.
    for i in 0..11 {
        values.push(value(
            a,
            11,
            Dimension::Referrer,
            &format!("r{i:02}.example"),
            1,
        ));
    }
    values.sort_by(|x, y| {
        (x.link_id, x.day, x.dim, &x.value).cmp(&(y.link_id, y.day, y.dim, &y.value))
    });
    let write = |id| ClickBatch {
        id,
        link_clicks: &[],
        days: &days,
        values: &values,
        unknown: &[(10, 4), (12, 1)],
        now: NOW,
    };
    store.add_clicks(write(7)).await.unwrap();
    // The same batch again (a retry) changes nothing.
    store.add_clicks(write(7)).await.unwrap();
    let stats = store.link_stats(a, 10, 12).await.unwrap();
    assert_eq!(stats.days, [day_row(a, 10, 3, 1), day_row(a, 12, 2, 0)]);
    let referrers: Vec<_> = stats
        .top
        .iter()
        .filter(|(d, _, _)| *d == Dimension::Referrer)
        .collect();
    assert_eq!(referrers.len(), 10);
    assert_eq!(
        *referrers[0],
        (Dimension::Referrer, "x.example".to_owned(), 3)
    );
    assert_eq!(
        *referrers[1],
        (Dimension::Referrer, "y.example".to_owned(), 2)
    );
    assert_eq!(referrers[2].1, "r00.example", "ties in name order");
    assert!(stats
        .top
        .contains(&(Dimension::Device, "bot".to_owned(), 1)));
    assert_eq!(store.link_stats(a, 11, 11).await.unwrap().days, []);

    let alice = store
        .owner_stats(Owner::User("alice"), 10, 12, 10)
        .await
        .unwrap();
    assert_eq!((alice.human, alice.bots), (5, 1));
    assert_eq!(alice.top_links, [("mine".to_owned(), 5, 1)]);
    let all = store.owner_stats(Owner::Everyone, 10, 12, 1).await.unwrap();
    assert_eq!((all.human, all.bots), (12, 8));
    assert_eq!(all.days.len(), 2);
    assert_eq!(all.top_links, [("other".to_owned(), 7, 7)]);
    assert_eq!(store.unknown_days(0, 11).await.unwrap(), [(10, 4)]);

    // Rows of days before 12 go; day 12 stays.
    assert!(store.purge_stats(12).await.unwrap() >= 3);
    assert_eq!(
        store.link_stats(a, 0, 20).await.unwrap().days,
        [day_row(a, 12, 2, 0)]
    );
    assert_eq!(store.unknown_days(0, 20).await.unwrap(), [(12, 1)]);
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

fn user(id: &str, name: &str, at: i64) -> UserRecord {
    UserRecord {
        id: id.into(),
        name: name.into(),
        email: format!("{name}@example.com"),
        created_at: at,
        updated_at: at,
    }
}

/// A key of `user_id`'s whose hash is 32 bytes of `fill`.
fn key(id: &str, user_id: &str, fill: u8, created_at: i64) -> KeyRecord {
    KeyRecord {
        id: id.into(),
        user_id: user_id.into(),
        name: Some(format!("{id} name")),
        hash: vec![fill; 32],
        scopes: 5,
        created_at,
        expires_at: None,
        revoked_at: None,
    }
}

#[tokio::test]
async fn users_are_upserted_and_listed_in_id_order() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    let bob = user("u-b", "bob", 10);
    assert_eq!(store.put_user(&bob).await.unwrap(), (bob.clone(), true));
    // An update keeps created_at, whatever the caller sent.
    let renamed = UserRecord {
        name: "robert".into(),
        email: "robert@example.com".into(),
        created_at: 99,
        updated_at: 20,
        ..bob.clone()
    };
    let stored = UserRecord {
        created_at: 10,
        ..renamed.clone()
    };
    assert_eq!(
        store.put_user(&renamed).await.unwrap(),
        (stored.clone(), false)
    );
    assert_eq!(store.get_user("u-b").await.unwrap(), Some(stored.clone()));
    assert_eq!(store.get_user("u-x").await.unwrap(), None);

    // Ids compare byte for byte on both backends: "Z" before "u-a".
    let others = [
        user("u-c", "carol", 30),
        user("Z", "zed", 40),
        user("u-a", "ann", 50),
    ];
    for other in &others {
        assert!(store.put_user(other).await.unwrap().1);
    }
    let [carol, zed, ann] = others;
    let page = |after: Option<&'static str>, limit| {
        let store = Arc::clone(&store);
        async move { store.list_users(after, limit).await.unwrap() }
    };
    assert_eq!(page(None, 2).await, [zed.clone(), ann.clone()]);
    assert_eq!(page(Some("u-a"), 2).await, [stored.clone(), carol.clone()]);
    assert_eq!(page(Some("u-c"), 2).await, Vec::<UserRecord>::new());
    assert_eq!(page(None, 10).await, [zed, ann, stored, carol]);
}

#[tokio::test]
async fn keys_are_listed_revoked_and_found_by_hash() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    store.put_user(&user("alice", "alice", 1)).await.unwrap();
    store.put_user(&user("bob", "bob", 1)).await.unwrap();

    // No key for a user that does not exist.
    assert!(!store.insert_key(&key("k0", "ghost", 0, 10)).await.unwrap());
    assert_eq!(store.key_by_hash(&[0; 32]).await.unwrap(), None);

    let k1 = key("k1", "alice", 1, 20);
    let k2 = KeyRecord {
        expires_at: Some(5),
        name: None,
        ..key("k2", "alice", 2, 10)
    };
    let k3 = key("k3", "alice", 3, 10);
    let kb = key("kb", "bob", 4, 10);
    for k in [&k1, &k2, &k3, &kb] {
        assert!(store.insert_key(k).await.unwrap());
    }
    // A hash or an id already stored is a conflict.
    let same_hash = key("k9", "alice", 1, 30);
    assert!(matches!(
        store.insert_key(&same_hash).await,
        Err(StoreError::Conflict)
    ));
    let same_id = key("k1", "bob", 9, 30);
    assert!(matches!(
        store.insert_key(&same_id).await,
        Err(StoreError::Conflict)
    ));

    // Oldest first, then by id; an expired key is still listed.
    let listed = store.list_keys("alice").await.unwrap();
    assert_eq!(listed, [k2.clone(), k3.clone(), k1.clone()]);
    assert_eq!(
        store.list_keys("ghost").await.unwrap(),
        Vec::<KeyRecord>::new()
    );

    // Bob cannot revoke Alice's key; Alice can, once.
    assert_eq!(store.revoke_key("bob", "k1", 50).await.unwrap(), None);
    assert_eq!(
        store.revoke_key("alice", "k1", 50).await.unwrap(),
        Some(vec![1; 32])
    );
    assert_eq!(store.revoke_key("alice", "k1", 51).await.unwrap(), None);
    assert_eq!(store.revoke_key("alice", "nope", 51).await.unwrap(), None);
    let revoked_k1 = KeyRecord {
        revoked_at: Some(50),
        ..k1.clone()
    };
    assert_eq!(
        store.list_keys("alice").await.unwrap(),
        [k2.clone(), k3.clone()]
    );
    assert_eq!(
        store.key_by_hash(&[1; 32]).await.unwrap(),
        Some(revoked_k1.clone())
    );
    assert_eq!(store.key_by_hash(&[4; 32]).await.unwrap(), Some(kb.clone()));

    // Deleting a user revokes the keys still live, and only those.
    assert_eq!(store.delete_user("ghost", 60).await.unwrap(), None);
    let mut hashes = store.delete_user("alice", 60).await.unwrap().unwrap();
    hashes.sort();
    assert_eq!(hashes, [vec![2; 32], vec![3; 32]]);
    assert_eq!(store.get_user("alice").await.unwrap(), None);
    assert_eq!(
        store.list_keys("alice").await.unwrap(),
        Vec::<KeyRecord>::new()
    );
    assert_eq!(
        store.key_by_hash(&[2; 32]).await.unwrap(),
        Some(KeyRecord {
            revoked_at: Some(60),
            ..k2
        })
    );
    assert_eq!(store.key_by_hash(&[1; 32]).await.unwrap(), Some(revoked_k1));
    assert_eq!(store.list_keys("bob").await.unwrap(), [kb]);
    // Gone: no second delete, no new key.
    assert_eq!(store.delete_user("alice", 70).await.unwrap(), None);
    assert!(!store.insert_key(&key("k5", "alice", 5, 80)).await.unwrap());
    assert_eq!(store.key_by_hash(&[5; 32]).await.unwrap(), None);
}

#[tokio::test]
async fn links_are_listed_by_owner() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    store.put_user(&user("alice", "alice", 1)).await.unwrap();
    let owned = |code: &str, owner: &str| NewLink {
        owner: Some(owner.into()),
        ..link(code)
    };
    // One multi-row insert, owners mixed.
    let ids = store
        .insert_links(&[
            owned("a1", "alice"),
            link("n1"),
            owned("b1", "bob"),
            owned("a2", "alice"),
            owned("a3", "alice"),
            owned("a4", "alice"),
        ])
        .await
        .unwrap();
    let id = |i: usize| ids[i].unwrap();
    assert!(store.delete_link("a3", 5).await.unwrap());

    let codes = |links: Vec<LinkRecord>| links.into_iter().map(|l| l.code).collect::<Vec<_>>();
    let alice = Some("alice");
    let page = |owner, order, after: Option<i64>, limit| {
        let filter = LinkFilter {
            owner,
            after,
            ..LinkFilter::all(order)
        };
        let store = Arc::clone(&store);
        async move { store.list_links(&filter, limit).await }
    };
    let newest = |after, limit| page(alice, Order::NewestFirst, after, limit);
    assert_eq!(codes(newest(None, 10).await.unwrap()), ["a4", "a2", "a1"]);
    assert_eq!(codes(newest(None, 2).await.unwrap()), ["a4", "a2"]);
    assert_eq!(codes(newest(Some(id(3)), 2).await.unwrap()), ["a1"]);
    assert_eq!(
        codes(newest(Some(id(0)), 2).await.unwrap()),
        Vec::<String>::new()
    );
    let oldest = |after, limit| page(alice, Order::OldestFirst, after, limit);
    assert_eq!(codes(oldest(None, 10).await.unwrap()), ["a1", "a2", "a4"]);
    assert_eq!(codes(oldest(Some(id(0)), 1).await.unwrap()), ["a2"]);
    let all = page(None, Order::NewestFirst, None, 10).await.unwrap();
    assert_eq!(codes(all.clone()), ["a4", "a2", "b1", "n1", "a1"]);
    let owners: Vec<Option<&str>> = all.iter().map(|l| l.owner.as_deref()).collect();
    assert_eq!(owners, [alice, alice, Some("bob"), None, alice]);
    let nobody = page(Some("nobody"), Order::NewestFirst, None, 10)
        .await
        .unwrap();
    assert_eq!(nobody, Vec::<LinkRecord>::new());

    // Every read of a link carries its owner.
    let a1 = store.get_link("a1").await.unwrap().unwrap();
    assert_eq!((a1.id, a1.owner.as_deref()), (id(0), alice));
    assert_eq!(store.get_link("n1").await.unwrap().unwrap().owner, None);
    let patch = LinkPatch {
        url: Some("https://example.org/".into()),
        ..LinkPatch::default()
    };
    let patched = store.update_link("a1", &patch).await.unwrap().unwrap();
    assert_eq!(patched.owner.as_deref(), alice);

    // A deleted user's links stay theirs.
    assert_eq!(store.delete_user("alice", 9).await.unwrap(), Some(vec![]));
    assert_eq!(codes(newest(None, 10).await.unwrap()), ["a4", "a2", "a1"]);
}

#[tokio::test]
async fn web_sessions_are_found_by_hash_until_they_expire_or_end() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    let session = |id: u8, expires_at: i64| SessionRecord {
        id_hash: vec![id; 32],
        admin: id.is_multiple_of(2),
        credential: vec![id + 100; 32],
        csrf: format!("csrf-{id}"),
        created_at: 1_000,
        expires_at,
    };
    for (id, expires) in [(1, 10_000), (2, 20_000), (3, 5_000)] {
        store.insert_session(&session(id, expires)).await.unwrap();
    }
    assert_eq!(
        store.get_session(&[1; 32], 9_999).await.unwrap(),
        Some(session(1, 10_000))
    );
    assert!(store.get_session(&[2; 32], 1).await.unwrap().unwrap().admin);
    // Expired, unknown, ended: none.
    assert_eq!(store.get_session(&[1; 32], 10_000).await.unwrap(), None);
    assert_eq!(store.get_session(&[9; 32], 0).await.unwrap(), None);
    assert!(store.delete_session(&[2; 32]).await.unwrap());
    assert!(!store.delete_session(&[2; 32]).await.unwrap());
    assert_eq!(store.get_session(&[2; 32], 1).await.unwrap(), None);
    // The purge takes only what expired.
    assert_eq!(store.purge_sessions(6_000).await.unwrap(), 1);
    assert!(store.get_session(&[1; 32], 6_000).await.unwrap().is_some());
    assert_eq!(store.purge_sessions(6_000).await.unwrap(), 0);
}

#[tokio::test]
async fn taken_codes_include_tombstones_and_only_the_codes_asked_for() {
    let db = TestDb::fresh();
    let store = open(&db).await;
    store
        .insert_links(&[link("live"), link("gone"), link("other")])
        .await
        .unwrap();
    assert!(store.delete_link("gone", 1).await.unwrap());
    let asked: Vec<String> = ["live", "gone", "free", "LIVE"]
        .iter()
        .map(|c| c.to_string())
        .collect();
    let mut taken = store.taken_codes(&asked).await.unwrap();
    taken.sort();
    assert_eq!(taken, ["gone", "live"]);
    assert!(store.taken_codes(&[]).await.unwrap().is_empty());
    // More codes than one SQL statement binds.
    let many: Vec<String> = (0..1200)
        .map(|i| format!("c{i}"))
        .chain(["other".into()])
        .collect();
    assert_eq!(store.taken_codes(&many).await.unwrap(), ["other"]);
}
