use chrono::TimeZone;
use serde_json::Value;

use super::*;
use crate::fields::FieldPatch;

fn t(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_767_225_600 + secs, 0).unwrap()
}

fn update(patches: Vec<FieldPatch>, event: Option<i64>) -> Update {
    Update {
        product_org_id: ProductOrgId::parse("ws_1").unwrap(),
        patches,
        event_at: event.map(t),
        message_id: None,
        warnings: Vec::new(),
    }
}

fn plan(p: &str) -> FieldPatch {
    FieldPatch::PlanId(Some(p.into()))
}

#[test]
fn the_first_update_creates_the_org_and_its_target_org_named_after_it() {
    let mut org = OrgState::new(TargetOrgId(7));
    let first = step(
        &mut org,
        &update(vec![FieldPatch::Name(Some("Acme".into()))], None),
        t(0),
    );
    assert!(first.applied.is_new_org && first.applied.changed);
    assert_eq!(first.applied.target_org_id, TargetOrgId(7));
    let Write::Change(change) = first.write else {
        panic!("{first:?}")
    };
    assert_eq!(
        change.created,
        Some(NewTargetOrg {
            id: TargetOrgId(7),
            name: "Acme".into()
        })
    );
    assert_eq!(change.history.version, 1);
    assert_eq!(change.history.received_at, t(0));
    let second = step(&mut org, &update(vec![plan("pro")], None), t(1));
    assert!(!second.applied.is_new_org, "isNewOrg once");
    assert!(matches!(
        second.write,
        Write::Change(Change { created: None, .. })
    ));
}

#[test]
fn a_new_org_whose_id_folds_like_a_stored_ones_is_warned_and_an_old_one_never() {
    let mut org = OrgState::new(TargetOrgId(2));
    org.similar = Some(ProductOrgId::parse("WS_1").unwrap());
    let first = step(&mut org, &update(vec![plan("pro")], None), t(0));
    assert!(first.applied.is_new_org);
    assert!(
        matches!(&first.applied.warnings[..], [Warning::SimilarProductOrg { existing, .. }] if existing == "WS_1"),
        "{first:?}"
    );
    org.similar = Some(ProductOrgId::parse("WS_1").unwrap());
    let second = step(&mut org, &update(vec![plan("team")], None), t(1));
    assert!(
        second.applied.warnings.is_empty(),
        "only when it is created"
    );
}

#[test]
fn an_updates_own_warnings_come_first() {
    let mut org = OrgState::new(TargetOrgId(1));
    let mut u = update(vec![plan("pro")], None);
    u.warnings = vec![Warning::unresolved_path("mrr", "traits.MRR", "traits.mrr")];
    let first = step(&mut org, &u, t(0));
    assert_eq!(first.applied.warnings, u.warnings);
}

#[test]
fn only_an_update_of_an_existing_org_names_the_fields_it_changed() {
    let mut org = OrgState::new(TargetOrgId(1));
    let created = step(&mut org, &update(vec![plan("pro")], None), t(0));
    assert!(
        created.applied.changed_fields.is_empty(),
        "a creation sets every field it maps: it says nothing of what keeps changing"
    );
    let patches = vec![plan("team"), FieldPatch::Mrr(Some(100))];
    let updated = step(&mut org, &update(patches.clone(), None), t(1));
    assert_eq!(updated.applied.changed_fields, ["planId", "mrr"]);
    let same = step(&mut org, &update(patches, None), t(2));
    assert!(same.applied.changed_fields.is_empty(), "nothing changed");
}

#[test]
fn a_first_update_with_no_fields_still_creates_and_changes() {
    let mut org = OrgState::new(TargetOrgId(1));
    let first = step(&mut org, &update(vec![], None), t(0));
    assert!(first.applied.is_new_org && first.applied.changed);
    let Write::Change(change) = first.write else {
        panic!("{first:?}")
    };
    assert!(change.history.changes.is_empty());
    assert_eq!(
        change.created.unwrap().name,
        "ws_1",
        "named after its id without a name"
    );
}

#[test]
fn an_older_event_loses_field_by_field_and_says_which() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(&mut org, &update(vec![plan("pro")], Some(20)), t(100));
    let late = step(
        &mut org,
        &update(vec![plan("basic"), FieldPatch::Mrr(Some(100))], Some(10)),
        t(101),
    );
    assert!(late.applied.changed, "mrr, never written, takes any value");
    assert_eq!(org.fields.plan_id.as_deref(), Some("pro"));
    assert_eq!(org.fields.mrr, Some(100));
    assert_eq!(late.applied.unchanged_reason, None, "it changed mrr");
    let Some(Warning::OlderEvent {
        fields,
        stored_event_timestamp,
        ..
    }) = late.applied.warnings.first()
    else {
        panic!("{late:?}")
    };
    assert_eq!(fields, &["planId"]);
    assert_eq!(
        stored_event_timestamp,
        &crate::update::format_timestamp(&t(20))
    );
    let Write::Change(change) = late.write else {
        panic!("{late:?}")
    };
    assert_eq!(change.history.version, 2);
    assert_eq!(change.history.changes.len(), 1);
    assert_eq!(change.history.event_at, Some(t(10)));
}

#[test]
fn without_an_event_time_the_receive_time_decides() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(&mut org, &update(vec![plan("pro")], None), t(50));
    let older = step(&mut org, &update(vec![plan("basic")], Some(40)), t(60));
    assert!(!older.applied.changed);
    assert_eq!(
        older.applied.unchanged_reason,
        Some(UnchangedReason::OlderEvent)
    );
    let newer = step(&mut org, &update(vec![plan("team")], None), t(70));
    assert!(newer.applied.changed);
    assert_eq!(org.fields.plan_id.as_deref(), Some("team"));
}

#[test]
fn a_tie_goes_to_the_later_arrival() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(&mut org, &update(vec![plan("a")], Some(5)), t(100));
    let tie = step(&mut org, &update(vec![plan("b")], Some(5)), t(101));
    assert!(tie.applied.changed);
    assert_eq!(org.fields.plan_id.as_deref(), Some("b"));
}

#[test]
fn null_clears_missing_keeps_and_a_newer_clear_is_not_undone() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(
        &mut org,
        &update(vec![plan("pro"), FieldPatch::UserCount(Some(3))], Some(1)),
        t(0),
    );
    let cleared = step(
        &mut org,
        &update(vec![FieldPatch::PlanId(None)], Some(3)),
        t(1),
    );
    assert!(cleared.applied.changed);
    assert_eq!(org.fields.plan_id, None);
    assert_eq!(org.fields.user_count, Some(3), "a field not mapped stays");
    let Write::Change(change) = cleared.write else {
        panic!("{cleared:?}")
    };
    assert_eq!(change.history.changes[0].new, Value::Null);
    let late = step(&mut org, &update(vec![plan("old")], Some(2)), t(2));
    assert!(!late.applied.changed);
    assert_eq!(org.fields.plan_id, None, "the clear is newer");
}

#[test]
fn the_same_values_at_a_newer_time_write_the_clock_alone() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(&mut org, &update(vec![plan("pro")], Some(20)), t(0));
    let resend = step(&mut org, &update(vec![plan("pro")], Some(30)), t(1));
    assert!(!resend.applied.changed);
    assert_eq!(resend.write, Write::Clock);
    assert_eq!(org.version, 1, "no new version");
    let late = step(&mut org, &update(vec![plan("basic")], Some(25)), t(2));
    assert!(!late.applied.changed, "the resend at 30 still wins over 25");
    assert_eq!(late.write, Write::Nothing);
    let Some(Warning::OlderEvent {
        stored_event_timestamp,
        ..
    }) = late.applied.warnings.first()
    else {
        panic!("{late:?}")
    };
    assert_eq!(
        stored_event_timestamp,
        &crate::update::format_timestamp(&t(30)),
        "the newest time among the fields it lost"
    );
}

#[test]
fn the_same_values_at_the_same_time_write_nothing() {
    let mut org = OrgState::new(TargetOrgId(1));
    step(&mut org, &update(vec![plan("pro")], Some(20)), t(0));
    let again = step(&mut org, &update(vec![plan("pro")], Some(20)), t(1));
    assert_eq!(again.write, Write::Nothing);
    assert!(again.applied.warnings.is_empty());
    assert_eq!(
        again.applied.unchanged_reason,
        Some(UnchangedReason::SameValues)
    );
}

#[test]
fn a_repeated_message_id_repeats_the_first_answer_for_a_day() {
    let first = Applied {
        product_org_id: ProductOrgId::parse("ws_1").unwrap(),
        target_org_id: TargetOrgId(1),
        is_new_org: true,
        changed: true,
        unchanged_reason: None,
        warnings: Vec::new(),
        duplicate: false,
        changed_fields: Vec::new(),
    };
    let day = DedupeWindow::default();
    let again = day
        .repeat(first.clone(), t(0), t(3_600))
        .expect("within the day");
    assert!(again.duplicate && again.is_new_org && again.changed);
    assert!(
        day.repeat(first.clone(), t(0), t(86_400)).is_some(),
        "the day's edge"
    );
    assert_eq!(
        day.repeat(first.clone(), t(0), t(86_401)),
        None,
        "forgotten after it"
    );
    assert_eq!(replay_since(t(600)), t(0));
    let ten_minutes = DedupeWindow::new(Duration::minutes(10)).unwrap();
    assert!(ten_minutes.repeat(first.clone(), t(0), t(600)).is_some());
    assert_eq!(ten_minutes.repeat(first, t(0), t(601)), None);
    assert_eq!(DedupeWindow::new(Duration::zero()), None);
}

#[test]
fn a_signal_naming_a_product_org_links_its_lead_and_one_naming_none_keeps_the_link() {
    let signal = |email: Option<&str>, org: Option<&str>| Signal {
        lead_id: LeadId::parse("u_1").unwrap(),
        email: email.map(str::to_owned),
        product_org_id: org.map(|o| ProductOrgId::parse(o).unwrap()),
        name: None,
        event_at: None,
        properties: None,
        custom_fields: serde_json::Map::new(),
        message_id: None,
        warnings: Vec::new(),
    };
    let first = lead_after(None, &signal(Some("ada@example.com"), Some("ws_1")));
    assert_eq!(first.product_org_id.as_ref().unwrap().as_str(), "ws_1");
    let kept = lead_after(Some(&first), &signal(None, None));
    assert_eq!(kept, first, "a signal naming nothing keeps email and link");
    let moved = lead_after(Some(&first), &signal(None, Some("ws_2")));
    assert_eq!(moved.product_org_id.unwrap().as_str(), "ws_2");
    assert_eq!(moved.email.as_deref(), Some("ada@example.com"));
    let s = signal(None, Some("ws_1"));
    let linked = signal_applied(&s, &first, Some(TargetOrgId(3)), None);
    assert!(linked.linked && linked.unlinked_reason.is_none());
    let nothing = signal_applied(&s, &LeadState::default(), None, None);
    assert_eq!(
        (nothing.linked, nothing.unlinked_reason),
        (false, Some(UnlinkedReason::NoProductOrgId))
    );
    assert!(nothing.warnings.is_empty());
    let upper = ProductOrgId::parse("WS_1").unwrap();
    let missing = signal_applied(&s, &first, None, Some(&upper));
    assert_eq!(
        missing.unlinked_reason,
        Some(UnlinkedReason::ProductOrgNotFound)
    );
    assert!(
        matches!(&missing.warnings[..], [Warning::SimilarProductOrg { existing, .. }] if existing == "WS_1"),
        "{missing:?}"
    );
}

#[test]
fn a_repeated_signal_is_said_again_as_a_duplicate() {
    let first = SignalApplied {
        lead_id: LeadId::parse("lead_1").unwrap(),
        target_org_id: Some(TargetOrgId(3)),
        linked: true,
        unlinked_reason: None,
        warnings: Vec::new(),
        duplicate: false,
    };
    let again = first.clone().repeated();
    assert!(again.duplicate);
    assert_eq!(
        (again.lead_id, again.target_org_id),
        (first.lead_id, first.target_org_id)
    );
}
