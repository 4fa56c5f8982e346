//! A signal store on PostgreSQL whose one signal writer is held inside a transaction, so that
//! the requests sent next queue up and share a batch; and what the tests of such batches send
//! and read. Each test file uses some of it.
#![allow(dead_code)]

use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use trailspark_core::signal::Signal;
use trailspark_core::{ApiKeyId, LeadId, ProductOrgId, TenantId};
use trailspark_store::{
    CommitStats, IngestResult, Intake, NewDelivery, RequestLog, SignalApplied, SignalRequest,
    Store, StoreResult, Verdict,
};
use trailspark_store_contract::postgres::TestDatabase;
use trailspark_store_contract::{arrival, tenant_with_key};
use trailspark_store_postgres::{PostgresOptions, PostgresStore};

pub type Answer = StoreResult<IngestResult<SignalApplied>>;

/// The database itself refuses `lead_bad`'s signals, as it would a row breaking some rule.
pub const REFUSE_LEAD_BAD: &str = "
    CREATE FUNCTION refuse_bad() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        IF NEW.lead_id = 'lead_bad' THEN RAISE EXCEPTION 'refused by the test'; END IF;
        RETURN NEW;
    END $$;
    CREATE TRIGGER refuse_bad BEFORE INSERT ON signals FOR EACH ROW EXECUTE FUNCTION refuse_bad();";

/// A store with one writer of each kind, committing up to `max_batch` requests at a time,
/// and a session of the test's own.
pub async fn open(database: &TestDatabase, max_batch: usize) -> (Arc<dyn Store>, Session) {
    let options = PostgresOptions {
        writers: 1,
        max_batch,
        ..PostgresOptions::default()
    };
    open_with(database, options).await
}

/// A store of `options`, and a session of the test's own.
pub async fn open_with(
    database: &TestDatabase,
    options: PostgresOptions,
) -> (Arc<dyn Store>, Session) {
    let store = PostgresStore::connect(&database.url, options)
        .await
        .expect("connect");
    store.migrate().await.expect("migrate");
    let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
        .await
        .expect("connect the test's session");
    tokio::spawn(connection);
    (Arc::new(store), Session(client))
}

/// A signal of `lead`, with an email, a product org and a messageId when given.
pub fn signal(lead: &str, email: Option<&str>, org: Option<&str>, message: Option<&str>) -> Signal {
    Signal {
        lead_id: LeadId::parse(lead).expect("lead id"),
        email: email.map(str::to_owned),
        product_org_id: org.map(|o| ProductOrgId::parse(o).expect("org id")),
        name: Some("signed_up".into()),
        event_at: None,
        properties: None,
        custom_fields: serde_json::Map::new(),
        message_id: message.map(str::to_owned),
        warnings: Vec::new(),
    }
}

/// Sends one request of `signal`, logged as `request_id`, in a task of its own.
pub fn send(
    store: &Arc<dyn Store>,
    to: (TenantId, &ApiKeyId),
    request_id: &str,
    signal: Signal,
) -> JoinHandle<Answer> {
    send_signed(store, to, request_id, None, signal)
}

/// [`send`], with the Standard Webhooks id the request was signed with.
pub fn send_signed(
    store: &Arc<dyn Store>,
    (tenant, key): (TenantId, &ApiKeyId),
    request_id: &str,
    webhook_id: Option<&str>,
    signal: Signal,
) -> JoinHandle<Answer> {
    let webhook_id = webhook_id.map(str::to_owned);
    let (store, key) = (Arc::clone(store), key.clone());
    let log = RequestLog {
        request_id: request_id.to_owned(),
        intake: Intake::Webhook,
        template_version: 1,
        replay_of: None,
        entries: vec![NewDelivery {
            index: None,
            payload: None,
            verdict: Verdict::Update(0),
        }],
    };
    tokio::spawn(async move {
        let request = SignalRequest {
            log: Some(log),
            key_id: key,
            received_at: arrival(),
            webhook_id,
            signals: vec![signal],
        };
        store.ingest_signals(tenant, request).await
    })
}

/// The outcome of the request's one signal, failing the test if the request failed whole.
pub async fn outcome(task: JoinHandle<Answer>) -> Result<SignalApplied, String> {
    match task.await.expect("signal task") {
        Ok(IngestResult::Applied(mut results)) if results.len() == 1 => results.remove(0),
        other => panic!("one signal applied or refused alone: {other:?}"),
    }
}

/// Waits for every `queued` signal, each applied; the requests and the commits the store made
/// since `before`.
pub async fn settled(
    store: &Arc<dyn Store>,
    before: CommitStats,
    queued: Vec<JoinHandle<Answer>>,
) -> (u64, u64) {
    for task in queued {
        outcome(task).await.expect("a queued signal is applied");
    }
    let after = store.commit_stats();
    (
        after.requests - before.requests,
        after.commits - before.commits,
    )
}

pub struct Session(pub tokio_postgres::Client);

impl Session {
    pub async fn count(&self, sql: &str) -> i64 {
        self.0.query_one(sql, &[]).await.expect(sql).get(0)
    }

    /// Holds `lead`'s row in an open transaction until the returned session commits, and
    /// returns once `held` (a write of that lead) waits for it.
    pub async fn hold_lead(database: &TestDatabase, lead: &str) -> Self {
        let (client, connection) = tokio_postgres::connect(&database.url, tokio_postgres::NoTls)
            .await
            .expect("connect the locking session");
        tokio::spawn(connection);
        client.batch_execute("BEGIN").await.expect("begin");
        let select = format!("SELECT 1 FROM leads WHERE lead_id = '{lead}' FOR UPDATE");
        let rows = client.query(&select, &[]).await.expect("lock the lead");
        assert_eq!(rows.len(), 1, "{select} locks one row");
        Self(client)
    }

    /// Returns once some session waits for a lock (the writer, stopped at the held row).
    pub async fn waited_for(&self) {
        for _ in 0..500 {
            if self
                .count("SELECT count(*) FROM pg_locks WHERE NOT granted")
                .await
                > 0
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("no write ever waited for the held lead");
    }

    pub async fn release(self) {
        self.0.batch_execute("COMMIT").await.expect("commit");
    }
}

/// A store whose one signal writer is stopped inside a transaction, writing `lead_held`
/// (whose row the test's other session holds), so that what is sent next queues up.
pub struct Held {
    pub store: Arc<dyn Store>,
    /// The test's session, for reading what was stored.
    pub session: Session,
    pub to: (TenantId, ApiKeyId),
    pub lock: Session,
    pub held: JoinHandle<Answer>,
    pub before: CommitStats,
}

impl Held {
    /// Opens the store (after running `setup` in the test's session), stores `lead_held`, then
    /// holds its row and sends it a second signal, which waits.
    pub async fn start(database: &TestDatabase, max_batch: usize, setup: &str) -> Self {
        let (store, session) = open(database, max_batch).await;
        session.0.batch_execute(setup).await.expect("setup");
        let (tenant, key) = tenant_with_key(&store, "signal-batches").await;
        Self::hold(database, store, session, (tenant.id, key)).await
    }

    /// [`Held::start`] on a store opened and set up by the test, writing as `to`.
    pub async fn hold(
        database: &TestDatabase,
        store: Arc<dyn Store>,
        session: Session,
        to: (TenantId, ApiKeyId),
    ) -> Self {
        let first = signal("lead_held", None, None, None);
        outcome(send(&store, (to.0, &to.1), "req_first", first))
            .await
            .expect("the held lead is stored");
        let lock = Session::hold_lead(database, "lead_held").await;
        let before = store.commit_stats();
        let second = signal("lead_held", None, None, None);
        let held = send(&store, (to.0, &to.1), "req_held", second);
        lock.waited_for().await;
        Self {
            store,
            session,
            to,
            lock,
            held,
            before,
        }
    }

    /// Sends a request of `signal`, which queues behind the held one.
    pub fn send(&self, request_id: &str, signal: Signal) -> JoinHandle<Answer> {
        send(&self.store, (self.to.0, &self.to.1), request_id, signal)
    }

    /// Lets the held write go once what was sent had time to queue; returns once it is
    /// applied, with the store and the test's session.
    pub async fn release(self) -> (Arc<dyn Store>, Session, CommitStats) {
        tokio::time::sleep(Duration::from_millis(500)).await;
        self.lock.release().await;
        outcome(self.held)
            .await
            .expect("the held signal is applied");
        (self.store, self.session, self.before)
    }
}

/// A request of `signals`, unlogged.
pub fn request_of(key: &ApiKeyId, signals: Vec<Signal>) -> SignalRequest {
    SignalRequest {
        log: None,
        key_id: key.clone(),
        received_at: arrival(),
        webhook_id: None,
        signals,
    }
}
